"""FileInput and MultiFileInput: files as `bento.types.FileLike`, one per request or one per form field."""
from __future__ import annotations

import os
import re
from typing import Any, ClassVar, Iterator, Optional, Sequence

from bento.adapters import CliInput, HTTPRequest
from bento.exceptions import BadInput, InvalidArgument
from bento.types import FileLike, InferenceTask

from .base import InputAdapter
from .form_data import parse_form_data, single_part
from .http_body import MULTIPART, UnsupportedContentType
from .input_files import ByteProgress, errors_about, open_input
from .schemas import BINARY, form_files

__all__ = ["FileInput", "MultiFileInput"]

_FIELD_NAME = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_\-]*")


class FileInput(InputAdapter):
    """The API receives a FileLike per request: the raw body, or the one file of a multipart form.

    Subclasses turn the file into something else by overriding `from_file` (ImageInput decodes it).
    """

    CLI_USAGE = "--input-file PATH"
    BODY_TYPES: ClassVar[str] = "any"

    def request_schema(self) -> dict:
        return {"application/octet-stream": {"schema": dict(BINARY)}, **form_files(["file"])}

    def from_file(self, file: FileLike) -> Any:
        """The task data for one received file."""
        return file

    def accepts_body_type(self, content_type: str) -> bool:
        return True

    def parse_http(self, request: HTTPRequest) -> Any:
        if request.content_type == MULTIPART:
            return self.from_file(single_part(request).file_like())
        if not self.accepts_body_type(request.content_type):
            raise UnsupportedContentType(request.content_type, self.type_name(),
                                         f"{self.BODY_TYPES}, multipart/form-data with one file")
        if not request.body:
            raise BadInput("empty request body: send the file as the body or as one multipart/form-data file")
        return self.from_file(FileLike(name="", data=request.body))

    def cli_file(self, path: str, cli: Optional[CliInput]) -> Any:
        open_input(path).close()  # fail now, naming the path, rather than inside the API function
        return self.from_file(FileLike(name=os.path.basename(path), path=path))

    def coerce(self, value: Any) -> Any:
        """A FileLike, bytes or a path (str / os.PathLike)."""
        if isinstance(value, FileLike):
            return self.from_file(value)
        if isinstance(value, (bytes, bytearray)):
            return self.from_file(FileLike(name="", data=bytes(value)))
        if isinstance(value, (str, os.PathLike)):
            path = os.fspath(value)
            with errors_about(path):
                return self.cli_file(path, None)
        raise InvalidArgument(f"{self.type_name()} takes a FileLike, bytes or a file path, got {type(value).__name__}")


class MultiFileInput(InputAdapter):
    """Several files per request, one multipart field per name; the API takes one parameter per
    name in `input_names` order (a list over the batch in batch mode). `allow_none`: a request
    may leave fields out, whose parameters are then None (over HTTP; `bento run` needs them all)."""

    ITEM: ClassVar[type] = FileInput

    def __init__(self, input_names: Sequence[str], allow_none: bool = False, **item_config: Any) -> None:
        if isinstance(input_names, str) or not input_names:
            raise InvalidArgument(f"{self.type_name()}(input_names=...) takes a non-empty list of names")
        names = [str(n) for n in input_names]
        bad = [n for n in names if not _FIELD_NAME.fullmatch(n)]
        if bad:
            raise InvalidArgument(f"{self.type_name()}: input name {bad[0]!r} may hold only letters, digits, _ and -")
        if len(set(names)) != len(names):
            raise InvalidArgument(f"{self.type_name()}: input_names {names} repeat a name")
        self.input_names = tuple(names)
        self.allow_none = bool(allow_none)
        self._item = self.ITEM(**item_config)
        super().__init__(input_names=names, allow_none=allow_none or None, **self._item.config)

    @property
    def num_args(self) -> int:
        return len(self.input_names)

    def _cli_usage(self) -> str:
        return " ".join(f"--input-file-{n} PATH" for n in self.input_names)

    def request_schema(self) -> dict:
        return form_files(self.input_names)

    def parse_http(self, request: HTTPRequest) -> tuple:
        if request.content_type != MULTIPART:
            raise UnsupportedContentType(request.content_type, self.type_name(), MULTIPART)
        by_name: dict[str, list] = {}
        for part in parse_form_data(request):
            by_name.setdefault(part.name, []).append(part)
        values = []
        for name in self.input_names:
            found = by_name.get(name, [])
            if not found and self.allow_none:
                values.append(None)
                continue
            if len(found) != 1:
                raise BadInput(f"multipart field '{name}' missing" if not found
                               else f"multipart field '{name}' sent {len(found)} times; expected one file")
            with errors_about(f"field '{name}'"):
                values.append(self._item.from_file(found[0].file_like()))
        return tuple(values)

    def extract_user_func_args(self, tasks: Sequence[InferenceTask]) -> tuple:
        return tuple([t.data[i] for t in tasks] for i in range(self.num_args))

    def from_python(self, args: Sequence[Any], batch: bool) -> list[InferenceTask]:
        if not batch:
            rows = [args]
        elif not all(isinstance(a, (list, tuple)) for a in args) or len({len(a) for a in args}) != 1:
            raise InvalidArgument(f"a batch API with {self.type_name()} takes one list per input name "
                                  f"({', '.join(self.input_names)}), all of the same length")
        else:
            rows = list(zip(*args))
        return [InferenceTask(data=tuple(None if v is None and self.allow_none else self._item.coerce(v) for v in row))
                for row in rows]

    def iter_cli_items(self, cli: CliInput) -> Iterator[tuple[tuple, int]]:
        lists = [list(cli.input_files.get(n, ())) for n in self.input_names]
        missing = " ".join(f"--input-file-{n}" for n, paths in zip(self.input_names, lists) if not paths)
        if cli.input is not None or cli.files or missing:
            problem = f"{missing} missing: " if missing and any(lists) else ""
            raise BadInput(f"{problem}{self.type_name()} takes {self._cli_usage()} (one flag per input name)")
        if len({len(paths) for paths in lists}) != 1:
            counts = ", ".join(f"--input-file-{n} has {len(p)}" for n, p in zip(self.input_names, lists))
            raise BadInput(f"each input name needs the same number of files: {counts}")
        progress = ByteProgress()
        for paths in zip(*lists):
            values = []
            for path in paths:
                with errors_about(path):
                    values.append(self._item.cli_file(path, cli))
                progress.finish(path)
            yield tuple(values), progress.finished
