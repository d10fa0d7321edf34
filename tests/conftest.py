"""Cross-package end-to-end tests: real CLI processes, real bundles, fresh BENTO_HOME per test."""
from __future__ import annotations

import os
import subprocess
import sys
from typing import Iterator

import pytest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from bento_e2e import QUICKSTART  # noqa: E402

from bento.testing import bento_home  # noqa: E402,F401  (a private BENTO_HOME per test)


@pytest.fixture
def iris_bundle(bento_home) -> str:
    """The quickstart's IrisClassifier, trained and saved by its own script."""
    out = subprocess.run([sys.executable, "train.py"], cwd=QUICKSTART, capture_output=True, text=True,
                         env={**os.environ, "BENTO_HOME": str(bento_home)})
    assert out.returncode == 0, out.stderr
    return out.stdout.strip().splitlines()[-1]


@pytest.fixture(scope="session")
def zoo_bundle(tmp_path_factory) -> str:
    """adapter_service.AdapterZoo (one API per input adapter) saved once as a bundle directory."""
    from adapter_service import AdapterZoo

    return AdapterZoo().save_to_dir(str(tmp_path_factory.mktemp("zoo") / "AdapterZoo"))


@pytest.fixture(scope="session")
def zoo_url(zoo_bundle, tmp_path_factory) -> Iterator[str]:
    """The AdapterZoo bundle, loaded, on a dev server on a free 127.0.0.1 port with its own BENTO_HOME."""
    import bento

    with pytest.MonkeyPatch.context() as env:
        env.setenv("BENTO_HOME", str(tmp_path_factory.mktemp("zoo_home")))
        service = bento.load(zoo_bundle)
        handle = service.start_dev_server(port=0)
    yield handle.url
    service.stop_dev_server()


@pytest.fixture
def yatai_url(tmp_path) -> Iterator[str]:
    """A real Yatai (gRPC on 127.0.0.1, SQLite and a local directory) in this process."""
    from bento_yatai.server import ServerOptions, YataiServer

    server = YataiServer(ServerOptions(db_url=f"sqlite:///{tmp_path / 'yatai.db'}",
                                       repo_base_url=str(tmp_path / "archives"), grpc_port=0, ui_port=None)).start()
    yield server.address
    server.stop(grace=0)
