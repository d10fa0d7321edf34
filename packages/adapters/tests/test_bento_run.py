"""The adapters driven by core's `bento run` pipeline (bento.runner.run_api), as the CLI does."""
from __future__ import annotations

import contextlib
import gzip
import io

import pandas as pd
import pytest
from bento import BentoService, api
from bento.exceptions import BadInput
from bento.runner import run_api

from bento_adapters import DataframeInput, ImageInput, JsonInput


class Tools(BentoService):
    @api(input=DataframeInput(), batch=True)
    def total(self, df):
        return df.sum(axis=1)

    @api(input=JsonInput(), batch=True)
    def size(self, items):
        return [len(x) for x in items]

    @api(input=ImageInput())
    def shape(self, img):
        return list(img.shape)


class Bar:
    def __init__(self) -> None:
        self.total, self.done = None, 0

    def update(self, n: int) -> None:
        self.done += n


def run(api_name: str, cli, output: str = "json"):
    out, errors, bar = io.StringIO(), [], Bar()

    @contextlib.contextmanager
    def progress(total):
        bar.total = total
        yield bar

    failed, _ = run_api(Tools(), api_name, cli, out, output, progress=progress, on_error=errors.append)
    return out.getvalue().splitlines(), failed, errors, bar


def test_csv_file_streams_through_the_api_with_a_progress_bar(cli, tmp_path):
    path = tmp_path / "rows.csv"
    pd.DataFrame({"a": range(2_500), "b": range(2_500)}).to_csv(path, index=False)
    lines, failed, errors, bar = run("total", cli(files=[str(path)], batch_size=1_000))
    assert failed == 0 and len(lines) == 2_500
    assert lines[:2] == ["0", "2"] and lines[-1] == "4998"
    assert bar.total == bar.done == path.stat().st_size


def test_csv_output_has_one_header(cli, tmp_path):
    path = tmp_path / "rows.csv"
    path.write_text("a,b\n1,2\n3,4\n5,6\n")
    lines, *_ = run("total", cli(files=[str(path)], batch_size=2), output="csv")
    assert lines == ["result", "3", "7", "11"]


def test_json_items_and_failures_are_reported_per_input(cli, tmp_path):
    good = tmp_path / "a.json"
    good.write_text('{"x": 1, "y": 2}')
    lines, failed, errors, _ = run("size", cli(input="[1, 2, 3]"))
    assert lines == ["3"] and failed == 0
    lines, failed, errors, _ = run("size", cli(files=[str(good)]))
    assert lines == ["2"]


def test_a_bad_image_file_stops_the_run_naming_it(cli, tmp_path, image_bytes):
    img = tmp_path / "a.png"
    img.write_bytes(image_bytes())
    bad = tmp_path / "b.png"
    bad.write_bytes(b"not an image")
    with pytest.raises(BadInput, match=rf"^{bad}: not an image Pillow can read"):
        run("shape", cli(files=[str(img), str(bad)]))


def test_a_list_result_of_one_item_is_one_line(cli, tmp_path, image_bytes):
    img = tmp_path / "a.png"
    img.write_bytes(image_bytes())
    lines, failed, errors, _ = run("shape", cli(files=[str(img), str(img)]))
    assert lines == ["[3,4,3]", "[3,4,3]"] and failed == 0


@pytest.mark.parametrize("api_name, name, data, message", [
    ("size", "x.json.xz", b'{"a": 1}', "cannot decompress .xz: Input format not supported by decoder"),
    ("size", "x.jsonl.gz", b'{"a": 1}\n', "cannot decompress .gz: Not a gzipped file"),
    ("total", "x.csv.bz2", b"a,b\n1,2\n", "cannot decompress .bz2: Invalid data stream"),
    ("total", "x.csv.gz", gzip.compress(b"a,b\n" + b"1,2\n" * 1000)[:-40], "cannot decompress .gz: Compressed file ended"),
])
def test_a_file_that_does_not_decompress_stops_the_run_naming_it(cli, tmp_path, api_name, name, data, message):
    path = tmp_path / name
    path.write_bytes(data)
    with pytest.raises(BadInput, match=rf"^{path}: {message}"):
        run(api_name, cli(files=[str(path)]))
