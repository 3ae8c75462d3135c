#!/usr/bin/env bash
# Install corral with every extra the tests need, then run ruff, mypy and the test suite.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/_install.sh "llamacpp,onnx,gemma,dev"
ruff check corral tests benchmarks conformance
mypy
python -m pytest "$@"
