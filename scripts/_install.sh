# Shared by quickstart.sh and test.sh: a venv in .venv with corral and the given extras.
# llama-cpp-python compiles from source; it is built first, on its own, with portable CPU flags
# unless CMAKE_ARGS is already set (see README: CUDA, Metal, native builds).
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  "$PY" -m venv .venv
fi
. .venv/bin/activate
python -m pip install -q --upgrade pip setuptools wheel
if ! python -c "import llama_cpp" 2>/dev/null; then
  : "${CMAKE_ARGS:=-DGGML_NATIVE=OFF -DGGML_AVX=ON -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON}"
  export CMAKE_ARGS
  echo "building llama-cpp-python with CMAKE_ARGS=$CMAKE_ARGS (takes several minutes)" >&2
  # --no-cache-dir: pip's wheel cache ignores CMAKE_ARGS, so a wheel built with other flags could be reused.
  python -m pip install -q --no-cache-dir "llama-cpp-python>=0.3"
fi
python -m pip install -q -e ".[$1]"
