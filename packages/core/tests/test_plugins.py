"""Plugins: entry points, a third-party artifact plugin pip-installed into a venv, broken plugins."""
import os
import subprocess
import textwrap

import pytest
from bento.testing import plugin_venv

SVCMODS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "svcmods")

# A complete third-party artifact plugin: pyproject + one module, under 25 lines in all.
THIRD_PARTY = {
    "pyproject.toml": """\
        [project]
        name = "bento-upper"
        version = "1.0"
        [project.entry-points.bento]
        upper = "bento_upper"
        """,
    "bento_upper.py": """\
        import bento, os
        class UpperTextArtifact(bento.BentoServiceArtifact):
            def pack(self, model, metadata=None):
                self.text = model.upper(); return self
            def save(self, dst):
                open(os.path.join(dst, self.name + ".up"), "w").write(self.text)
            def load(self, src):
                self.text = open(os.path.join(src, self.name + ".up")).read(); return self
            def get(self):
                return self.text
        @bento.hookimpl
        def register_artifacts(register):
            register(UpperTextArtifact)
        """,
}

BROKEN = {
    "pyproject.toml": """\
        [project]
        name = "bento-broken"
        version = "0.3"
        [project.entry-points.bento]
        broken = "bento_broken"
        """,
    "bento_broken.py": "raise ImportError('needs libfoo')\n",
}


def _write_pkg(root, files):
    root.mkdir()
    for name, text in files.items():
        (root / name).write_text(textwrap.dedent(text))
    return root


@pytest.fixture(scope="module")
def venv(tmp_path_factory):
    """A venv over this interpreter's packages, with the two plugin packages pip-installed."""
    base = tmp_path_factory.mktemp("venv")
    return plugin_venv(base / "v", _write_pkg(base / "upper", THIRD_PARTY), _write_pkg(base / "broken", BROKEN))


def _run(py, args, home, **env):
    full_env = {**os.environ, "BENTO_HOME": str(home), "PYTHONPATH": SVCMODS, "BENTO_STRICT_PLUGINS": "0", **env}
    return subprocess.run([py, *args], capture_output=True, text=True, env=full_env)


def test_third_party_plugin_is_under_25_lines():
    assert sum(len(textwrap.dedent(t).strip().splitlines()) for t in THIRD_PARTY.values()) < 25


def test_third_party_artifact_packs_saves_and_loads(venv, tmp_path):
    (tmp_path / "upsvc.py").write_text(textwrap.dedent("""\
        from bento import BentoService, api, artifacts
        from bento_upper import UpperTextArtifact
        from toy_adapters import ToyJsonInput
        @artifacts([UpperTextArtifact("greeting")])
        class UpSvc(BentoService):
            @api(input=ToyJsonInput())
            def greet(self, name):
                return self.artifacts.greeting + " " + name
        """))
    register = "import toy_adapters; from bento import plugins; plugins.default_manager().register(toy_adapters); "
    save = register + ("import sys; sys.path.insert(0, %r); from upsvc import UpSvc; s = UpSvc(); "
                       "s.pack('greeting', 'hello'); print(s.save())" % str(tmp_path))
    out = _run(venv, ["-W", "ignore", "-c", save], tmp_path / "home")
    assert out.returncode == 0, out.stderr
    path = out.stdout.strip()
    meta = open(os.path.join(path, "bento.yml")).read()
    assert "type: UpperTextArtifact" in meta and "plugin: bento-upper" in meta
    assert "bento-upper==1.0" in open(os.path.join(path, "requirements.txt")).read().split()
    load = register + "import bento; s = bento.load('UpSvc:latest'); print(s.greet('bob'))"
    out = _run(venv, ["-c", load], tmp_path / "home")
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "HELLO bob"


def test_broken_plugin_is_reported_by_name_and_skipped(venv, tmp_path):
    out = _run(venv, ["-m", "bento.cli", "plugins", "-o", "json"], tmp_path)
    assert out.returncode == 0, out.stderr
    assert "skipping plugin 'broken' (bento-broken 0.3): ImportError: needs libfoo" in out.stderr
    assert '"status": "broken: ImportError: needs libfoo"' in out.stdout
    assert '"name": "upper"' in out.stdout


def test_strict_mode_makes_a_broken_plugin_fatal(venv, tmp_path):
    out = _run(venv, ["-m", "bento.cli", "list"], tmp_path, BENTO_STRICT_PLUGINS="1")
    assert out.returncode != 0
    assert out.stderr.strip() == ("Error: plugin 'broken' (bento-broken 0.3) failed to load: "
                                  "ImportError: needs libfoo")


def test_misspelled_hook_is_caught():
    import pluggy

    from bento import hookimpl
    from bento.plugins import get_plugin_manager

    class Typo:
        @hookimpl
        def register_artifact(self, register):
            pass

    pm = get_plugin_manager(load_entrypoints=False)
    pm.register(Typo())
    with pytest.raises(pluggy.PluginValidationError, match="unknown hook 'register_artifact'"):
        pm.check_pending()
