"""Minimal adapters for core's own tests (the real ones live in bento-adapters)."""
from __future__ import annotations

import json

from bento import hookimpl
from bento.adapters import BaseInputAdapter, BaseOutputAdapter
from bento.exceptions import BadInput
from bento.types import InferenceTask


class ToyJsonInput(BaseInputAdapter):
    def from_http_request(self, request):
        try:
            return InferenceTask(data=json.loads(request.body))
        except ValueError as e:
            task = InferenceTask()
            task.discard(400, f"not JSON: {e}")
            return task

    def iter_cli_batches(self, cli):
        if cli.input is not None:
            try:
                yield [InferenceTask(data=json.loads(cli.input))]
            except ValueError as e:
                raise BadInput(f"--input is not JSON: {e}") from None
        for path in cli.files:
            with open(path) as f:
                batch = []
                for line in f:
                    cli.on_progress(len(line))
                    batch.append(InferenceTask(data=json.loads(line)))
                    if len(batch) >= cli.batch_size:
                        yield batch
                        batch = []
                if batch:
                    yield batch

    def cli_progress_total(self, cli):
        import os

        return sum(os.path.getsize(p) for p in cli.files) or None


class ToyRowsInput(ToyJsonInput):
    """One task carries a list of rows (like DataframeInput): batch=len(rows)."""

    SINGLE_MODE_SUPPORTED = False

    def from_python(self, args, batch):
        return [InferenceTask(data=list(args[0]), batch=len(args[0]))]

    def extract_user_func_args(self, tasks):
        return ([row for t in tasks for row in t.data],)


class ToyJsonOutput(BaseOutputAdapter):
    def to_http_body(self, result):
        return json.dumps(result.data).encode(), "application/json"

    def to_cli_lines(self, result, fmt, per_row, header):
        return [json.dumps(result.data)]


@hookimpl
def register_input_adapters(register):
    register(ToyJsonInput)
    register(ToyRowsInput)


@hookimpl
def register_output_adapters(register):
    register(ToyJsonOutput)
