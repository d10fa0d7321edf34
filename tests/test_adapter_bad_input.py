"""Every bad-input case of the adapters, sent to a real server and to the real `bento run`:
a 400 whose JSON message names the problem, or a non-zero exit with that message as the one
line on stderr. One table drives both; docs/adapters.md ("Bad input") lists the same cases."""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional

import pytest
import requests
from bento_e2e import bento, form, with_files

from bento_adapters.testing import image_bytes, png_header_only


@dataclass(frozen=True)
class Case:
    """One bad input for an API of adapter_service.AdapterZoo.

    `cli`: the `bento run` arguments after the API name, `@name` standing for a file of that name
    holding `body`; None when the case has no command-line form, and `no_cli` says why.
    `cli_message`: the message fragment on the CLI when it is worded otherwise there.
    """

    api: str
    body: bytes
    headers: dict = field(repr=False)
    message: str
    cli: Optional[tuple] = None
    cli_message: Optional[str] = None
    no_cli: str = ""

    def files(self) -> dict:
        """Every `@name` file of the CLI form holds `body`."""
        return {arg[1:]: self.body for arg in self.cli if arg.startswith("@")}


JSON = {"Content-Type": "application/json"}
CSV = {"Content-Type": "text/csv"}
PNG = image_bytes("PNG", (64, 64))

CASES = [
    pytest.param(Case("json", b'{"a": ', JSON, "invalid JSON at line 1", cli=("--input", '{"a": ')), id="not-json"),
    pytest.param(Case("records", b"[[1, 2]]", JSON, "orient 'records' expects a list of objects, got a list of list",
                      cli=("--input", "[[1, 2]]")), id="json-of-the-wrong-shape"),
    pytest.param(Case("records", b'[{"a": 1}, {"a": 2}]', JSON, "missing column(s) ['b']",
                      cli=("--input", '[{"a": 1}, {"a": 2}]')), id="records-missing-a-declared-column"),
    pytest.param(Case("frame", b"a,b\n1,2\n3,4,5\n", CSV, "CSV row 3 has 3 fields, header has 2",
                      cli=("--input", "a,b\n1,2\n3,4,5\n", "--format", "csv")), id="csv-ragged-rows"),
    pytest.param(Case("text", b"caf\xe9", {"Content-Type": "text/plain"}, "text is not valid utf-8 (byte 3)",
                      cli=("--input-file", "@latin1.txt")), id="not-utf8-without-charset"),
    pytest.param(Case("text", b"abc", {"Content-Type": "text/plain; charset=klingon"}, "charset 'klingon' unknown",
                      no_cli="bento run reads text files as UTF-8; there is no charset to name"),
                 id="unknown-charset"),
    pytest.param(Case("file", **form(), message="expected one file in the multipart body, got none",
                      cli=(), cli_message="give --input TEXT or --input-file PATH"), id="multipart-without-a-file"),
    pytest.param(Case("file", **form(("a", "a.bin", None, b"1"), ("b", "b.bin", None, b"2")),
                      message="expected one file in the multipart body, got 2 ('a', 'b')",
                      no_cli="each --input-file is an input of its own: two files are two inputs, not an error"),
                 id="multipart-with-two-files"),
    # On the CLI the file's content does not matter: the second flag is what is missing.
    pytest.param(Case("pair", **form(("a", "a.txt", None, b"1")), message="multipart field 'b' missing",
                      cli=("--input-file-a", "@a.txt"), cli_message="--input-file-b missing"),
                 id="multipart-field-missing"),
    pytest.param(Case("image", image_bytes("GIF"), {"Content-Type": "image/gif"},
                      "image format .gif not accepted (accepted: .png)", cli=("--input-file", "@cat.gif")),
                 id="image-format-not-accepted"),
    pytest.param(Case("image", PNG[:len(PNG) // 2], {"Content-Type": "image/png"}, "image could not be decoded",
                      cli=("--input-file", "@half.png")), id="truncated-image"),
    pytest.param(Case("image", png_header_only(20_000, 20_000), {"Content-Type": "image/png"},
                      "image rejected as a decompression bomb", cli=("--input-file", "@bomb.png")),
                 id="decompression-bomb"),
    pytest.param(Case("json", b'{"a": 1}', {**JSON, "Content-Encoding": "gzip"}, "body is not valid gzip",
                      cli=("--input-file", "@x.json.gz"), cli_message="cannot decompress .gz: Not a gzipped file"), id="gzip-that-is-not-gzip"),
]

CLI_CASES = [p for p in CASES if p.values[0].cli is not None]


@pytest.mark.parametrize("case", CASES)
def test_bad_input_over_http_is_a_400_naming_the_problem(case: Case, zoo_url: str):
    r = requests.post(f"{zoo_url}/{case.api}", data=case.body, headers=case.headers, timeout=30)
    assert r.status_code == 400, (r.status_code, r.text)
    assert r.headers["Content-Type"].startswith("application/json")
    error = r.json()
    assert case.message in error["error"] and "Traceback" not in error["error"], error
    assert error["request_id"] == r.headers["X-Request-Id"]


@pytest.mark.parametrize("case", CLI_CASES)
def test_bad_input_on_the_cli_is_one_line_and_a_failure(case: Case, zoo_bundle: str, tmp_path: Path):
    out = bento("run", zoo_bundle, case.api, *with_files(case.cli, case.files(), tmp_path), check=False)
    assert out.returncode != 0
    lines = out.stderr.splitlines()
    assert len(lines) == 1 and (case.cli_message or case.message) in lines[0], out.stderr


def test_every_case_without_a_cli_form_says_why():
    assert all(bool(p.values[0].cli is None) == bool(p.values[0].no_cli) for p in CASES)


def test_a_client_filename_is_kept_as_data_never_used_as_a_path(zoo_url: str):
    up = Path.cwd().parent.parent
    before = set(up.iterdir())
    request = form(("file", "../../x", "text/plain", b"secret"))
    r = requests.post(f"{zoo_url}/file", data=request["body"], headers=request["headers"], timeout=30)
    assert r.status_code == 200 and r.json() == {"name": "x", "size": 6}
    assert set(up.iterdir()) == before

