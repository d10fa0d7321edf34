"""The supervisor of one local deployment: a small detached process that runs `bento serve` on
127.0.0.1, restarts it when it dies, and gives up with a reason (instead of looping quietly)
when the bundle cannot be served. It writes what happens to a state file, which is how the CLI,
from any later process, reports the deployment.

Run as `python -m bento_deploy.supervisor --dir RUN_DIR --bundle DIR --port N`; it forks
into its own session and the first process exits once the supervisor's pid file is written.
"""
from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Optional

from .files import write_json
from .process import HOST, http_status, kill_group

__all__ = ["PID_FILE", "STATE_FILE", "SERVER_LOG", "SUPERVISOR_LOG", "STOP_GRACE", "main"]

PID_FILE = "supervisor.pid"
STATE_FILE = "state.json"
SERVER_LOG = "server.log"
SUPERVISOR_LOG = "supervisor.log"
STOP_GRACE = 10.0  # seconds a server gets to drain after SIGTERM before SIGKILL
MAX_FAILED_RESTARTS = 5  # consecutive restarts that never became ready before giving up
POLL = 0.05


def _describe_exit(code: int) -> str:
    if code < 0:
        try:
            return f"killed by {signal.Signals(-code).name}"
        except ValueError:
            return f"killed by signal {-code}"
    return f"exit code {code}"


def _last_error(log: Path, offset: int) -> str:
    """The most telling line the server wrote since `offset`: its last `Error` line, else its last line."""
    try:
        with open(log, "rb") as f:
            f.seek(max(offset, os.path.getsize(log) - 65536))
            lines = [ln.strip() for ln in f.read().decode("utf-8", "replace").splitlines() if ln.strip()]
    except OSError:
        return ""
    errors = [ln for ln in lines if "Error" in ln or "error:" in ln]
    return (errors or lines or [""])[-1][:500]


class Supervisor:
    """Keeps one server process alive; `run()` returns the supervisor's exit code."""

    def __init__(self, run_dir: Path, bundle: str, port: int, workers: Optional[int], startup_timeout: float) -> None:
        self.run_dir, self.bundle, self.port = run_dir, bundle, port
        self.workers, self.startup_timeout = workers, startup_timeout
        self.proc: Optional[subprocess.Popen] = None
        self.stopping = False
        self.restarts = 0
        self.log_offset = 0

    def command(self) -> list:
        cmd = [sys.executable, "-m", "bento.cli", "serve", self.bundle, "--host", HOST, "--port", str(self.port)]
        return cmd + (["--workers", str(self.workers)] if self.workers else [])

    def write_state(self, status: str, reason: Optional[str] = None) -> None:
        write_json(self.run_dir / STATE_FILE, {
            "status": status, "reason": reason, "supervisor_pid": os.getpid(),
            "server_pid": self.proc.pid if self.proc else None, "port": self.port, "bundle": self.bundle,
            "restarts": self.restarts, "updated_at": datetime.now(timezone.utc).isoformat(timespec="milliseconds")})

    def say(self, message: str) -> None:
        print(f"{datetime.now(timezone.utc).isoformat(timespec='milliseconds')} {message}", flush=True)

    def spawn(self) -> None:
        log = self.run_dir / SERVER_LOG
        self.log_offset = log.stat().st_size if log.exists() else 0
        with open(log, "ab") as out:
            # Its own session, so stopping it also stops any worker processes it forks.
            self.proc = subprocess.Popen(self.command(), stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
                                         cwd=self.run_dir, start_new_session=True)
        self.say(f"started server pid {self.proc.pid}: {' '.join(self.command())}")

    def wait_ready(self) -> Optional[str]:
        """None once /readyz answers 200; else why the server will not become ready."""
        assert self.proc is not None
        deadline = time.monotonic() + self.startup_timeout
        url = f"http://{HOST}:{self.port}/readyz"
        while not self.stopping:
            code = self.proc.poll()
            if code is not None:
                detail = _last_error(self.run_dir / SERVER_LOG, self.log_offset)
                return f"server exited ({_describe_exit(code)}) before it was ready" + (f": {detail}" if detail else "")
            if http_status(url, timeout=0.5) == 200:
                return None
            if time.monotonic() > deadline:
                self.stop_server()
                return f"server not ready after {self.startup_timeout:g} s (see {self.run_dir / SERVER_LOG})"
            time.sleep(POLL)
        return "stopping"

    def stop_server(self) -> None:
        """SIGTERM so the server drains, SIGKILL for its whole group after STOP_GRACE."""
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.terminate()
        try:
            self.proc.wait(STOP_GRACE)
        except subprocess.TimeoutExpired:
            kill_group(self.proc.pid)
            self.proc.wait()

    def on_signal(self, signum: int, frame: object) -> None:
        self.stopping = True
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()

    def pause(self, seconds: float) -> None:
        deadline = time.monotonic() + seconds
        while not self.stopping and time.monotonic() < deadline:
            time.sleep(POLL)

    def give_up(self, reason: str) -> int:
        self.say(f"giving up: {reason}")
        self.write_state("failed", reason)
        return 1

    def run(self) -> int:
        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, self.on_signal)
        signal.signal(signal.SIGHUP, signal.SIG_IGN)
        ever_ready, failed_restarts, problem = False, 0, None
        while not self.stopping:
            self.spawn()
            self.write_state("restarting" if ever_ready else "starting", problem)
            problem = self.wait_ready()
            if self.stopping:
                break
            if problem is None:
                ever_ready, failed_restarts = True, 0
                self.write_state("running")
                self.say("server ready")
                code = self.proc.wait()
                if self.stopping:
                    break
                problem = f"server exited ({_describe_exit(code)})"
            elif not ever_ready:  # the first start failing is the bundle or the port, not bad luck
                return self.give_up(problem)
            else:
                failed_restarts += 1
                if failed_restarts >= MAX_FAILED_RESTARTS:
                    return self.give_up(f"{failed_restarts} restarts failed, the last: {problem}")
                self.write_state("restarting", problem)
                self.pause(min(30.0, 0.5 * 2 ** failed_restarts))
            self.restarts += 1
            self.say(f"{problem}; restarting")
        self.stop_server()
        self.write_state("stopped")
        self.say("stopped")
        return 0


def main(argv: Optional[list] = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bento_deploy.supervisor")
    parser.add_argument("--dir", required=True, type=Path, help="the deployment's run directory")
    parser.add_argument("--bundle", required=True)
    parser.add_argument("--port", required=True, type=int)
    parser.add_argument("--workers", type=int, default=None)
    parser.add_argument("--startup-timeout", type=float, default=120.0)
    args = parser.parse_args(argv)
    run_dir = args.dir.resolve()
    pid = os.fork()
    if pid:  # the launcher: record the supervisor's pid, then let the CLI reap us at once
        write_json(run_dir / PID_FILE, pid)
        os._exit(0)
    os.setsid()
    os.chdir(run_dir)
    supervisor = Supervisor(run_dir, args.bundle, args.port, args.workers, args.startup_timeout)
    sys.exit(supervisor.run())


if __name__ == "__main__":
    main()
