"""`bento serve` as users run it: a subprocess on 127.0.0.1, loading, workers, SIGTERM."""
from __future__ import annotations

import json
import os
import signal
import socket
import threading
import time

import pytest
import requests
from bento.plugins import get_plugin_manager
from click.testing import CliRunner

from bento_server.engine import http_engine

ROWS = [[5.1, 3.5, 1.4, 0.2]]


def children(pid: int) -> set:
    with open(f"/proc/{pid}/task/{pid}/children") as f:
        return {int(p) for p in f.read().split()}


def test_serve_a_bundle_readyz_503_while_loading(serve_process, iris_bundle, post_json):
    p = serve_process([iris_bundle], env={"SRV_IMPORT_DELAY": "2"})
    deadline = time.monotonic() + 60
    while True:  # the socket listens before the bundle has loaded
        try:
            r = requests.get(p.url + "/readyz", timeout=30)
            break
        except requests.ConnectionError:
            assert time.monotonic() < deadline
            time.sleep(0.05)
    assert r.status_code == 503 and r.headers["Retry-After"] == "1" and "loading" in r.json()["error"]
    assert requests.get(p.url + "/healthz").status_code == 200
    early = post_json(p.url + "/predict", ROWS)
    assert early.status_code == 503 and early.json()["request_id"] == early.headers["X-Request-Id"]
    p.wait_ready()
    assert post_json(p.url + "/predict", ROWS).json() == [0]
    assert p.stop() == 0


@pytest.mark.parametrize("where", ["path", "tag"])
def test_a_bundle_that_cannot_be_found_is_one_line_and_exit_1_before_listening(serve_process, tmp_path, where):
    bundle = str(tmp_path / "missing") if where == "path" else "missing_service:1.0"
    p = serve_process([bundle], env={"BENTO_HOME": str(tmp_path / "home")})
    assert p.proc.wait(60) == 1
    out = p.output().strip().splitlines()
    assert out[-1].startswith("Error: ") and "missing" in out[-1], out
    assert "Traceback" not in "\n".join(out) and not any("listening" in line for line in out), out


@pytest.mark.parametrize("how", ["load fails", "SIGTERM while loading", "SIGTERM after serving"])
def test_workers_leave_no_metrics_directory_behind(serve_process, iris_bundle, tmp_path, how):
    """`--workers 2` keeps the workers' Prometheus files in a temporary directory of its own; it
    is removed however the server ends, short of SIGKILL."""
    tmp = tmp_path / "tmp"
    tmp.mkdir()
    env = {"TMPDIR": str(tmp), "SRV_IMPORT_DELAY": "3" if how == "SIGTERM while loading" else "0"}
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "bento.yml").write_text("name: [not, a, name]\n")
    bundle = str(broken) if how == "load fails" else iris_bundle
    p = serve_process([bundle, "--workers", "2"], env=env)
    if how == "load fails":
        assert p.proc.wait(60) == 1
        assert "is not a bundle" in p.output()
    elif how == "SIGTERM while loading":
        deadline = time.monotonic() + 60
        while True:  # answering /readyz, so its signal handlers are in place
            try:
                if requests.get(p.url + "/readyz", timeout=30).status_code == 503:
                    break
            except requests.ConnectionError:
                pass
            assert p.proc.poll() is None and time.monotonic() < deadline, p.output()
            time.sleep(0.05)
        assert list(tmp.glob("bento-metrics-*"))  # made before the bundle loads
        assert p.stop() == 0, p.output()
    else:
        p.wait_ready()
        assert p.stop() == 0, p.output()
    assert not list(tmp.glob("bento-metrics-*")), p.output()


def test_flags_override_environment_override_config_file(tmp_path, monkeypatch):
    """Precedence of SPEC §8, through the real `bento` CLI and the core config loader."""
    from bento.cli import make_cli
    from bento.plugins import get_plugin_manager

    import bento_server.lifecycle as lifecycle

    (tmp_path / "config.toml").write_text("[server]\nport = 7000\nthreads = 3\ntimeout = 9\n"
                                          "[batching]\nmb_max_latency = 111\n")
    monkeypatch.setenv("BENTO_HOME", str(tmp_path))
    monkeypatch.setenv("BENTO_SERVER_THREADS", "5")
    monkeypatch.setenv("BENTO_BATCHING_MB_MAX_LATENCY", "222")
    seen = {}
    monkeypatch.setattr(lifecycle, "serve", lambda load, server, batching, engine: seen.update(
        server=server, batching=batching, engine=engine))
    result = CliRunner().invoke(make_cli(get_plugin_manager()), ["serve", str(tmp_path), "--threads", "7",
                                                                 "--disable-microbatch", "--engine", "waitress"])
    assert result.exit_code == 0, result.output
    server, batching = seen["server"], seen["batching"]
    assert (server.port, server.threads, server.timeout, server.host) == (7000, 7, 9.0, "127.0.0.1")
    assert (batching.mb_max_latency, batching.enabled) == (222, False)
    assert (server.engine, seen["engine"].__name__) == ("waitress", "HTTPServer")


