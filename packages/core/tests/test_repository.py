"""The local repository: save, list with selectors, latest, delete."""
import os

import pytest

import bento
from bento.exceptions import AlreadyExists, InvalidArgument, NotFound
from bento.labels import parse_selector
from bento.config import load_config
from bento.plugins import default_manager
from bento.repository import find, get_repository, resolve


def _save(toy, **labels):
    toy.pack("table", {"n": len(labels)})
    return toy.save(labels=labels)


def _repository():
    pm = default_manager()
    return get_repository(pm, load_config(pm))


def test_save_goes_to_bento_home_repository(toy, bento_home):
    path = toy.save(labels={"framework": "toy"})
    assert path == str(bento_home / "repository" / "ToyService" / toy.version)
    assert os.path.isfile(os.path.join(path, "MANIFEST.sha256"))
    assert not os.listdir(bento_home / "repository" / ".staging")


def test_latest_list_order_and_selectors(toy):
    first = _save(toy, stage="dev")
    second = _save(toy, stage="prod", team="ml")
    repo = _repository()
    assert [b.location for b in repo.list("ToyService")] == [second, first]
    assert repo.get("ToyService:latest").location == second
    assert repo.get("ToyService").location == second
    assert [b.location for b in repo.list(selector=parse_selector("stage In (dev, qa)"))] == [first]
    assert [b.location for b in repo.list(selector=parse_selector("team DoesNotExist"))] == [first]
    assert [b.location for b in repo.list(limit=1, ascending=True)] == [first]
    assert bento.load("ToyService:latest").artifacts.table == {"n": 2}


def test_same_version_cannot_be_saved_twice(toy):
    toy.save()
    with pytest.raises(AlreadyExists, match="already exists"):
        toy.save()


def test_unknown_tag_and_bad_tag(toy):
    with pytest.raises(NotFound, match="no bundle named Nope"):
        bento.load("Nope:latest")
    toy.save()
    with pytest.raises(NotFound, match="bundle ToyService:20200101000000_ABCDEF not found"):
        bento.load("ToyService:20200101000000_ABCDEF")
    with pytest.raises(InvalidArgument, match="invalid version"):
        bento.load("ToyService:../../etc")
    with pytest.raises(InvalidArgument, match="invalid bundle name"):
        _repository().get("a/b:1")


def test_find_names_what_resolve_fetches_without_fetching_it(toy, tmp_path):
    pm = default_manager()
    config = load_config(pm)
    first = _save(toy, stage="dev")
    tag = find("ToyService:latest", pm, config)
    assert tag == f"ToyService:{os.path.basename(first)}"
    toy.set_version("2.0")
    _save(toy, stage="prod")  # a newer latest: what was found still names the first bundle
    assert resolve(tag, pm, config) == first
    assert find(first, pm, config) == first
    with pytest.raises(NotFound, match="not found"):
        find("ToyService:9.9", pm, config)
    with pytest.raises(NotFound, match="no bundle directory"):
        find(str(tmp_path / "missing"), pm, config)


def test_delete_removes_the_bundle(toy):
    path = toy.save()
    info = _repository().delete(f"ToyService:{toy.version}")
    assert info.location == path and not os.path.exists(path)
    with pytest.raises(NotFound):
        _repository().get(f"ToyService:{toy.version}")


def test_interrupted_save_leaves_nothing_visible(toy, bento_home, monkeypatch):
    from bento.bundle import writer

    def crash(*a, **k):
        raise OSError("disk full")

    monkeypatch.setattr(writer, "write_manifest", crash)
    with pytest.raises(OSError, match="disk full"):
        toy.save()
    assert _repository().list() == []
    assert not any((bento_home / "repository" / ".staging").iterdir())
