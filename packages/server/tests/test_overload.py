"""A burst that outruns the latency bound: the model keeps serving (goodput is never 0), the rest
get 503 + Retry-After, nothing else."""
from __future__ import annotations

import json
import socket

BURST = 200


def _burst(port: int, path: str, body: bytes) -> list:
    """Open BURST connections, send one request on each as fast as possible, read every answer."""
    request = (f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
               f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n").encode() + body
    conns = [socket.create_connection(("127.0.0.1", port), timeout=120) for _ in range(BURST)]
    for conn in conns:
        conn.sendall(request)
    statuses = []
    for conn in conns:
        with conn:
            data = b""
            while chunk := conn.recv(65536):
                data += chunk
        statuses.append(int(data.split(b" ", 2)[1]) if data else None)
    return statuses


def test_a_burst_on_an_idle_model_is_served_not_refused_as_a_whole(quirks_bundle, serve_process, post_json):
    """Every request is read long after the kernel received it (one I/O thread reads 200 of
    them), so each has missed its 1 ms bound: the idle model still serves, the rest are shed."""
    server = serve_process([quirks_bundle, "--mb-max-latency", "1", "--threads", "256"]).wait_ready()
    statuses = _burst(server.port, "/echo", json.dumps({"sleep": 0.005}).encode())
    served = statuses.count(200)
    assert served >= 1, statuses
    assert served + statuses.count(503) == BURST, statuses
    assert post_json(f"{server.url}/echo", 1).json() == 1  # and it still serves a lone request
