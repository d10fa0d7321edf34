"""FileInput, ImageInput and their Multi* forms: raw bodies, multipart, images, CLI, direct calls."""
from __future__ import annotations

import io
import os
import threading

import numpy as np
import pytest
from bento.adapters import HTTPRequest
from bento.exceptions import BadInput, InvalidArgument
from bento.types import FileLike
from hypothesis import given, settings
from hypothesis import strategies as st

from bento_adapters import FileInput, ImageInput, MultiFileInput, MultiImageInput


def test_raw_body_is_a_file(request_of):
    task = FileInput().from_http_request(request_of(b"\x00\x01data", "application/pdf"))
    assert isinstance(task.data, FileLike)
    assert task.data.bytes == b"\x00\x01data" and task.data.read(2) == b"\x00\x01"


def test_empty_raw_body_is_a_400(request_of):
    task = FileInput().from_http_request(request_of(b"", "application/octet-stream"))
    assert task.error.http_status == 400 and task.error.err_msg.startswith("empty request body")


def test_multipart_filename_is_never_a_path(multipart, tmp_path):
    before = set(os.listdir(tmp_path.parent))
    task = FileInput().from_http_request(multipart(("file", "../../x", "text/plain", b"secret")))
    assert task.data.name == "x" and task.data.bytes == b"secret"
    assert set(os.listdir(tmp_path.parent)) == before
    task = FileInput().from_http_request(multipart(("file", "C:\\dir\\..", None, b"y")))
    assert task.data.name == ""


@pytest.mark.parametrize("fields, expected", [
    ((), "expected one file in the multipart body, got none"),
    ((("a", "a.bin", None, b"1"), ("b", "b.bin", None, b"2")), "expected one file in the multipart body, got 2"),
])
def test_file_multipart_with_zero_or_two_files(multipart, fields, expected):
    task = FileInput().from_http_request(multipart(*fields))
    assert task.error.http_status == 400 and task.error.err_msg.startswith(expected)


def test_image_is_decoded_to_hwc_array(request_of, image_bytes):
    task = ImageInput().from_http_request(request_of(image_bytes("PNG", (4, 3)), "image/png"))
    assert task.data.shape == (3, 4, 3) and task.data.dtype == np.uint8
    assert task.data[0, 0].tolist() == [255, 0, 0]
    gray = ImageInput(pilmode="L").from_http_request(request_of(image_bytes("JPEG"), "image/jpeg"))
    assert gray.data.shape == (3, 4)


def test_image_format_not_accepted(request_of, image_bytes):
    adapter = ImageInput(accept_image_formats=[".png", ".jpg"])
    task = adapter.from_http_request(request_of(image_bytes("GIF"), "image/gif"))
    assert task.error.http_status == 400
    assert task.error.err_msg == "image format .gif not accepted (accepted: .png, .jpg)"
    assert not adapter.from_http_request(request_of(image_bytes("JPEG"), "image/jpeg")).is_discarded


def test_image_format_is_checked_on_content_not_on_the_name(multipart, image_bytes):
    task = ImageInput(accept_image_formats=[".png"]).from_http_request(
        multipart(("image", "cat.png", "image/png", image_bytes("BMP"))))
    assert task.error.err_msg == "image format .bmp not accepted (accepted: .png)"


