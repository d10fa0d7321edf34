"""Every input adapter of docs/adapters.md end to end: the HTTP body a client sends to a real
server, the `bento run` form of the same input, and a direct Python call, each with its result.
The rows follow the adapter table of docs/adapters.md."""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import requests
from bento_e2e import bento, form, with_files

from bento_adapters.testing import image_bytes


@dataclass(frozen=True)
class Format:
    """One way to reach an API of adapter_service.AdapterZoo.

    `cli`: `bento run` arguments after the API name, `@name` standing for a file holding
    `files[name]`; `cli_result`: the printed lines, parsed (one per row for file input).
    `python`: the arguments of a direct call of the (batch) API; its result is `python_result`.
    """

    api: str
    body: bytes
    headers: dict = field(repr=False)
    result: Any
    cli: tuple
    cli_result: list
    python: tuple
    python_result: list
    files: dict = field(default_factory=dict, repr=False)


PNG = image_bytes("PNG", (4, 3))
ROWS_CSV = b"a,b\n1,2\n3,4\n"

FORMATS = [
    pytest.param(Format("json", b'{"a": [1, 2]}', {"Content-Type": "application/json"}, {"a": [1, 2]},
                        ("--input", '{"a": [1, 2]}'), [{"a": [1, 2]}], ([{"a": [1, 2]}],), [{"a": [1, 2]}]),
                 id="JsonInput"),
    pytest.param(Format("text", "héllo".encode("latin-1"), {"Content-Type": "text/plain; charset=latin-1"}, "héllo",
                        ("--input-file", "@t.txt"), ["héllo"], (["héllo"],), ["héllo"],
                        files={"t.txt": "héllo".encode()}), id="StringInput"),
    # a returned Series is written as BentoML 0.13 wrote it: the records of a one-column DataFrame
    pytest.param(Format("frame", ROWS_CSV, {"Content-Type": "text/csv"}, [{"0": 3}, {"0": 7}],
                        ("--input-file", "@rows.csv"), [3, 7], ([[1, 2], [3, 4]],), [3, 7],
                        files={"rows.csv": ROWS_CSV}), id="DataframeInput"),
    pytest.param(Format("records", b'[{"b": 1, "a": 5, "c": 0}]', {"Content-Type": "application/json"}, [{"0": 4}],
                        ("--input", '[{"b": 1, "a": 5}]'), [[{"0": 4}]], ([{"a": 5, "b": 1}],), [4]),
                 id="DataframeInput-declared-columns"),
    pytest.param(Format("file", **form(("file", "doc.bin", None, b"abc")), result={"name": "doc.bin", "size": 3},
                        cli=("--input-file", "@doc.bin"), cli_result=[{"name": "doc.bin", "size": 3}],
                        python=([b"abc"],), python_result=[{"name": "", "size": 3}], files={"doc.bin": b"abc"}),
                 id="FileInput"),
    pytest.param(Format("image", PNG, {"Content-Type": "image/png"}, [3, 4, 3], ("--input-file", "@cat.png"),
                        [[3, 4, 3]], ([PNG],), [[3, 4, 3]], files={"cat.png": PNG}), id="ImageInput"),
    pytest.param(Format("pair", **form(("a", "a.txt", None, b"1"), ("b", "b.txt", None, b"2")), result="12",
                        cli=("--input-file-a", "@a.txt", "--input-file-b", "@b.txt"), cli_result=["12"],
                        python=([b"1"], [b"2"]), python_result=["12"], files={"a.txt": b"1", "b.txt": b"2"}),
                 id="MultiFileInput"),
    pytest.param(Format("images", **form(("left", "l.png", None, PNG), ("right", "r.png", None, PNG)),
                        result=[[3, 4, 3], [3, 4, 3]], cli=("--input-file-left", "@l.png", "--input-file-right", "@r.png"),
                        cli_result=[[[3, 4, 3], [3, 4, 3]]], python=([PNG], [PNG]),
                        python_result=[[[3, 4, 3], [3, 4, 3]]], files={"l.png": PNG, "r.png": PNG}),
                 id="MultiImageInput"),
]


@pytest.mark.parametrize("fmt", FORMATS)
def test_every_adapter_over_http(fmt: Format, zoo_url: str):
    r = requests.post(f"{zoo_url}/{fmt.api}", data=fmt.body, headers=fmt.headers, timeout=30)
    assert r.status_code == 200, r.text
    assert r.json() == fmt.result


@pytest.mark.parametrize("fmt", FORMATS)
def test_every_adapter_on_the_cli(fmt: Format, zoo_bundle: str, tmp_path: Path):
    out = bento("run", zoo_bundle, fmt.api, *with_files(fmt.cli, fmt.files, tmp_path))
    assert [json.loads(line) for line in out.stdout.splitlines()] == fmt.cli_result


@pytest.mark.parametrize("fmt", FORMATS)
def test_every_adapter_in_a_direct_call(fmt: Format):
    from adapter_service import AdapterZoo

    result = getattr(AdapterZoo(), fmt.api)(*fmt.python)
    assert json.loads(json.dumps(list(result), default=int)) == fmt.python_result
