"""The design question of issue 19, kept runnable: bento's WSGI app (the one waitress serves) on
granian's own WSGI server, where every request waiting for its batch blocks one of granian's
blocking threads, against `bento serve --engine granian` (the ASGI app, requests awaiting their
batch on one event loop). Run both with the same load (wrk) in the same minute:

    python granian_wsgi.py BUNDLE PORT THREADS        # e.g. 64: enough threads for batches to form
"""
import os
import sys

from bento_server.app import BentoApp
from bento_server.config import BatchingConfig, ServerConfig


def app():
    """granian's factory: the bundle's WSGI app, loaded in granian's worker."""
    import bento

    service = bento.load(os.environ["GRANIAN_WSGI_BUNDLE"])
    threads = int(os.environ["GRANIAN_WSGI_THREADS"])
    return BentoApp(service, ServerConfig(threads=threads), BatchingConfig()).wsgi


if __name__ == "__main__":
    from granian.constants import Interfaces
    from granian.server import Server

    bundle, port, threads = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    os.environ.update(GRANIAN_WSGI_BUNDLE=bundle, GRANIAN_WSGI_THREADS=str(threads))
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    Server("granian_wsgi:app", factory=True, address="127.0.0.1", port=port, interface=Interfaces.WSGI,
           workers=1, blocking_threads=threads, backpressure=max(threads, 128), websockets=False,
           log_enabled=False).serve()