def test_truncated_image_is_a_400(request_of, image_bytes):
    data = image_bytes("PNG", (64, 64))
    task = ImageInput().from_http_request(request_of(data[: len(data) // 2], "image/png"))
    assert task.error.http_status == 400
    assert task.error.err_msg.startswith("image could not be decoded")


def test_not_an_image_is_a_400(request_of):
    task = ImageInput().from_http_request(request_of(b"hello", "image/png"))
    assert task.error.err_msg == "not an image Pillow can read"


def test_decompression_bomb_is_a_400(request_of, png_header_only):
    task = ImageInput().from_http_request(request_of(png_header_only(100_000, 100_000), "image/png"))
    assert task.error.http_status == 400
    assert task.error.err_msg.startswith("image rejected as a decompression bomb")


@pytest.mark.filterwarnings("ignore::PIL.Image.DecompressionBombWarning")
def test_image_over_the_pixel_limit_is_a_400_even_below_pillows_error_threshold(request_of, png_header_only):
    task = ImageInput().from_http_request(request_of(png_header_only(10_000, 10_000), "image/png"))
    assert task.error.http_status == 400
    assert task.error.err_msg.startswith("image rejected as a decompression bomb: 10000x10000 pixels is over the limit of")


def test_image_over_max_pixels_is_a_413_from_its_header_before_decoding(request_of, png_header_only):
    """6000x5000 is under Pillow's limit; the header alone says so (the pixel data is missing)."""
    task = ImageInput().from_http_request(request_of(png_header_only(6000, 5000), "image/png"))
    assert task.error.http_status == 413
    assert task.error.err_msg == ("image of 6000x5000 pixels: 30,000,000 is over the limit of 25,000,000 "
                                  "(ImageInput(max_pixels=...))")


@settings(max_examples=40, deadline=None)
@given(width=st.integers(1, 40), height=st.integers(1, 40))
def test_max_pixels_holds_for_every_shape(width, height):
    """Under or at the limit an image decodes; over it, the request is a 413 that names the limit."""
    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", (width, height)).save(out, "PNG")
    task = ImageInput(max_pixels=400).from_http_request(HTTPRequest({"content-type": "image/png"}, out.getvalue()))
    if width * height <= 400:
        assert task.data.shape == (height, width, 3)
    else:
        assert task.error.http_status == 413 and "ImageInput(max_pixels=...)" in task.error.err_msg


def test_one_decode_at_a_time_per_adapter_by_default(request_of, image_bytes):
    adapter = ImageInput()
    decoded = []
    body = request_of(image_bytes("PNG", (8, 8)), "image/png")
    with adapter._decodes:  # the one slot is taken: a decode waits for it
        waiting = threading.Thread(target=lambda: decoded.append(adapter.from_http_request(body).data.shape))
        waiting.start()
        waiting.join(0.3)
        assert decoded == []
    waiting.join(10)
    assert decoded == [(8, 8, 3)]


def test_image_body_content_type_must_be_an_image(request_of, image_bytes):
    task = ImageInput().from_http_request(request_of(image_bytes(), "text/plain"))
    assert task.error.http_status == 415


def test_image_configuration_is_checked():
    with pytest.raises(InvalidArgument, match="extensions with the dot"):
        ImageInput(accept_image_formats=["png"])
    with pytest.raises(InvalidArgument, match="not a Pillow mode"):
        ImageInput(pilmode="rgb")
    for bad in (0, -1, 2.5, True):
        with pytest.raises(InvalidArgument, match="max_pixels=...\\) takes a positive integer"):
            ImageInput(max_pixels=bad)
    with pytest.raises(InvalidArgument, match="max_concurrent_decodes"):
        ImageInput(max_concurrent_decodes=0)
    assert ImageInput(accept_image_formats=[".PNG"]).config == {"accept_image_formats": [".png"], "pilmode": "RGB"}
    assert ImageInput(max_pixels=10**6, max_concurrent_decodes=2).config == {
        "pilmode": "RGB", "max_pixels": 10**6, "max_concurrent_decodes": 2}


def test_multi_file_fields_by_name(multipart):
    adapter = MultiFileInput(["a", "b"])
    assert adapter.num_args == 2
    t1 = adapter.from_http_request(multipart(("b", "b.txt", None, b"B1"), ("a", "a.txt", None, b"A1"), ("c", None, None, b"")))
    t2 = adapter.from_http_request(multipart(("a", "a2", None, b"A2"), ("b", "b2", None, b"B2")))
    a, b = adapter.extract_user_func_args([t1, t2])
    assert [f.bytes for f in a] == [b"A1", b"A2"] and [f.bytes for f in b] == [b"B1", b"B2"]


@pytest.mark.parametrize("fields, expected", [
    ((("a", "a", None, b"1"),), "multipart field 'b' missing"),
    ((("a", "a", None, b"1"), ("b", "b", None, b"2"), ("b", "c", None, b"3")), "multipart field 'b' sent 2 times"),
])
def test_multi_file_missing_or_repeated_field(multipart, fields, expected):
    task = MultiFileInput(["a", "b"]).from_http_request(multipart(*fields))
    assert task.error.http_status == 400 and task.error.err_msg.startswith(expected)


def test_multi_file_needs_multipart(request_of):
    assert MultiFileInput(["a"]).from_http_request(request_of(b"x", "application/octet-stream")).error.http_status == 415


def test_multi_image_decodes_each_field_and_names_a_bad_one(multipart, image_bytes):
    adapter = MultiImageInput(["left", "right"], accept_image_formats=[".png"])
    ok = adapter.from_http_request(multipart(("left", "l.png", None, image_bytes()), ("right", "r.png", None, image_bytes())))
    assert [x.shape for x in ok.data] == [(3, 4, 3), (3, 4, 3)]
    bad = adapter.from_http_request(multipart(("left", "l.png", None, image_bytes()), ("right", "r", None, image_bytes("GIF"))))
    assert bad.error.err_msg == "field 'right': image format .gif not accepted (accepted: .png)"
    assert adapter.config == {"input_names": ["left", "right"], "accept_image_formats": [".png"], "pilmode": "RGB"}


def test_multi_input_names_are_checked():
    with pytest.raises(InvalidArgument, match="non-empty list of names"):
        MultiFileInput("ab")
    with pytest.raises(InvalidArgument, match="repeat a name"):
        MultiFileInput(["a", "a"])
    with pytest.raises(InvalidArgument, match="may hold only"):
        MultiFileInput(["a b"])
    with pytest.raises(InvalidArgument, match="may hold only"):  # a form field name, whole
        MultiFileInput(["a\n"])


def test_file_and_image_cli(cli, tmp_path, image_bytes):
    img = tmp_path / "cat.png"
    img.write_bytes(image_bytes())
    doc = tmp_path / "doc.bin"
    doc.write_bytes(b"abc")
    progress: list = []
    batch, = FileInput().iter_cli_batches(cli(files=[str(doc), str(img)], progress=progress))
    assert [t.data.name for t in batch] == ["doc.bin", "cat.png"] and batch[0].data.bytes == b"abc"
    assert progress == [doc.stat().st_size + img.stat().st_size]
    batch, = ImageInput().iter_cli_batches(cli(files=[str(img)]))
    assert batch[0].data.shape == (3, 4, 3)
    with pytest.raises(BadInput, match=rf"^{doc}: not an image Pillow can read"):
        list(ImageInput().iter_cli_batches(cli(files=[str(doc)])))
    with pytest.raises(BadInput, match="FileInput takes --input-file PATH, not --input"):
        list(FileInput().iter_cli_batches(cli(input="abc")))


def test_multi_file_cli_pairs_files_by_position(cli, tmp_path):
    paths = {}
    for name in ("a1", "a2", "b1", "b2"):
        paths[name] = tmp_path / name
        paths[name].write_text(name)
    adapter = MultiFileInput(["a", "b"])
    batch, = adapter.iter_cli_batches(cli(a=[str(paths["a1"]), str(paths["a2"])], b=[str(paths["b1"]), str(paths["b2"])]))
    assert [[f.bytes for f in t.data] for t in batch] == [[b"a1", b"b1"], [b"a2", b"b2"]]
    with pytest.raises(BadInput, match="each input name needs the same number of files: --input-file-a has 2, --input-file-b has 1"):
        list(adapter.iter_cli_batches(cli(a=[str(paths["a1"]), str(paths["a2"])], b=[str(paths["b1"])])))
    with pytest.raises(BadInput, match="^--input-file-b missing: MultiFileInput takes --input-file-a PATH --input-file-b PATH"):
        list(adapter.iter_cli_batches(cli(a=[str(paths["a1"])])))
    with pytest.raises(BadInput, match="^MultiFileInput takes --input-file-a PATH --input-file-b PATH"):
        list(adapter.iter_cli_batches(cli(input="x")))


def test_direct_calls_take_arrays_bytes_and_paths(tmp_path, image_bytes):
    img = tmp_path / "x.png"
    img.write_bytes(image_bytes())
    arr = np.zeros((2, 2, 3), np.uint8)
    tasks = ImageInput().from_python(([arr, image_bytes(), str(img), FileLike(name="f", data=image_bytes())],), batch=True)
    assert tasks[0].data is arr and [t.data.shape for t in tasks[1:]] == [(3, 4, 3)] * 3
    (task,) = FileInput().from_python((b"raw",), batch=False)
    assert task.data.bytes == b"raw"
    with pytest.raises(BadInput, match="missing.bin: file not found"):
        FileInput().from_python((str(tmp_path / "missing.bin"),), batch=False)
    tasks = MultiFileInput(["a", "b"]).from_python(([b"1", b"2"], [b"3", b"4"]), batch=True)
    assert [[f.bytes for f in t.data] for t in tasks] == [[b"1", b"3"], [b"2", b"4"]]
    with pytest.raises(InvalidArgument, match="one list per input name"):
        MultiFileInput(["a", "b"]).from_python(([b"1", b"2"], [b"3"]), batch=True)
