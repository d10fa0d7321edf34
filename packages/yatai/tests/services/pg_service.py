"""A throwaway PostgreSQL cluster on 127.0.0.1 for the tests and the benchmark.

The binaries come from the system (Debian's postgresql package) when it is installed, else from
the `pgserver` wheel (PostgreSQL 16 in a pip package), so a machine with nothing but Python runs
every PostgreSQL test. BENTO_TEST_POSTGRES=system|pgserver forces one source.

initdb and pg_ctl refuse to run as root, so as root the cluster runs through runuser as an
unprivileged user on a data directory that user owns: `postgres` (made by the Debian package) or
`pgserver` (made by pgserver's own helper, which also opens the wheel's files to that user).
"""
from __future__ import annotations

import glob
import os
import shutil
import subprocess
import tempfile
from typing import Optional

__all__ = ["PostgresServer", "SOURCES", "chosen_source"]

SOURCES = ("system", "pgserver")
ENV_VAR = "BENTO_TEST_POSTGRES"


def _system_bin_dir() -> Optional[str]:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"), key=lambda p: int(p.split("/")[4]))
    if found:
        return os.path.dirname(found[-1])
    pg_ctl = shutil.which("pg_ctl")
    return os.path.dirname(os.path.realpath(pg_ctl)) if pg_ctl else None


def chosen_source() -> str:
    """`system` when its binaries are installed, else `pgserver`; BENTO_TEST_POSTGRES overrides."""
    forced = os.environ.get(ENV_VAR)
    if forced:
        if forced not in SOURCES:
            raise ValueError(f"{ENV_VAR}={forced!r}: use one of {', '.join(SOURCES)}")
        return forced
    return "system" if _system_bin_dir() else "pgserver"


def _binaries(source: str) -> tuple:
    """(bin dir, user to run as or None) for `source`; prepares that user when running as root."""
    root = os.geteuid() == 0
    if source == "system":
        bin_dir = _system_bin_dir()
        if bin_dir is None:
            raise RuntimeError(f"{ENV_VAR}=system but PostgreSQL is not installed "
                               "(apt-get install -y --no-install-recommends postgresql)")
        return bin_dir, "postgres" if root else None
    import stat
    import warnings
    from pathlib import Path

    with warnings.catch_warnings():  # its platformdirs import warns that XDG_RUNTIME_DIR is unset; we use no runtime dir
        warnings.filterwarnings("ignore", message="XDG_RUNTIME_DIR is not set")
        import pgserver

    bin_dir = Path(pgserver.__file__).parent / "pginstall" / "bin"
    if not root:
        return str(bin_dir), None
    from pgserver.utils import ensure_folder_permissions, ensure_prefix_permissions, ensure_user_exists

    ensure_user_exists("pgserver")
    ensure_prefix_permissions(bin_dir)
    ensure_folder_permissions(bin_dir, stat.S_IRGRP | stat.S_IROTH | stat.S_IXGRP | stat.S_IXOTH)
    ensure_folder_permissions(bin_dir.parent / "lib", stat.S_IRGRP | stat.S_IROTH)
    return str(bin_dir), "pgserver"


class PostgresServer:
    """One cluster in `base_dir` listening on 127.0.0.1:`port`, trust auth, fsync off (tests only)."""

    def __init__(self, base_dir: Optional[str] = None, port: int = 25432, source: Optional[str] = None) -> None:
        self.base_dir = base_dir or tempfile.mkdtemp(prefix="bento-pg-")
        self.data_dir = os.path.join(self.base_dir, "data")
        self.log_path = os.path.join(self.base_dir, "log")
        self.port = port
        self.source = source or chosen_source()
        self.bin, self.user = _binaries(self.source)

    def _run(self, *cmd: str, check: bool = True) -> subprocess.CompletedProcess:
        argv = [os.path.join(self.bin, cmd[0]), *cmd[1:]]
        if self.user:
            argv = ["runuser", "-u", self.user, "--", *argv]
        return subprocess.run(argv, check=check, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)

    def init(self) -> None:
        if os.path.exists(os.path.join(self.data_dir, "PG_VERSION")):
            return
        os.makedirs(self.data_dir, exist_ok=True)
        if self.user:
            shutil.chown(self.base_dir, self.user)
            shutil.chown(self.data_dir, self.user)
        self._run("initdb", "-D", self.data_dir, "-U", "postgres", "-A", "trust", "--no-sync")

    def start(self) -> "PostgresServer":
        """Start and wait until it accepts connections; raises with the server's own log if it does not."""
        self.init()
        opts = (f"-c listen_addresses=127.0.0.1 -p {self.port} -k {self.base_dir} -c fsync=off "
                "-c synchronous_commit=off -c full_page_writes=off -c max_connections=200")
        started = self._run("pg_ctl", "-D", self.data_dir, "-w", "-t", "120", "-l", self.log_path, "-o", opts,
                            "start", check=False)
        if started.returncode:
            raise RuntimeError(f"PostgreSQL ({self.source}, {self.bin}) did not start on 127.0.0.1:{self.port}: "
                               f"{started.stdout.strip()}\n{self.log()[-2000:]}")
        return self

    def log(self) -> str:
        if not os.path.exists(self.log_path):
            return ""
        with open(self.log_path, errors="replace") as f:
            return f.read()

    def stop(self, mode: str = "fast") -> None:
        self._run("pg_ctl", "-D", self.data_dir, "-w", "-t", "120", "-m", mode, "stop", check=False)

    def restart(self) -> None:
        self.stop()
        self.start()

    def url(self, dbname: str = "postgres") -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/{dbname}"

    def create_database(self, name: str) -> str:
        """A new empty database (dropped first if it exists); returns its URL."""
        import psycopg2

        conn = psycopg2.connect(host="127.0.0.1", port=self.port, user="postgres", dbname="postgres")
        conn.autocommit = True
        with conn.cursor() as cur:
            cur.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            cur.execute(f'CREATE DATABASE "{name}"')
        conn.close()
        return self.url(name)

    def destroy(self) -> None:
        self.stop("immediate")
        shutil.rmtree(self.base_dir, ignore_errors=True)
