"""The test fixtures' own port choice: CI once failed because PostgreSQL's port was the local end
of an outgoing connection (free to a connect test, taken for bind)."""
from __future__ import annotations

import socket

from yatai_testing import _free_base


def test_a_port_held_by_an_outgoing_connection_is_not_chosen():
    with socket.socket() as server, socket.socket() as client:
        server.bind(("127.0.0.1", 0))
        server.listen()
        base = _free_base(25600, 1)
        client.bind(("127.0.0.1", base))
        client.connect(server.getsockname())
        with socket.socket() as probe:
            assert probe.connect_ex(("127.0.0.1", base)) != 0  # nothing listens there
        assert _free_base(base, 1) != base
