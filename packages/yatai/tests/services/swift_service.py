"""A throwaway S3-compatible store: OpenStack Swift with s3api (Debian's swift packages) + memcached.

Everything lives under one base directory (configs, rings, the device, pid files, logs), so
/etc/swift is never touched. One account, container and object server plus the proxy, all on
127.0.0.1. Rings are cached per port set (building them takes about 8 s). Usable as a module
(SwiftStore) or a script:

    python swift_service.py start --dir /tmp/bento-swift --port 9310   # prints endpoint and credentials
    python swift_service.py stop --dir /tmp/bento-swift
"""
from __future__ import annotations

import argparse
import getpass
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
from typing import Optional

__all__ = ["SwiftStore", "missing_reason"]

ACCESS_KEY = "test:tester"
SECRET_KEY = "testing"
SERVERS = ("account", "container", "object")
BINARIES = ("swift-ring-builder", "swift-proxy-server", "swift-account-server", "swift-container-server",
            "swift-object-server", "memcached")

_SWIFT_CONF = """[swift-hash]
swift_hash_path_prefix = bento
swift_hash_path_suffix = tests

[storage-policy:0]
name = Policy-0
default = yes
"""

_SERVER_CONF = """[DEFAULT]
bind_ip = 127.0.0.1
bind_port = {port}
workers = 1
user = {user}
swift_dir = {etc}
devices = {srv}
mount_check = false
log_level = WARNING

[pipeline:main]
pipeline = healthcheck {kind}-server

[filter:healthcheck]
use = egg:swift#healthcheck

[app:{kind}-server]
use = egg:swift#{kind}
"""

_PROXY_CONF = """[DEFAULT]
bind_ip = 127.0.0.1
bind_port = {port}
workers = 1
user = {user}
swift_dir = {etc}
log_level = WARNING

[pipeline:main]
pipeline = catch_errors gatekeeper healthcheck proxy-logging cache listing_formats bulk s3api tempauth copy slo dlo proxy-logging proxy-server

[app:proxy-server]
use = egg:swift#proxy
account_autocreate = true

[filter:s3api]
use = egg:swift#s3api
location = us-east-1
s3_acl = false

[filter:tempauth]
use = egg:swift#tempauth
user_test_tester = testing .admin

[filter:cache]
use = egg:swift#memcache
memcache_servers = 127.0.0.1:{memcached_port}
""" + "".join(f"\n[filter:{name}]\nuse = egg:swift#{egg}\n" for name, egg in (
    ("catch_errors", "catch_errors"), ("gatekeeper", "gatekeeper"), ("healthcheck", "healthcheck"),
    ("proxy-logging", "proxy_logging"), ("listing_formats", "listing_formats"), ("bulk", "bulk"),
    ("copy", "copy"), ("slo", "slo"), ("dlo", "dlo")))


def missing_reason() -> Optional[str]:
    """Why S3 tests cannot run here, or None when Swift and memcached are installed."""
    missing = [b for b in BINARIES if shutil.which(b) is None]
    if missing:
        return ("Swift/memcached not installed (missing " + ", ".join(missing) + "): apt-get install -y "
                "--no-install-recommends swift swift-proxy swift-account swift-container swift-object memcached")
    return None


