"""No package of the repository has an import circle, hidden in a function or not."""
from __future__ import annotations

from pathlib import Path

import pytest
from bento.testing import import_cycles, import_graph

PACKAGES = sorted(p for p in Path(__file__).resolve().parents[1].glob("packages/*/src/*") if (p / "__init__.py").exists())


def test_every_package_is_found():
    assert {"bento", "bento_server", "bento_adapters", "bento_yatai", "bento_deploy"} <= {p.name for p in PACKAGES}


@pytest.mark.parametrize("package", PACKAGES, ids=lambda p: p.name)
def test_no_import_circle(package):
    assert import_cycles(import_graph(package, package.name)) == []
