"""The `local` platform: `bento serve` on 127.0.0.1 under a detached supervisor that restarts it.

Everything about a running deployment is in $BENTO_HOME/deployments/<name>/ (pid file, state
file, logs), so any later CLI process sees the real state: it checks that the supervisor still
runs and asks the server's /readyz.
"""
from __future__ import annotations

import shutil
import signal
import socket
import subprocess
import sys
from typing import Optional

from bento.deployer import Deployer, Deployment, DeploymentStatus, int_option
from bento.exceptions import AlreadyExists, BentoError

from .files import read_json
from .process import (HOST, check_port_free, free_port, http_status, kill_group, process_alive, send_signal,
                      wait_gone)
from .supervisor import PID_FILE, SERVER_LOG, STATE_FILE, STOP_GRACE, SUPERVISOR_LOG

__all__ = ["LocalDeployer"]

LAUNCH_TIMEOUT = 30.0


class LocalDeployer(Deployer):
    """Serves the bundle on this machine; the record remembers the host, port and processes."""

    OPTIONS = {
        "port": "port on 127.0.0.1 (default: a free one)",
        "workers": "server worker processes (default: the server's own)",
        "startup_timeout": "seconds the server may take to become ready (default 120)",
    }

    def create(self, deployment: Deployment, bundle_dir: str) -> DeploymentStatus:
        port = int_option(deployment.options, "port", high=65535) or free_port()
        return self._start(deployment, bundle_dir, port, self._checked_args(deployment, port, check_port=True))

    def update(self, old: Deployment, new: Deployment, bundle_dir: str) -> DeploymentStatus:
        """Restart with the new bundle and options, on the same port unless a new one is given;
        everything is checked before the old server stops."""
        self._check_host(old)
        port = int_option(new.options, "port", high=65535) or old.details.get("port") or free_port()
        args = self._checked_args(new, port, check_port=port != old.details.get("port"))
        self.delete(old)
        return self._start(new, bundle_dir, port, args)

    def _checked_args(self, deployment: Deployment, port: int, check_port: bool) -> list:
        """The supervisor's further options, once they are valid and the server can run."""
        if check_port:
            check_port_free(port)
        args = []
        for option in ("workers", "startup_timeout"):
            value = int_option(deployment.options, option)
            args += [f"--{option.replace('_', '-')}", str(value)] if value else []
        return args

    def _start(self, deployment: Deployment, bundle_dir: str, port: int, args: list) -> DeploymentStatus:
        rdir = self.workdir(deployment.name)
        pid = read_json(rdir / PID_FILE)
        if process_alive(pid, str(rdir)):
            raise AlreadyExists(f"a local server for '{deployment.name}' is still running (supervisor pid {pid}); "
                                f"stop it with `kill {pid}` or `bento deployment delete {deployment.name}`")
        shutil.rmtree(rdir, ignore_errors=True)
        rdir.mkdir(parents=True)
        cmd = [sys.executable, "-m", "bento_deploy.supervisor", "--dir", str(rdir), "--bundle", bundle_dir,
               "--port", str(port), *args]
        with open(rdir / SUPERVISOR_LOG, "ab") as log:
            launcher = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                                        cwd=rdir, start_new_session=True)
        try:
            code = launcher.wait(LAUNCH_TIMEOUT)
        except subprocess.TimeoutExpired:
            launcher.kill()
            code = launcher.wait()
        if code != 0 or read_json(rdir / PID_FILE) is None:
            raise BentoError(f"the supervisor of '{deployment.name}' did not start (exit {code}): "
                             f"see {rdir / SUPERVISOR_LOG}")
        details = {"host": socket.gethostname(), "port": port, "log": str(rdir / SERVER_LOG)}
        return DeploymentStatus(state="pending", endpoint=f"http://{HOST}:{port}", details=details)

    def get(self, deployment: Deployment) -> DeploymentStatus:
        if not self._on_this_host(deployment):
            return deployment.status  # another machine's processes: the last state it recorded
        rdir = self.workdir(deployment.name)
        pid = read_json(rdir / PID_FILE)
        run: dict = read_json(rdir / STATE_FILE) or {}
        details = {**deployment.details, "pid": pid, "server_pid": run.get("server_pid"),
                   "restarts": run.get("restarts", 0)}

        def status(state: str, error: Optional[str] = None) -> DeploymentStatus:
            return DeploymentStatus(state=state, endpoint=deployment.endpoint, error=error, details=details)

        if process_alive(pid, str(rdir)):
            # running = ready and known to be by the supervisor, which then restarts it if it dies
            if run.get("status") == "running" and http_status(f"{deployment.endpoint}/readyz") == 200:
                return status("running")
            return status("pending", run.get("reason") if run.get("status") == "restarting" else None)
        if run.get("status") == "failed":
            return status("error", run.get("reason"))
        if run.get("status") == "stopped":
            return status("stopped")
        return status("error", f"the supervisor process ({pid or 'no pid file'}) is gone: the machine restarted or "
                               f"it was killed; `bento deployment update {deployment.name}` starts it again")

    def delete(self, deployment: Deployment) -> None:
        """SIGTERM the supervisor (which drains the server), SIGKILL whatever is left; gone is fine."""
        self._check_host(deployment)
        rdir = self.workdir(deployment.name)
        pid = read_json(rdir / PID_FILE)
        server_pid = (read_json(rdir / STATE_FILE) or {}).get("server_pid")
        if process_alive(pid, str(rdir)):
            send_signal(pid, signal.SIGTERM)
            if not wait_gone(pid, STOP_GRACE + 5, str(rdir)):
                send_signal(pid, signal.SIGKILL)
        if process_alive(server_pid, str(rdir)):
            kill_group(server_pid)
            wait_gone(server_pid, 5, str(rdir))
        shutil.rmtree(rdir, ignore_errors=True)

    def _on_this_host(self, deployment: Deployment) -> bool:
        return deployment.details.get("host") in (None, socket.gethostname())

    def _check_host(self, deployment: Deployment) -> None:
        if not self._on_this_host(deployment):
            raise BentoError(f"deployment '{deployment.name}' runs on host {deployment.details['host']}: "
                             "update or delete it there")

