"""Plugins: entry points, a third-party artifact plugin pip-installed into a venv, broken plugins."""
import json
import os
import re
import subprocess
import textwrap
from pathlib import Path

import pytest
from bento.testing import plugin_venv

SVCMODS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "svcmods")

DOCS = Path(__file__).resolve().parents[3] / "docs" / "plugins.md"


def _docs_example() -> dict:
    """The two files of the artifact plugin shown in docs/plugins.md, as the page shows them."""
    page = DOCS.read_text(encoding="utf-8")
    section = page.split("## A complete artifact plugin", 1)[1].split("\n## ", 1)[0]
    blocks = re.findall(r"`([\w.]+)`:\n```\w+\n(.*?)```", section, re.DOTALL)
    return dict(blocks)


THIRD_PARTY = _docs_example()

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


def test_the_documented_plugin_is_a_module_of_under_15_lines():
    assert sorted(THIRD_PARTY) == ["bento_upper.py", "pyproject.toml"]
    assert len(THIRD_PARTY["bento_upper.py"].strip().splitlines()) < 15
    assert len(THIRD_PARTY["pyproject.toml"].strip().splitlines()) <= 5


def test_hook_register_artifacts_of_a_pip_installed_plugin(venv, tmp_path):
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


def test_where_a_plugin_came_from_is_read_when_asked_for(venv, tmp_path):
    """Every job and `bento --help` loads the plugins; parsing each one's METADATA is left to
    `bento plugins`, a bundle's save and a broken plugin's report, which name the distribution."""
    spy = textwrap.dedent("""\
        import json, importlib_metadata
        read = []
        original = importlib_metadata.PathDistribution.read_text
        def read_text(self, name):
            text = original(self, name)
            if name == "METADATA" and text:
                read.append(text.split("\\nName: ", 1)[1].split("\\n", 1)[0])
            return text
        importlib_metadata.PathDistribution.read_text = read_text
        from bento.plugins import get_plugin_manager
        pm = get_plugin_manager()
        loading = sorted(set(read))
        upper = {i.name: i for i in pm.infos}["upper"]
        print(json.dumps([loading, upper.distribution, upper.version]))
        """)
    out = _run(venv, ["-c", spy], tmp_path)
    assert out.returncode == 0, out.stderr
    loading, distribution, version = json.loads(out.stdout)
    assert "bento-upper" not in loading and "bento-broken" in loading
    assert (distribution, version) == ("bento-upper", "1.0")


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


def test_each_kind_is_collected_when_first_asked_for():
    """Loading a bundle asks for artifacts and adapters only: a deployer's or batcher's hook (and
    what it imports) runs when a platform or batcher is looked up, once."""
    from bento import hookimpl
    from bento.artifacts import JSONArtifact
    from bento.plugins import Kind, get_plugin_manager

    calls = []

    class Platforms:
        @hookimpl
        def register_deployers(self, register):
            calls.append("deployers")
            register("moon", type("MoonDeployer", (), {}))

    pm = get_plugin_manager(load_entrypoints=False)
    pm.register(Platforms(), name="platforms")
    registry = pm.registry
    assert registry.get(Kind.ARTIFACT, "JSONArtifact") is JSONArtifact
    assert registry.provider(Kind.ARTIFACT, JSONArtifact).distribution == "bento-core"
    assert calls == []
    assert registry.deployer("moon").__name__ == "MoonDeployer"
    assert registry.names(Kind.DEPLOYER) == ["moon"]
    assert calls == ["deployers"]


def test_a_kind_whose_hook_fails_is_collected_again():
    from bento import hookimpl
    from bento.plugins import Kind, get_plugin_manager

    attempts = []

    class Flaky:
        @hookimpl
        def register_batchers(self, register):
            attempts.append(1)
            if len(attempts) == 1:
                raise RuntimeError("first call fails")
            register("steady", type("Steady", (), {}))

    pm = get_plugin_manager(load_entrypoints=False)
    pm.register(Flaky(), name="flaky")
    with pytest.raises(RuntimeError, match="first call fails"):
        pm.registry.batcher("steady")
    assert pm.registry.batcher("steady").__name__ == "Steady"
    assert pm.registry.names(Kind.BATCHER) == ["offline", "steady"]
