#!/usr/bin/env bash
# Our entries beside the peers, in one run of the shared harness (see docs/benchmarks.md).
#   PEERBENCH=/tmp/peerbench bash tests/benchmarks/server/run_suite.sh [extra peers.py args]
# Needs the peers built first: (cd ../shared/bench && PEERBENCH=... bash setup_peers.sh).
set -euo pipefail
export PEERBENCH=${PEERBENCH:-/tmp/peerbench}
export BENTO_BENCH_DIR=$(cd "$(dirname "$0")" && pwd)
HARNESS=${HARNESS:-$BENTO_BENCH_DIR/../../../../shared/bench}
HARNESS=$(cd "$HARNESS" && pwd)
python "$BENTO_BENCH_DIR/make_bundles.py" "$HARNESS" "$PEERBENCH/bundles"
cd "$HARNESS"
python3 peers.py suite "$BENTO_BENCH_DIR/suite.json" "$@"
python3 peers.py suite "$BENTO_BENCH_DIR/overload.json" --conc 256 "$@"
# wrk mixes refusals into its latency figures (see accepted_latency.py): the accepted requests alone
for engine in waitress granian; do
  for model in svc rf; do
    echo "## iris_$model on $engine, 256 connections, --mb-max-latency 50: latency by status"
    python "$BENTO_BENCH_DIR/accepted_latency.py" \
      --cmd "bento serve $PEERBENCH/bundles/iris_$model --port {port} --mb-max-latency 50 --engine $engine"
  done
done
