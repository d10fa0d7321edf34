"""The registry's behaviour through its Python client, on every database x storage combination."""
from __future__ import annotations

import os
import threading

import pytest

import bento
from bento.bundle.layout import ORIGIN_FILE
from bento.exceptions import AlreadyExists, InvalidArgument, NotFound, UntrustedArtifact


def test_push_get_list_pull_delete_roundtrip(yc, make_bundle, bento_home):
    path = make_bundle("Iris", labels={"framework": "sklearn", "stage": "prod"}, blob_size=3 << 20)
    pushed = yc.repository.push(path)
    assert pushed.name == "Iris" and pushed.labels == {"framework": "sklearn", "stage": "prod"}

    got = yc.repository.get("Iris:latest")
    assert got.tag == pushed.tag and got.metadata.artifacts[0].metadata == {"accuracy": 0.97}
    assert [b.tag for b in yc.repository.list()] == [pushed.tag]

    local = yc.repository.pull("Iris:latest")
    assert local == str(bento_home / "repository" / "Iris" / pushed.version)
    assert os.path.isfile(os.path.join(local, ORIGIN_FILE))
    with open(os.path.join(local, "Iris", "artifacts", "blob.pkl"), "rb") as a, \
            open(os.path.join(path, "Iris", "artifacts", "blob.pkl"), "rb") as b:
        assert a.read() == b.read()
    with pytest.raises(UntrustedArtifact, match="came from a registry"):
        bento.load(local)
    assert bento.load(local, trust_pickle=True).lookup("a") == 1

    assert yc.repository.delete(pushed.tag).tag == pushed.tag
    with pytest.raises(NotFound, match="Iris"):
        yc.repository.get(pushed.tag)
    assert yc.repository.list() == []


def test_versions_are_immutable(yc, make_bundle):
    path = make_bundle("Iris")
    yc.repository.push(path)
    with pytest.raises(AlreadyExists, match="immutable"):
        yc.repository.push(path)


