"""The service bento-deploy's tests deploy: a lookup table behind JsonInput."""
from __future__ import annotations

from bento_adapters import JsonInput

from bento import BentoService, api, artifacts
from bento.artifacts import JSONArtifact


@artifacts([JSONArtifact("table")])
class ToyService(BentoService):
    """Looks keys up in a table."""

    @api(input=JsonInput())
    def lookup(self, key):
        return self.artifacts.table.get(key)
