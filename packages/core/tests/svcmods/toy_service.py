"""Services used by core's tests."""
from __future__ import annotations

from toy_adapters import ToyJsonInput, ToyRowsInput
from toy_helpers import double

from bento import BentoService, api, artifacts, env, ver
from bento.artifacts import JSONArtifact, PickleArtifact
from bento.types import InferenceError, InferenceResult


@env(pip_packages=["pluggy"])
@artifacts([JSONArtifact("table"), PickleArtifact("obj")])
class ToyService(BentoService):
    """Doubles numbers and looks words up in a table."""

    @api(input=ToyJsonInput())
    def double(self, x):
        """Double one number."""
        return double(x)

    @api(input=ToyJsonInput(), batch=True)
    def lookup(self, keys, tasks):
        out = []
        for key, task in zip(keys, tasks):
            if key == "drop":
                task.discard(422, "dropped on request")
            elif key == "fail":
                out.append(InferenceError("no such key", 404))
            else:
                out.append(InferenceResult(self.artifacts.table[key], http_headers={"x-key": key}))
        return out

    @api(input=ToyRowsInput(), batch=True)
    def rows(self, rows):
        return [sum(r) for r in rows]

    @api(input=ToyJsonInput(), batch=True)
    def broken(self, xs):
        return xs[:-1]

    @api(input=ToyJsonInput(), batch=True, route="v1/raise")
    def explode(self, xs):
        if "boom" in xs:
            raise RuntimeError("secret detail")
        return xs


@ver(2, 1)
@artifacts([JSONArtifact("table")])
class VersionedService(BentoService):
    @api(input=ToyJsonInput())
    def get(self, key):
        return self.artifacts.table.get(key)
