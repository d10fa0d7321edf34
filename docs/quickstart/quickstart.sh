#!/usr/bin/env bash
# The main job on the embedded defaults: train, save to the local repository ($BENTO_HOME,
# default ~/bento), list, predict offline, then serve on 127.0.0.1 and ask over HTTP.
set -euo pipefail
cd "$(dirname "$0")"
python train.py
bento list
bento run IrisClassifier:latest predict --input '[[5.1, 3.5, 1.4, 0.2], [6.7, 3.0, 5.2, 2.3]]'
# HTTP from Python, so nothing but Python is needed; with curl the request is
#   curl -H 'Content-Type: application/json' -d '[[5.1, 3.5, 1.4, 0.2]]' http://127.0.0.1:PORT/predict
ask() {
  python -c 'import sys, urllib.request as u
body = sys.argv[2].encode() if len(sys.argv) > 2 else None
print(u.urlopen(u.Request(sys.argv[1], body, {"Content-Type": "application/json"}), timeout=10).read().decode())' "$@"
}
if bento serve --help >/dev/null 2>&1 && python -c "import bento_server" 2>/dev/null; then
  port=$(python -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
  bento serve IrisClassifier:latest --port "$port" & server=$!
  trap 'kill $server 2>/dev/null || true' EXIT
  for _ in $(seq 300); do ask "http://127.0.0.1:$port/readyz" >/dev/null 2>&1 && break; kill -0 $server; sleep 0.2; done
  ask "http://127.0.0.1:$port/predict" '[[5.1, 3.5, 1.4, 0.2]]'
fi