def test_bad_config_value_is_one_line(tmp_path):
    import subprocess
    import sys

    r = subprocess.run([sys.executable, "-m", "bento.cli", "serve", "x"], capture_output=True, text=True, timeout=60,
                       env={**os.environ, "BENTO_HOME": str(tmp_path), "BENTO_SERVER_THREADS": "many"})
    assert r.returncode != 0 and r.stderr.startswith("Error: ") and "threads" in r.stderr
    assert len(r.stderr.strip().splitlines()) == 1


def _load(url: str, stop: threading.Event, outcomes: list, body=ROWS, path="/predict") -> None:
    """A client loop: keep-alive session, records every outcome until `stop`."""
    session = requests.Session()
    while not stop.is_set():
        try:
            r = session.post(url + path, data=json.dumps(body), headers={"Content-Type": "application/json"},
                             timeout=30)
            outcomes.append(r.status_code)
        except requests.ConnectionError as e:
            refused = "refused" in str(e).lower()
            outcomes.append("refused" if refused else f"dropped: {e}")
            if refused:
                return


@pytest.mark.parametrize("workers", [1, 2])
def test_sigterm_under_load_drops_no_accepted_request(serve_process, quirks_bundle, workers):
    p = serve_process([quirks_bundle, "--workers", str(workers)]).wait_ready()
    stop = threading.Event()
    outcomes: list = []
    clients = [threading.Thread(target=_load, args=(p.url, stop, outcomes, {"sleep": 0.05}, "/echo"))
               for _ in range(8)]
    for c in clients:
        c.start()
    time.sleep(1.0)
    before = len(outcomes)
    p.proc.send_signal(signal.SIGTERM)
    assert p.proc.wait(30) == 0
    stop.set()
    for c in clients:
        c.join(10)
    assert before > 5 and len(outcomes) > before
    problems = [o for o in outcomes if o not in (200, "refused")]
    assert problems == [], (problems, p.output()[-3000:])


def _two_workers(p) -> set:
    deadline = time.monotonic() + 60
    while len(children(p.proc.pid)) < 2:
        assert time.monotonic() < deadline
        time.sleep(0.05)
    return children(p.proc.pid)


def _replace_a_worker(p) -> None:
    """Kill one of two workers; return once the supervisor has forked its replacement."""
    victim = sorted(_two_workers(p))[0]
    os.kill(victim, signal.SIGKILL)
    deadline = time.monotonic() + 60
    while True:
        now = children(p.proc.pid)
        if len(now) == 2 and victim not in now:
            return
        assert time.monotonic() < deadline, now
        time.sleep(0.002)


def test_workers_share_one_socket_and_a_dead_worker_is_replaced(serve_process, iris_bundle, post_json):
    p = serve_process([iris_bundle, "--workers", "2"]).wait_ready()
    for _ in range(20):
        assert post_json(p.url + "/predict", ROWS).json() == [0]
    _replace_a_worker(p)
    for _ in range(20):
        assert post_json(p.url + "/predict", ROWS, headers={"Connection": "close"}).json() == [0]
    # /metrics merges the workers (prometheus multiprocess mode)
    text = ""
    for _ in range(4):
        text = requests.get(p.url + "/metrics", headers={"Connection": "close"}).text
    line = next(x for x in text.splitlines() if x.startswith('bento_requests_total{api="predict",status="200"}'))
    assert float(line.split()[-1]) >= 20
    assert p.stop() == 0


def _socket_inodes(pid: int) -> set:
    inodes = set()
    for fd in os.listdir(f"/proc/{pid}/fd"):
        try:
            target = os.readlink(f"/proc/{pid}/fd/{fd}")
        except OSError:
            continue
        if target.startswith("socket:["):
            inodes.add(target[8:-1])
    return inodes


def _connections_held(pid: int, port: int) -> int:
    """Established connections to `port` whose socket process `pid` holds."""
    with open("/proc/net/tcp") as f:
        rows = [line.split() for line in f.readlines()[1:]]
    mine = _socket_inodes(pid)
    return sum(1 for r in rows if int(r[1].split(":")[1], 16) == port and r[3] == "01" and r[9] in mine)


