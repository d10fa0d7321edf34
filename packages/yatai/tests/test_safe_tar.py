"""Hostile archives: each is refused with a clear message and leaves nothing behind."""
from __future__ import annotations

import io
import os
import shutil
import subprocess
import tarfile
import zlib

import pytest

from bento_yatai.archive import ArchiveStream
from bento_yatai.safe_tar import Limits, UnsafeArchive, safe_extract

DEFAULT = Limits(max_bytes=20 << 30, max_members=20_000)


def _info(name: str, kind: bytes = tarfile.REGTYPE, size: int = 0, linkname: str = "") -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.type, info.size, info.linkname = kind, size, linkname
    return info


def write_tar(path: str, members: list) -> str:
    """members: (TarInfo, bytes or None)."""
    with tarfile.open(path, "w:gz", compresslevel=1) as tar:
        for info, data in members:
            tar.addfile(info, io.BytesIO(data) if data is not None else None)
    return path


def assert_refused(archive: str, dest: str, match: str, limits: Limits = DEFAULT) -> None:
    with pytest.raises(UnsafeArchive, match=match):
        safe_extract(archive, dest, limits)
    assert not os.path.exists(dest)


@pytest.mark.parametrize("name, match", [
    ("../x", "climbs out"), ("a/../../x", "climbs out"), ("/etc/evil", "absolute"), ("C:/evil", "absolute"),
])
def test_paths_outside_are_refused(tmp_path, name, match):
    archive = write_tar(str(tmp_path / "a.tar.gz"), [(_info("ok.txt", size=2), b"ok"), (_info(name, size=1), b"x")])
    assert_refused(archive, str(tmp_path / "out"), match)
    assert not os.path.exists(tmp_path / "x") and not os.path.exists(tmp_path / "evil")


@pytest.mark.parametrize("target", ["/etc", "../../etc", "sub/../../outside"])
def test_symlinks_pointing_outside_are_refused(tmp_path, target):
    archive = write_tar(str(tmp_path / "a.tar.gz"), [(_info("link", tarfile.SYMTYPE, linkname=target), None)])
    assert_refused(archive, str(tmp_path / "out"), "is a link to .*bundles hold no links")


@pytest.mark.parametrize("target", ["/etc/passwd", "../outside", "never-extracted", "ok.txt"])
def test_hardlinks_are_refused(tmp_path, target):
    archive = write_tar(str(tmp_path / "a.tar.gz"), [(_info("ok.txt", size=2), b"ok"),
                                                      (_info("link", tarfile.LNKTYPE, linkname=target), None)])
    assert_refused(archive, str(tmp_path / "out"), "bundles hold no links")


@pytest.mark.parametrize("target", ["d", "sub", "."])
def test_symlinks_inside_the_bundle_are_refused_too(tmp_path, target):
    archive = write_tar(str(tmp_path / "a.tar.gz"), [(_info("d", tarfile.DIRTYPE), None),
                                                      (_info("link", tarfile.SYMTYPE, linkname=target), None)])
    assert_refused(archive, str(tmp_path / "out"), "bundles hold no links")


def test_writing_through_a_link_is_refused(tmp_path):
    archive = write_tar(str(tmp_path / "a.tar.gz"), [
        (_info("d", tarfile.DIRTYPE), None), (_info("a", tarfile.SYMTYPE, linkname="d"), None),
        (_info("a/x", size=1), b"x")])
    assert_refused(archive, str(tmp_path / "out"), "bundles hold no links")


@pytest.mark.parametrize("kind", [tarfile.CHRTYPE, tarfile.BLKTYPE, tarfile.FIFOTYPE])
def test_devices_and_fifos_are_refused(tmp_path, kind):
    archive = write_tar(str(tmp_path / "a.tar.gz"), [(_info("dev", kind), None)])
    assert_refused(archive, str(tmp_path / "out"), "device")


def test_too_many_members_are_refused(tmp_path):
    path = str(tmp_path / "many.tar.gz")
    with open(path, "wb") as f:
        comp = zlib.compressobj(1, zlib.DEFLATED, 31)
        for i in range(100_000):
            f.write(comp.compress(_info(f"f{i}").tobuf(tarfile.USTAR_FORMAT)))
        f.write(comp.compress(b"\0" * 1024) + comp.flush())
    assert_refused(path, str(tmp_path / "out"), "more than 20000 members")


def test_gzip_bomb_is_refused(tmp_path):
    """256 MiB of zeros in a few hundred KiB: stopped by the size cap before it is written."""
    path = str(tmp_path / "bomb.tar.gz")
    zeros = bytes(1 << 20)
    with open(path, "wb") as f:
        comp = zlib.compressobj(9, zlib.DEFLATED, 31)
        f.write(comp.compress(_info("bomb", size=256 << 20).tobuf(tarfile.USTAR_FORMAT)))
        for _ in range(256):
            f.write(comp.compress(zeros))
        f.write(comp.compress(b"\0" * 1024) + comp.flush())
    assert os.path.getsize(path) < 1 << 20
    assert_refused(path, str(tmp_path / "out"), "more than", Limits(max_bytes=16 << 20, max_members=100))


def test_oversized_tar_header_is_refused(tmp_path):
    info = _info("x", size=1)
    info.pax_headers = {"comment": "y" * (8 << 20)}
    path = str(tmp_path / "pax.tar.gz")
    with tarfile.open(path, "w:gz", format=tarfile.PAX_FORMAT, compresslevel=1) as tar:
        tar.addfile(info, io.BytesIO(b"x"))
    assert_refused(path, str(tmp_path / "out"), "oversized tar header")


def test_duplicate_and_corrupt_archives_are_refused(tmp_path):
    dup = write_tar(str(tmp_path / "dup.tar.gz"), [(_info("a", size=1), b"1"), (_info("a", size=1), b"2")])
    assert_refused(dup, str(tmp_path / "out"), "twice")
    corrupt = tmp_path / "corrupt.tar.gz"
    corrupt.write_bytes(open(dup, "rb").read()[:40])
    assert_refused(str(corrupt), str(tmp_path / "out"), "not a valid bundle archive")


def test_a_pushed_archive_extracts_and_is_plain_tar_gz(tmp_path, make_bundle):
    bundle = make_bundle("Iris", blob_size=3 << 20)
    archive = tmp_path / "bundle.tar.gz"
    with open(archive, "wb") as f:
        for chunk in ArchiveStream(bundle):
            assert len(chunk) <= 1 << 20
            f.write(chunk)
    safe_extract(str(archive), str(tmp_path / "out"), DEFAULT)
    from bento.bundle.manifest import verify_manifest

    verify_manifest(str(tmp_path / "out"))
    if shutil.which("tar"):  # any gzip reader takes the multi-member stream
        listing = subprocess.run(["tar", "tzf", str(archive)], check=True, capture_output=True, text=True).stdout
        assert "Iris/artifacts/blob.pkl" in listing.split()
