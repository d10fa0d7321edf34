"""The ceiling: a trivial Falcon JSON endpoint on waitress (no model, no adapter), same thread count as ours.

    python falcon_ceiling.py PORT
"""
import sys

import falcon
import orjson
from waitress import serve


class Echo:
    def on_post(self, req, resp):
        resp.data = orjson.dumps(orjson.loads(req.bounded_stream.read()))
        resp.content_type = "application/json"


app = falcon.App()
app.add_route("/predict", Echo())
serve(app, host="127.0.0.1", port=int(sys.argv[1]), threads=8, connection_limit=1000, _quiet=True)
