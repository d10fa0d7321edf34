"""A tiny adapter and service for bundles in bento-yatai's tests (no other Bento package needed)."""
from __future__ import annotations

import json

from bento import BentoService, api, artifacts, hookimpl
from bento.adapters import BaseInputAdapter, BaseOutputAdapter
from bento.artifacts import JSONArtifact, PickleArtifact
from bento.types import InferenceTask


class YataiTestInput(BaseInputAdapter):
    def from_http_request(self, request):
        return InferenceTask(data=json.loads(request.body))


class YataiTestOutput(BaseOutputAdapter):
    def to_http_body(self, result):
        return json.dumps(result.data).encode(), "application/json"


@hookimpl
def register_input_adapters(register):
    register(YataiTestInput)


@hookimpl
def register_output_adapters(register):
    register(YataiTestOutput)


@artifacts([JSONArtifact("table"), PickleArtifact("blob")])
class YataiToy(BentoService):
    """Looks words up in a table; carries an opaque blob to make bundles of any size."""

    @api(input=YataiTestInput(), output=YataiTestOutput())
    def lookup(self, key):
        return self.artifacts.table.get(key)
