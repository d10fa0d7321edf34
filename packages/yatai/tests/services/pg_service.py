"""A throwaway PostgreSQL cluster for tests and CI (Debian's postgresql package, 15 or newer).

initdb and pg_ctl refuse to run as root, so as root they run as the `postgres` user through
runuser, on a data directory that user owns. Usable as a module (PostgresServer) or a script:

    python pg_service.py start --dir /tmp/bento-pg --port 25432   # prints the URL to use
    python pg_service.py stop --dir /tmp/bento-pg
"""
from __future__ import annotations

import argparse
import glob
import os
import shutil
import subprocess
import sys
import tempfile
from typing import Optional

__all__ = ["PostgresServer", "missing_reason"]


def _bin_dir() -> Optional[str]:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"), key=lambda p: int(p.split("/")[4]))
    if found:
        return os.path.dirname(found[-1])
    pg_ctl = shutil.which("pg_ctl")
    return os.path.dirname(pg_ctl) if pg_ctl else None


def missing_reason() -> Optional[str]:
    """Why PostgreSQL tests cannot run here, or None when the binaries are installed."""
    if _bin_dir() is None:
        return "PostgreSQL is not installed (apt-get install -y --no-install-recommends postgresql)"
    if os.geteuid() == 0 and shutil.which("runuser") is None:
        return "running as root needs runuser to start PostgreSQL as the postgres user"
    return None


class PostgresServer:
    """One cluster in `base_dir` listening on 127.0.0.1:`port`, trust auth, fsync off (tests only)."""

    def __init__(self, base_dir: Optional[str] = None, port: int = 25432) -> None:
        self.base_dir = base_dir or tempfile.mkdtemp(prefix="bento-pg-")
        self.data_dir = os.path.join(self.base_dir, "data")
        self.port = port
        self.bin = _bin_dir()

    def _run(self, *cmd: str, check: bool = True) -> subprocess.CompletedProcess:
        argv = [os.path.join(self.bin, cmd[0]), *cmd[1:]]
        if os.geteuid() == 0:
            argv = ["runuser", "-u", "postgres", "--", *argv]
        return subprocess.run(argv, check=check, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)

    def init(self) -> None:
        if os.path.exists(os.path.join(self.data_dir, "PG_VERSION")):
            return
        os.makedirs(self.data_dir, exist_ok=True)
        if os.geteuid() == 0:
            shutil.chown(self.base_dir, "postgres")
            shutil.chown(self.data_dir, "postgres")
        self._run("initdb", "-D", self.data_dir, "-U", "postgres", "-A", "trust", "--no-sync")

    def start(self) -> "PostgresServer":
        self.init()
        opts = (f"-c listen_addresses=127.0.0.1 -p {self.port} -k {self.base_dir} -c fsync=off "
                "-c synchronous_commit=off -c full_page_writes=off -c max_connections=200")
        log = os.path.join(self.base_dir, "log")
        started = self._run("pg_ctl", "-D", self.data_dir, "-w", "-t", "30", "-l", log, "-o", opts, "start",
                            check=False)
        if started.returncode:
            tail = ""
            if os.path.exists(log):
                with open(log) as f:
                    tail = f.read()[-2000:]
            raise RuntimeError(f"PostgreSQL did not start on 127.0.0.1:{self.port}: {started.stdout.strip()}\n{tail}")
        return self

    def stop(self, mode: str = "fast") -> None:
        self._run("pg_ctl", "-D", self.data_dir, "-w", "-m", mode, "stop", check=False)

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


def main(argv: Optional[list] = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("action", choices=["start", "stop"])
    parser.add_argument("--dir", required=True, help="Base directory (created; owned by postgres).")
    parser.add_argument("--port", type=int, default=25432)
    args = parser.parse_args(argv)
    reason = missing_reason()
    if reason:
        sys.exit(reason)
    server = PostgresServer(args.dir, args.port)
    if args.action == "start":
        os.makedirs(args.dir, exist_ok=True)
        server.start()
        print(server.url())
    else:
        server.stop()


if __name__ == "__main__":
    main()
