"""Deployments without a server: records, the local store, the CLI over an in-process platform,
the store hook, and every kind of bad input."""
import json
import socket
import threading

import pytest
import yaml
from click.testing import CliRunner

from bento_deploy import Deployments, LocalDeploymentStore

from bento import hookimpl, plugins
from bento.cli import make_cli
from bento.deployer import Deployer, Deployment, DeploymentStatus
from bento.exceptions import AlreadyExists, NotFound
from bento.labels import parse_selector


class FakeDeployer(Deployer):
    """A platform that lives in this process: pending for `pending_polls` gets, then running."""

    OPTIONS = {"pending_polls": "gets answered pending before running", "fail": "raise from create"}
    gets: dict = {}
    deleted: list = []

    def create(self, deployment, bundle_dir):
        if deployment.options.get("fail"):
            raise AlreadyExists("the platform refused: " + deployment.options["fail"])
        FakeDeployer.gets[deployment.name] = 0
        return DeploymentStatus(state="pending", endpoint=f"fake://{deployment.name}", details={"bundle": bundle_dir})

    def get(self, deployment):
        FakeDeployer.gets[deployment.name] = n = FakeDeployer.gets.get(deployment.name, 0) + 1
        ready = n > int(deployment.options.get("pending_polls", "0"))
        return DeploymentStatus(state="running" if ready else "pending", endpoint=deployment.endpoint,
                                details=deployment.details)

    def delete(self, deployment):
        FakeDeployer.deleted.append(deployment.name)


class MemoryStore(LocalDeploymentStore):
    """Stands in for a registry's store (what bento-yatai implements) behind a URL."""


class FakePlatformPlugin:
    stores: dict = {}

    @hookimpl
    def register_deployers(self, register):
        register("fake", FakeDeployer)

    @hookimpl
    def deployment_store(self, url):
        return self.stores.get(url)


@pytest.fixture(autouse=True)
def fake_platform(bento_home):
    """The fake platform as a plugin of the process' manager, for this test only."""
    FakeDeployer.gets.clear()
    FakeDeployer.deleted.clear()
    pm = plugins.default_manager()
    pm.register(FakePlatformPlugin(), name="fake_platform")
    yield
    pm.unregister(name="fake_platform")


