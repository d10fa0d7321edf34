#!/usr/bin/env bash
# Regenerate bento_yatai/proto/yatai_pb2*.py from yatai.proto. The generated code is committed;
# it needs protobuf>=7.35.1,<8 and grpcio>=1.85.1 at run time (the pins in pyproject.toml).
set -euo pipefail
cd "$(dirname "$0")/../src"
python -m pip install -q 'grpcio-tools==1.85.1'
python -m grpc_tools.protoc -I. --python_out=. --grpc_python_out=. --pyi_out=. bento_yatai/proto/yatai.proto