class SwiftStore:
    """Ports: proxy `port`, memcached port+1, account/container/object port+2..port+4."""

    def __init__(self, base_dir: Optional[str] = None, port: int = 9310) -> None:
        self.base_dir = base_dir or tempfile.mkdtemp(prefix="bento-swift-")
        self.port = port
        self.etc = os.path.join(self.base_dir, "etc")
        self.srv = os.path.join(self.base_dir, "srv")
        self.run_dir = os.path.join(self.base_dir, "run")
        self.ports = {"proxy": port, "memcached": port + 1,
                      **{kind: port + 2 + i for i, kind in enumerate(SERVERS)}}

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    # -- layout
    def setup(self) -> None:
        for d in (self.etc, os.path.join(self.srv, "d1"), self.run_dir):
            os.makedirs(d, exist_ok=True)
        fmt = {"user": getpass.getuser(), "etc": self.etc, "srv": self.srv, "memcached_port": self.ports["memcached"]}
        with open(os.path.join(self.etc, "swift.conf"), "w") as f:
            f.write(_SWIFT_CONF)
        for kind in SERVERS:
            with open(os.path.join(self.etc, f"{kind}-server.conf"), "w") as f:
                f.write(_SERVER_CONF.format(kind=kind, port=self.ports[kind], **fmt))
        with open(os.path.join(self.etc, "proxy-server.conf"), "w") as f:
            f.write(_PROXY_CONF.format(port=self.port, **fmt))
        self._rings()

    def _rings(self) -> None:
        """Build the three rings, or copy them from the cache for this port set."""
        key = "-".join(str(self.ports[k]) for k in SERVERS)
        cache = os.path.join(os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"),
                             "bento-tests", "swift-rings", key)
        names = [f"{kind}.ring.gz" for kind in SERVERS]
        if not all(os.path.exists(os.path.join(cache, n)) for n in names):
            os.makedirs(cache, exist_ok=True)
            for kind in SERVERS:
                builder = os.path.join(cache, f"{kind}.builder")
                for args in (["create", "0", "1", "1"], ["add", f"r1z1-127.0.0.1:{self.ports[kind]}/d1", "1"],
                             ["rebalance"]):
                    # rebalance exits 1 with a warning on a one-device ring; the ring is still written
                    subprocess.run(["swift-ring-builder", builder, *args], stdout=subprocess.DEVNULL,
                                   stderr=subprocess.DEVNULL, check=False)
        for n in names:
            shutil.copy(os.path.join(cache, n), os.path.join(self.etc, n))

    # -- processes
    def _pidfile(self, name: str) -> str:
        return os.path.join(self.run_dir, f"{name}.pid")

    def _spawn(self, name: str, argv: list) -> None:
        log = open(os.path.join(self.run_dir, f"{name}.log"), "ab")
        proc = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                start_new_session=True)
        log.close()
        with open(self._pidfile(name), "w") as f:
            f.write(str(proc.pid))

    def _kill(self, name: str, sig: int = signal.SIGTERM) -> None:
        try:
            with open(self._pidfile(name)) as f:
                pid = int(f.read())
        except (OSError, ValueError):
            return
        try:
            os.killpg(pid, sig)
        except ProcessLookupError:
            pass
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                os.kill(pid, 0)
                waited, _ = os.waitpid(pid, os.WNOHANG)
                if waited:
                    break
            except (ProcessLookupError, ChildProcessError):
                break
            time.sleep(0.05)
        os.unlink(self._pidfile(name))

    def start(self, timeout: float = 60.0) -> "SwiftStore":
        import socket

        for name, port in self.ports.items():
            with socket.socket() as sock:
                if sock.connect_ex(("127.0.0.1", port)) == 0:
                    raise RuntimeError(f"port {port} (for {name}) is already in use: choose another --port")
        self.setup()
        self._spawn("memcached", ["memcached", "-l", "127.0.0.1", "-p", str(self.ports["memcached"]), "-U", "0",
                                  "-u", "nobody" if os.geteuid() == 0 else getpass.getuser()])
        for kind in SERVERS:
            self._spawn(kind, [f"swift-{kind}-server", os.path.join(self.etc, f"{kind}-server.conf"), "-v"])
        self.start_proxy(timeout)
        return self

    def start_proxy(self, timeout: float = 60.0) -> None:
        self._spawn("proxy", ["swift-proxy-server", os.path.join(self.etc, "proxy-server.conf"), "-v"])
        self.wait_healthy(timeout)

    def stop_proxy(self) -> None:
        """Take the S3 endpoint down (the fault the registry must report as UNAVAILABLE)."""
        self._kill("proxy", signal.SIGKILL)

    def wait_healthy(self, timeout: float = 60.0) -> None:
        """Until the proxy and every backend server answer /healthcheck."""
        deadline = time.monotonic() + timeout
        for name in ("proxy", *SERVERS):
            while True:
                try:
                    with urllib.request.urlopen(f"http://127.0.0.1:{self.ports[name]}/healthcheck", timeout=2) as r:
                        if r.status == 200:
                            break
                except OSError:
                    pass
                if time.monotonic() > deadline:
                    raise TimeoutError(f"Swift {name} on port {self.ports[name]} not healthy after {timeout:.0f}s; "
                                       f"logs in {self.run_dir}")
                time.sleep(0.2)

    def stop(self) -> None:
        for name in ("proxy", *SERVERS, "memcached"):
            self._kill(name)

    def destroy(self) -> None:
        self.stop()
        shutil.rmtree(self.base_dir, ignore_errors=True)


def main(argv: Optional[list] = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("action", choices=["start", "stop"])
    parser.add_argument("--dir", required=True, help="Base directory for configs, rings, data and logs.")
    parser.add_argument("--port", type=int, default=9310, help="Proxy port; the next four ports are used too.")
    args = parser.parse_args(argv)
    reason = missing_reason()
    if reason:
        sys.exit(reason)
    store = SwiftStore(args.dir, args.port)
    if args.action == "start":
        store.start()
        print(f"endpoint={store.endpoint} access_key={ACCESS_KEY} secret_key={SECRET_KEY}")
    else:
        store.stop()


if __name__ == "__main__":
    main()
