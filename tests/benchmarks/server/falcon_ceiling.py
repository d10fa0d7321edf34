"""The ceiling of each HTTP engine: a trivial Falcon JSON echo (no model, no adapter, no bento),
served by the engine as its own users would run it.

    python falcon_ceiling.py PORT                      # waitress, 8 threads (Falcon WSGI app)
    python falcon_ceiling.py PORT granian [WORKERS]    # granian, the Falcon ASGI app, 1 thread per worker

The granian ceiling is the interface bento's granian engine serves (ASGI, one event loop per
worker, uvloop); `bento serve --engine granian`'s overhead per request is measured against it.
"""
import sys

import falcon
import falcon.asgi
import orjson


class Echo:
    def on_post(self, req, resp):
        resp.data = orjson.dumps(orjson.loads(req.bounded_stream.read()))
        resp.content_type = "application/json"


class AsyncEcho:
    async def on_post(self, req, resp):
        resp.data = orjson.dumps(orjson.loads(await req.stream.read()))
        resp.content_type = "application/json"


app = falcon.App()
app.add_route("/predict", Echo())
asgi_app = falcon.asgi.App()
asgi_app.add_route("/predict", AsyncEcho())

if __name__ == "__main__":
    port, engine = int(sys.argv[1]), sys.argv[2] if len(sys.argv) > 2 else "waitress"
    if engine == "waitress":
        from waitress import serve

        serve(app, host="127.0.0.1", port=port, threads=8, connection_limit=1000, _quiet=True)
    else:
        import os

        from granian.constants import Interfaces, Loops
        from granian.server import Server

        sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
        Server("falcon_ceiling:asgi_app", address="127.0.0.1", port=port, interface=Interfaces.ASGINL,
               workers=int(sys.argv[3]) if len(sys.argv) > 3 else 1, loop=Loops.uvloop, websockets=False,
               log_enabled=False).serve()
