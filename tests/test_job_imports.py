"""What a library job imports with every plugin installed: `import bento` takes no framework and
no heavy dependency, and saving and loading a bundle builds the plugin registry without pulling in
what only the CLI (click), serving (asyncio) or deploying (the local platform's HTTP client) needs."""
from __future__ import annotations

import json
import subprocess
import sys
import textwrap

SERVICE = textwrap.dedent('''
    from bento import BentoService, api, artifacts
    from bento.artifacts import JSONArtifact
    from bento_adapters import JsonInput

    @artifacts([JSONArtifact("table")])
    class Lookup(BentoService):
        @api(input=JsonInput(), batch=False)
        def get(self, doc):
            return self.artifacts.table.get(doc["k"])
''')

JOB = textwrap.dedent('''
    import json, sys
    import bento
    from bento.plugins import Kind
    from lookup_svc import Lookup

    svc = Lookup().pack("table", {"a": 1})
    loaded = bento.load(svc.save())
    print(json.dumps({"answer": loaded.get({"k": "a"}),
                      "artifacts": loaded.plugins.registry.names(Kind.ARTIFACT),
                      "plugins": sorted(i.name for i in loaded.plugins.infos),
                      "imported": sorted(m for m in ("click", "asyncio", "urllib.request", "bento_deploy.local",
                                                     "bento_server.batching") if m in sys.modules)}))
''')


def test_saving_and_loading_a_bundle_imports_no_cli_server_or_deploy_plumbing(tmp_path):
    (tmp_path / "lookup_svc.py").write_text(SERVICE)
    (tmp_path / "job.py").write_text(JOB)
    out = subprocess.run([sys.executable, "job.py"], cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    result = json.loads(out.stdout)
    assert result["answer"] == 1
    assert {"deploy", "server", "yatai", "adapters"} <= set(result["plugins"])  # they were all loaded
    assert "JSONArtifact" in result["artifacts"]
    assert result["imported"] == []


def test_import_bento_takes_no_framework_and_no_heavy_dependency():
    heavy = ("pandas", "numpy", "sklearn", "falcon", "click", "yaml", "asyncio", "cryptography", "importlib_metadata")
    job = f"import sys, bento; print(sorted(m for m in {heavy!r} if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", job], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"