def test_two_workers_share_the_connections_opened_at_once(serve_process, iris_bundle, engine):
    """32 keep-alive connections opened at once, as a load generator does, are all served, and on
    an engine that takes every pending connection when it wakes (granian) they are spread over
    both workers: it gets a socket per worker, and the kernel spreads connections over them.
    waitress' workers share one socket and take one connection per wake-up each: which worker
    takes more depends on which one the scheduler runs, so only their sum is asserted there."""
    p = serve_process([iris_bundle, "--workers", "2"]).wait_ready()
    workers = _two_workers(p)
    body = json.dumps(ROWS).encode()
    request = (b"POST /predict HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
               b"Content-Length: %d\r\n\r\n%s" % (len(body), body))
    conns = [socket.create_connection(("127.0.0.1", p.port), timeout=30) for _ in range(32)]
    try:
        for conn in conns:
            conn.sendall(request)
        for conn in conns:
            assert conn.recv(65536).startswith(b"HTTP/1.1 200")
        held = [_connections_held(pid, p.port) for pid in workers]
        assert sum(held) == 32, held
        if http_engine(get_plugin_manager(), engine).socket_per_worker:
            assert min(held) > 0, held
    finally:
        for conn in conns:
            conn.close()


def test_sigterm_while_a_new_worker_starts_is_not_lost(serve_process, iris_bundle):
    # The stop signal reaches the new worker before it has its own handlers (it used to be lost
    # there, and the supervisor waited out the 30 s grace period before SIGKILL).
    p = serve_process([iris_bundle, "--workers", "2"]).wait_ready()
    _replace_a_worker(p)
    started = time.monotonic()
    p.proc.send_signal(signal.SIGTERM)
    assert p.proc.wait(30) == 0
    assert time.monotonic() - started < 10, p.output()[-2000:]


def _thread_cpus(pid: int) -> set:
    """The CPU sets of every thread of a process."""
    return {frozenset(os.sched_getaffinity(int(tid))) for tid in os.listdir(f"/proc/{pid}/task")}


def _thread_policies(pid: int) -> set:
    """The scheduling policies of every thread of a process."""
    return {os.sched_getscheduler(int(tid)) for tid in os.listdir(f"/proc/{pid}/task")}


@pytest.mark.platform("one CPU: nothing to pin")
@pytest.mark.skipif(len(os.sched_getaffinity(0)) < 2, reason="one CPU: nothing to pin")
def test_each_worker_runs_on_one_cpu_of_its_own_unless_turned_off(serve_process, iris_bundle, post_json):
    p = serve_process([iris_bundle, "--workers", "2"]).wait_ready()
    assert post_json(p.url + "/predict", ROWS).json() == [0]  # the request and runner threads exist
    pins = [_thread_cpus(pid) for pid in _two_workers(p)]
    assert all(len(cpus) == 1 and len(next(iter(cpus))) == 1 for cpus in pins), pins
    assert pins[0] != pins[1]
    # every thread, also those started after the pin (the engine's, the runners), never preempts on wake-up
    assert all(_thread_policies(pid) == {os.SCHED_BATCH} for pid in _two_workers(p))
    assert p.stop() == 0
    free = serve_process([iris_bundle, "--workers", "2", "--no-cpu-affinity"]).wait_ready()
    assert all(_thread_cpus(pid) == {frozenset(os.sched_getaffinity(0))} for pid in _two_workers(free))
    assert all(_thread_policies(pid) == {os.SCHED_OTHER} for pid in _two_workers(free))
    assert free.stop() == 0


@pytest.mark.platform("one CPU: nothing to pin")
@pytest.mark.skipif(len(os.sched_getaffinity(0)) < 2, reason="one CPU: nothing to pin")
def test_a_one_worker_server_runs_on_one_cpu_under_the_batch_policy(serve_process, iris_bundle, post_json):
    p = serve_process([iris_bundle]).wait_ready()
    assert post_json(p.url + "/predict", ROWS).json() == [0]
    cpus = _thread_cpus(p.proc.pid)
    assert len(cpus) == 1 and len(next(iter(cpus))) == 1, cpus
    assert _thread_policies(p.proc.pid) == {os.SCHED_BATCH}
    assert p.stop() == 0


def test_a_server_given_one_cpu_runs_under_the_batch_policy_too(serve_process, iris_bundle, post_json):
    """Nothing to pin (a container's one CPU), and still one CPU whose threads wake each other."""
    mine = os.sched_getaffinity(0)
    os.sched_setaffinity(0, {min(mine)})  # the server inherits it
    try:
        p = serve_process([iris_bundle])
    finally:
        os.sched_setaffinity(0, mine)
    p.wait_ready()
    assert post_json(p.url + "/predict", ROWS).json() == [0]
    assert _thread_cpus(p.proc.pid) == {frozenset({min(mine)})}
    assert _thread_policies(p.proc.pid) == {os.SCHED_BATCH}
    assert p.stop() == 0
    assert "(1 worker)" in p.output()  # nothing said about a CPU: the server was not moved