def test_concurrent_pushes_of_one_version_exactly_one_wins(yc, make_bundle):
    path = make_bundle("Iris", blob_size=2 << 20)
    results: list = []

    def push() -> None:
        try:
            results.append(yc.repository.push(path).tag)
        except AlreadyExists as e:
            results.append(e)

    threads = [threading.Thread(target=push) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sum(isinstance(r, str) for r in results) == 1, results
    assert sum(isinstance(r, AlreadyExists) for r in results) == 3, results
    assert len(yc.repository.list("Iris")) == 1


def test_label_selectors_filter_in_the_database(yc, make_bundle):
    tags = {}
    for name, labels in [("A", {"framework": "sklearn", "stage": "prod"}), ("B", {"framework": "xgboost"}),
                         ("C", {"framework": "sklearn", "stage": "qa"}), ("D", {})]:
        tags[name] = yc.repository.push(make_bundle(name, labels=labels)).tag

    def names(selector: str) -> list:
        return sorted(b.name for b in yc.repository.list(labels=selector))

    assert names("framework=sklearn") == ["A", "C"]
    assert names("framework!=sklearn") == ["B", "D"]
    assert names("stage In (prod, qa)") == ["A", "C"]
    assert names("stage notin (prod)") == ["B", "C", "D"]
    assert names("stage") == ["A", "C"]
    assert names("stage DoesNotExist") == ["B", "D"]
    assert names("framework=sklearn, stage=qa") == ["C"]
    assert names("framework=xgboost, framework=sklearn") == ["A", "C"]  # a later key=value replaces
    with pytest.raises(InvalidArgument, match="position"):
        yc.repository.list(labels="stage In ()")


def test_list_orders_pages_and_resolves_latest(yc, make_bundle):
    versions = [yc.repository.push(make_bundle("Iris", version=f"1.0.{i}")).version for i in range(5)]
    assert [b.version for b in yc.repository.list("Iris")] == versions[::-1]
    assert [b.version for b in yc.repository.list("Iris", ascending=True)] == versions
    assert [b.version for b in yc.repository.list("Iris", limit=2, offset=1)] == versions[3:1:-1]
    assert yc.repository.get("Iris").version == versions[-1]
    assert yc.repository.get("Iris:latest").version == versions[-1]


def test_update_labels_changes_the_registry_record(yc, make_bundle):
    tag = yc.repository.push(make_bundle("Iris", labels={"stage": "qa", "team": "x"})).tag
    info = yc.repository.update_labels(tag, {"stage": "prod"}, remove=["team"])
    assert info.labels == {"stage": "prod"}
    assert [b.tag for b in yc.repository.list(labels="stage=prod")] == [tag]
    with pytest.raises(InvalidArgument, match="label"):
        yc.repository.update_labels(tag, {"bad key!": "x"})
    with pytest.raises(InvalidArgument, match="label"):  # `$` would let a last newline through
        yc.repository.update_labels(tag, {"stage": "prod\n"})
    assert yc.repository.get(tag).labels == {"stage": "prod"}


def test_hook_remote_repository_saves_and_loads_through_yatai(yatai, bento_home):
    from yatai_svcs import YataiToy

    svc = YataiToy()
    svc.pack("table", {"hello": "world"})
    svc.pack("blob", b"")
    svc.save(yatai_url=yatai.address)
    from bento.config import load_config
    from bento.plugins import default_manager
    from bento.repository import get_repository

    pm = default_manager()
    repo = get_repository(pm, load_config(pm), yatai.address)
    assert [b.tag for b in repo.list()] == [svc.tag]
    loaded = bento.load(repo.fetch(svc.tag), trust_pickle=True)
    assert loaded.lookup("hello") == "world"
    assert repo.fetch(svc.tag) == repo.fetch(f"{svc.name}:latest")  # cached by archive sha256


def test_deployment_records(yc, make_bundle):
    tag = yc.repository.push(make_bundle("Iris")).tag
    record = {"name": "iris-prod", "platform": "local", "bento": tag, "labels": {"env": "prod"},
              "options": {"port": "5000"}, "details": {"pid": 42}}
    created = yc.deployment.create(record)
    assert created["state"] == "pending" and created["created_at"] and created["details"] == {"pid": 42}
    with pytest.raises(AlreadyExists):
        yc.deployment.create(record)
    yc.deployment.replace({**created, "state": "running", "endpoint": "http://127.0.0.1:5000"})
    assert yc.deployment.get("iris-prod")["endpoint"] == "http://127.0.0.1:5000"
    assert [d["name"] for d in yc.deployment.list("env=prod", platform="local")] == ["iris-prod"]
    assert yc.deployment.list("env=qa") == []
    with pytest.raises(InvalidArgument, match="state"):
        yc.deployment.replace({**created, "state": "flying"})
    with pytest.raises(InvalidArgument, match="deployment name"):
        yc.deployment.create({**record, "name": "iris-qa\n"})
    yc.deployment.delete("iris-prod")
    with pytest.raises(NotFound):
        yc.deployment.replace({**created, "state": "running"})
    with pytest.raises(NotFound):
        yc.deployment.get("iris-prod")


def test_core_deployment_store_keeps_records_in_yatai(yatai):
    """`bento deployment ...` with --yatai-url (or yatai.url) stores through this plugin."""
    from bento.config import load_config
    from bento.deployer import Deployment
    from bento.labels import parse_selector
    from bento.plugins import default_manager

    pm = default_manager()
    store = pm.hook.deployment_store(config=load_config(pm), url=yatai.address, token=None)
    record = Deployment(name="iris", platform="local", bento="/srv/bundles/iris", labels={"env": "qa"},
                        created_at="2026-01-01T00:00:00+00:00", updated_at="2026-01-01T00:00:00+00:00",
                        options={"port": "5001"}, details={"pid": 7, "log": "/tmp/x.log"})
    store.add(record)
    with pytest.raises(AlreadyExists):
        store.add(record)
    assert store.get("iris") == record
    store.replace(record.with_status(type(record.status)(state="running", endpoint="http://127.0.0.1:5001")))
    assert store.get("iris").endpoint == "http://127.0.0.1:5001"
    assert [d.name for d in store.list(parse_selector("env=qa"), "local")] == ["iris"]
    assert store.list(parse_selector("env=prod")) == []
    store.delete("iris")
    with pytest.raises(NotFound):
        store.replace(record)
