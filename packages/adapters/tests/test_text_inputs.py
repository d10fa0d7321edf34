"""JsonInput and StringInput: bodies, charsets, multipart, CLI and direct calls."""
from __future__ import annotations

import pytest
from bento.exceptions import BadInput, InvalidArgument

from bento_adapters import JsonInput, StringInput


def test_json_body_is_parsed_and_a_list_is_one_item(request_of):
    task = JsonInput().from_http_request(request_of(b'[1, {"a": [true, null]}]'))
    assert not task.is_discarded
    assert task.data == [1, {"a": [True, None]}]
    assert task.batch is None and task.request_id == "req-1"
    assert JsonInput().extract_user_func_args([task]) == ([[1, {"a": [True, None]}]],)


def test_invalid_json_is_discarded_naming_line_and_column(request_of):
    task = JsonInput().from_http_request(request_of(b'{"a": 1,\n "b" 2}'))
    assert task.error.http_status == 400
    assert task.error.err_msg.startswith("invalid JSON at line 2 column 6")


def test_json_with_a_declared_charset(request_of):
    body = '{"name": "Zoë"}'.encode("latin-1")
    task = JsonInput().from_http_request(request_of(body, "application/json; charset=latin-1"))
    assert task.data == {"name": "Zoë"}


def test_json_rejects_binary_content_types_with_415(request_of):
    task = JsonInput().from_http_request(request_of(b"{}", "image/png"))
    assert task.error.http_status == 415
    assert "image/png" in task.error.err_msg and "application/json" in task.error.err_msg


def test_curl_default_form_content_type_still_reads_json(request_of):
    task = JsonInput().from_http_request(request_of(b'{"x": 1}', "application/x-www-form-urlencoded"))
    assert task.data == {"x": 1}


def test_string_decodes_declared_charset(request_of):
    task = StringInput().from_http_request(request_of("héllo".encode("utf-16"), "text/plain; charset=utf-16"))
    assert task.data == "héllo"


def test_string_defaults_to_utf8_and_drops_a_bom(request_of):
    task = StringInput().from_http_request(request_of("\ufeffnaïve".encode("utf-8"), "text/plain"))
    assert task.data == "naïve"


def test_non_utf8_text_without_charset_asks_for_one(request_of):
    task = StringInput().from_http_request(request_of("café".encode("latin-1"), "text/plain"))
    assert task.error.http_status == 400
    assert task.error.err_msg == "text is not valid utf-8 (byte 3); send a charset in Content-Type"


def test_unknown_charset_is_named(request_of):
    task = StringInput().from_http_request(request_of(b"hi", "text/plain; charset=foo"))
    assert task.error.http_status == 400
    assert task.error.err_msg == "charset 'foo' unknown"


def test_string_from_one_multipart_file_uses_the_part_charset(multipart):
    req = multipart(("doc", "a.txt", "text/plain; charset=latin-1", "über".encode("latin-1")))
    assert StringInput().from_http_request(req).data == "über"


@pytest.mark.parametrize("fields, expected", [
    ((), "expected one file in the multipart body, got none"),
    ((("a", "a.txt", None, b"x"), ("b", "b.txt", None, b"y")), "expected one file in the multipart body, got 2 ('a', 'b')"),
])
def test_multipart_needs_exactly_one_file(multipart, fields, expected):
    task = StringInput().from_http_request(multipart(*fields))
    assert task.error.http_status == 400
    assert task.error.err_msg == expected


def test_malformed_multipart_is_a_400(request_of):
    task = StringInput().from_http_request(request_of(b"--b\r\nno end", "multipart/form-data; boundary=b"))
    assert task.error.http_status == 400
    assert task.error.err_msg.startswith("malformed multipart body")


def test_json_cli_input_and_files(cli, tmp_path):
    one = tmp_path / "one.json"
    one.write_text('{"a": 1}')
    lines = tmp_path / "many.jsonl"
    lines.write_text('[1, 2]\n\n{"b": 2}\n"s"\n')
    progress: list = []
    batches = list(JsonInput().iter_cli_batches(cli(input="[1, 2]", files=[str(one), str(lines)], batch_size=2,
                                                    progress=progress)))
    assert [[t.data for t in b] for b in batches] == [[[1, 2], {"a": 1}], [[1, 2], {"b": 2}], ["s"]]
    assert all(t.cli_args == ("--input", "x") and t.batch is None for b in batches for t in b)
    assert len(progress) == 3 and sum(progress) == one.stat().st_size + lines.stat().st_size


def test_json_cli_errors_name_the_input(cli, tmp_path):
    with pytest.raises(BadInput, match=r"^--input: invalid JSON at line 1 column 2"):
        list(JsonInput().iter_cli_batches(cli(input="{")))
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"a": 1}\n{oops}\n[3]\n')
    (batch,) = JsonInput().iter_cli_batches(cli(files=[str(bad)]))  # the bad line fails alone, the run goes on
    assert [t.data for t in batch if not t.is_discarded] == [{"a": 1}, [3]]
    assert batch[1].error.err_msg.startswith(f"{bad}: line 2: invalid JSON at line 1 column 2")
    with pytest.raises(BadInput, match="file not found"):
        list(JsonInput().iter_cli_batches(cli(files=[str(tmp_path / "missing.json")])))
    with pytest.raises(BadInput, match=r"JsonInput needs --input JSON or --input-file PATH"):
        list(JsonInput().iter_cli_batches(cli()))
    with pytest.raises(BadInput, match="--format csv is not supported"):
        list(JsonInput().iter_cli_batches(cli(input="1", fmt="csv")))


def test_string_cli_reads_text_files(cli, tmp_path):
    path = tmp_path / "t.txt"
    path.write_text("hello\nworld", encoding="utf-8")
    latin = tmp_path / "l.txt"
    latin.write_bytes("é".encode("latin-1"))
    batch, = StringInput().iter_cli_batches(cli(input="raw", files=[str(path)]))
    assert [t.data for t in batch] == ["raw", "hello\nworld"]
    with pytest.raises(BadInput, match=rf"^{latin}: text is not valid utf-8 \(byte 0\)$"):
        list(StringInput().iter_cli_batches(cli(files=[str(latin)])))


def test_direct_call_batch_takes_a_list(cli):
    tasks = JsonInput().from_python(([{"a": 1}, [2]],), batch=True)
    assert [t.data for t in tasks] == [{"a": 1}, [2]]
    assert [t.data for t in JsonInput().from_python(([1, 2],), batch=False)] == [[1, 2]]
    with pytest.raises(InvalidArgument, match="takes a list of inputs, got dict"):
        JsonInput().from_python(({"a": 1},), batch=True)


def test_request_schemas_describe_the_body():
    assert "application/json" in JsonInput().request_schema()
    schema = StringInput().request_schema()
    assert schema["text/plain"]["schema"] == {"type": "string"}
    assert schema["multipart/form-data"]["schema"]["properties"]["file"]["format"] == "binary"