def _one_line_error(result, code, *texts):
    assert result.exit_code == code, (result.stdout, result.stderr)
    lines = [ln for ln in result.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1 and lines[0].startswith("Error: "), result.stderr
    for text in texts:
        assert text in lines[0]


def _record(name="d1", **kw):
    fields = dict(name=name, platform="fake", bento="Toy:1", created_at="t0", updated_at="t0")
    return Deployment(**{**fields, **kw})


# ------------------------------------------------------------------ records and the local store


def test_record_round_trips_and_ignores_unknown_keys():
    rec = _record(labels={"team": "ml"}, options={"port": "1"}, state="running", endpoint="x://", details={"pid": 3})
    data = rec.to_dict()
    assert list(data)[:8] == ["name", "platform", "bento", "state", "endpoint", "labels", "created_at", "error"]
    assert Deployment.from_dict({**data, "added_by_a_newer_bento": 1}) == rec
    with pytest.raises(ValueError):
        _record(state="sleeping")


def test_local_store_is_atomic_and_never_resurrects(bento_home):
    store = LocalDeploymentStore.default()
    store.add(_record("a", labels={"team": "ml"}))
    store.add(_record("b", platform="local", labels={"team": "cv"}))
    with pytest.raises(AlreadyExists, match="deployment 'a' already exists"):
        store.add(_record("a"))
    assert [r.name for r in store.list(parse_selector("team In (ml, cv)"))] == ["a", "b"]
    assert [r.name for r in store.list(platform="local")] == ["b"]
    store.replace(_record("a", state="running"))
    assert store.get("a").state == "running"
    assert json.loads((bento_home / "deployments" / "a.json").read_text())["state"] == "running"
    store.delete("a")
    with pytest.raises(NotFound):
        store.replace(_record("a"))
    with pytest.raises(NotFound):
        store.get("a")
    assert not list((bento_home / "deployments").glob(".*.tmp"))


def test_concurrent_creates_of_one_name_have_one_winner():
    store = LocalDeploymentStore.default()
    outcomes = []
    start = threading.Barrier(8)

    def create(i):
        start.wait()
        try:
            store.add(_record("same", bento=f"Toy:{i}"))
            outcomes.append("won")
        except AlreadyExists:
            outcomes.append("lost")

    threads = [threading.Thread(target=create, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(outcomes) == ["lost"] * 7 + ["won"]


# ------------------------------------------------------------------ the CLI over any platform


def test_create_waits_then_get_list_update_delete(run, bundle, toy):
    out = run("deployment", "create", "d1", "--bento", bundle, "--platform", "fake", "--labels", "team:ml,stage:dev",
              "--option", "pending_polls=2", "-o", "json")
    assert out.exit_code == 0, out.stderr
    rec = json.loads(out.stdout)
    assert {k: rec[k] for k in ("name", "platform", "bento", "state", "endpoint", "labels", "error")} == {
        "name": "d1", "platform": "fake", "bento": bundle, "state": "running", "endpoint": "fake://d1",
        "labels": {"team": "ml", "stage": "dev"}, "error": None}
    assert rec["created_at"] and FakeDeployer.gets["d1"] == 3  # polled while pending
    got = yaml.safe_load(run("deployment", "get", "d1").stdout)
    assert got["state"] == "running" and got["bento"] == bundle

    toy.save(labels={"stage": "prod"})
    run("deployment", "create", "d2", "--bento", "ToyService:latest", "--platform", "fake", "--labels", "team=cv")
    rows = run("deployment", "list").stdout.splitlines()
    assert rows[0].split() == ["NAME", "PLATFORM", "BENTO", "STATE", "ENDPOINT", "LABELS", "CREATED_AT"]
    assert [r.split()[0] for r in rows[1:]] == ["d1", "d2"]
    assert f"ToyService:{toy.version}" in rows[2]  # `latest` is pinned when deployed
    names = lambda *a: [r["name"] for r in json.loads(run("deployment", "list", "-o", "json", *a).stdout)]  # noqa: E731
    assert names("--labels", "team=ml") == ["d1"]
    assert names("--labels", "team NotIn (ml), stage DoesNotExist") == ["d2"]
    assert names("--platform", "local") == []

    out = run("deployment", "update", "d1", "--option", "pending_polls=", "--option", "fail=", "--labels", "team:ops",
              "-o", "json")
    rec = json.loads(out.stdout)
    assert rec["options"] == {} and rec["labels"] == {"team": "ops"} and rec["state"] == "running"
    assert FakeDeployer.deleted == ["d1"]  # the default update: delete, then create
    out = run("deployment", "delete", "d2")
    assert out.exit_code == 0 and "deleted deployment d2" in out.stderr
    assert names() == ["d1"]
    _one_line_error(run("deployment", "get", "d2"), 1, "no deployment named 'd2'")


def test_no_wait_reports_pending(run, bundle):
    out = run("deployment", "create", "d1", "--bento", bundle, "--platform", "fake", "--option", "pending_polls=5",
              "--timeout", "0", "-o", "json")
    assert out.exit_code == 0 and json.loads(out.stdout)["state"] == "pending"
    assert "still pending" in out.stderr


def test_a_refused_create_leaves_no_record(run, bundle):
    out = run("deployment", "create", "d1", "--bento", bundle, "--platform", "fake", "--option", "fail=quota")
    _one_line_error(out, 1, "the platform refused: quota")
    assert json.loads(run("deployment", "list", "-o", "json").stdout) == []


def test_a_refresh_does_not_bring_back_a_deleted_record(bundle):
    store = LocalDeploymentStore.default()
    Deployments(plugins.default_manager().registry, store, resolve=str).create("d1", bundle, "fake", wait=0)

    class DeletedMeanwhile(FakeDeployer):
        def get(self, deployment):
            store.delete(deployment.name)  # another client deletes while this one asks the platform
            return super().get(deployment)

    class DeletedMeanwhilePlugin:
        @hookimpl
        def register_deployers(self, register):
            register("fake", DeletedMeanwhile)

    pm = plugins.get_plugin_manager(load_entrypoints=False)
    pm.register(DeletedMeanwhilePlugin())
    assert Deployments(pm.registry, store, resolve=str).get("d1").state == "running"
    assert store.list() == []


def test_a_platform_whose_plugin_is_gone_shows_the_stored_state(run, bento_home):
    LocalDeploymentStore.default().add(_record("ghost", platform="gone", state="running"))
    rec = json.loads(run("deployment", "get", "ghost", "-o", "json").stdout)
    assert rec["state"] == "running" and "cannot check: unknown deployment platform 'gone'" in rec["error"]
    assert json.loads((bento_home / "deployments" / "ghost.json").read_text())["error"] is None


def test_builtin_platforms_are_listed_as_plugins(run):
    rows = {r["name"]: r for r in json.loads(run("plugins", "-o", "json").stdout)}
    assert rows["deploy"]["distribution"] == "bento-deploy"
    assert {"deployer:local", "deployer:kubernetes"} <= set(rows["deploy"]["provides"])
    assert {"deployment_store", "register_commands", "register_deployers"} <= set(rows["deploy"]["hooks"])


# ------------------------------------------------------------------ where records live


def test_hook_deployment_store_of_a_plugin_answers_for_a_registry_url(bundle, tmp_path):
    import bento_adapters.plugin
    import bento_deploy.plugin

    pm = plugins.get_plugin_manager(load_entrypoints=False)  # no bento-yatai: only the test's store plugin
    for plugin, name in ((bento_adapters.plugin, "adapters"), (bento_deploy.plugin, "deploy"),
                         (FakePlatformPlugin(), "fake_platform")):
        pm.register(plugin, name=name)
    cli = make_cli(pm)
    run = lambda *args: CliRunner().invoke(cli, list(args), catch_exceptions=False)  # noqa: E731
    FakePlatformPlugin.stores["grpc://registry:50051"] = MemoryStore(tmp_path / "registry")
    try:
        out = run("deployment", "create", "shared", "--bento", bundle, "--platform", "fake",
                  "--yatai-url", "grpc://registry:50051")
        assert out.exit_code == 0, out.stderr
        assert (tmp_path / "registry" / "shared.json").exists()
        assert json.loads(run("deployment", "list", "-o", "json").stdout) == []  # not in the local store
        listed = run("deployment", "list", "-o", "json", "--yatai-url", "grpc://registry:50051")
        assert [r["name"] for r in json.loads(listed.stdout)] == ["shared"]
    finally:
        FakePlatformPlugin.stores.clear()
    _one_line_error(run("deployment", "list", "--yatai-url", "grpc://elsewhere:1"), 1, "pip install bento-yatai")


# ------------------------------------------------------------------ bad input, one test each


def test_unknown_platform_lists_the_known_ones(run, bundle):
    _one_line_error(run("deployment", "create", "d1", "--bento", bundle, "--platform", "heroku"), 2,
                    "unknown deployment platform 'heroku'; known: fake, kubernetes, local")


def test_name_clash(run, bundle):
    assert run("deployment", "create", "d1", "--bento", bundle, "--platform", "fake").exit_code == 0
    _one_line_error(run("deployment", "create", "d1", "--bento", bundle, "--platform", "fake"), 1,
                    "deployment 'd1' already exists (platform fake")


@pytest.mark.parametrize("labels, why", [
    ("bad key:v", "invalid label key 'bad key'"),
    ("team:a\nb", "invalid label value 'a\\nb'"),
    ('team:"x"', "invalid label value '\"x\"'"),
    ("-team:x", "invalid label key '-team'"),
    ("noseparator", "expected KEY:VALUE pairs"),
])
def test_labels_that_break_the_label_rules(run, bundle, labels, why):
    out = run("deployment", "create", "d1", "--bento", bundle, "--platform", "fake", "--labels", labels)
    _one_line_error(out, 2, why)
    assert json.loads(run("deployment", "list", "-o", "json").stdout) == []


def test_bad_names_options_and_selectors(run, bundle):
    _one_line_error(run("deployment", "create", "../evil", "--bento", bundle, "--platform", "fake"), 2,
                    "invalid deployment name '../evil'")
    _one_line_error(run("deployment", "create", "d1", "--bento", bundle, "--platform", "local", "--option", "prot=1"),
                    2, "unknown option(s) prot for platform 'local'; known: port, startup_timeout, workers")
    _one_line_error(run("deployment", "create", "d1", "--bento", bundle, "--platform", "local", "--option", "port"),
                    2, "--option 'port': expected KEY=VALUE")
    _one_line_error(run("deployment", "create", "d1", "--bento", bundle, "--platform", "local", "--option", "port=0"),
                    2, "option port=0: expected a whole number from 1 to 65535")
    _one_line_error(run("deployment", "list", "--labels", "team In ()"), 2, "empty value list")
    _one_line_error(run("deployment", "create", "d1", "--bento", "Nope:latest", "--platform", "fake"), 1,
                    "no bundle named Nope")


def test_port_already_in_use(run, bundle):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        _one_line_error(run("deployment", "create", "d1", "--bento", bundle, "--platform", "local",
                            "--option", f"port={port}"), 2, f"port {port} on 127.0.0.1 is already in use")
    assert json.loads(run("deployment", "list", "-o", "json").stdout) == []

