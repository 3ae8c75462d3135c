#!/usr/bin/env bash
# Build llama.cpp's own llama-server and llama-bench from the llama.cpp sources that the installed
# llama-cpp-python vendors (its sdist), with the project's portable CPU flags, so benchmarks compare
# corral with the very same engine. Output: benchmarks/.build/bin/{llama-server,llama-bench}.
# Usage: benchmarks/build_llama_tools.sh   (inside the project's venv; takes ~10 minutes on 2 cores)
set -euo pipefail
cd "$(dirname "$0")"
out="$PWD/.build"
version=$(python -c "import llama_cpp; print(llama_cpp.__version__)")
if [ -x "$out/bin/llama-server" ] && [ -x "$out/bin/llama-bench" ] && [ "$(cat "$out/version" 2>/dev/null)" = "$version" ]; then
  echo "llama-server and llama-bench for llama-cpp-python $version are in $out/bin"
  exit 0
fi
mkdir -p "$out/src"
python -m pip download -q --no-deps --no-binary :all: "llama-cpp-python==$version" -d "$out/src"
tar -xzf "$out/src/llama_cpp_python-$version.tar.gz" -C "$out/src"
src="$out/src/llama_cpp_python-$version/vendor/llama.cpp"
: "${CMAKE_ARGS:=-DGGML_NATIVE=OFF -DGGML_AVX=ON -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON}"
# shellcheck disable=SC2086  # CMAKE_ARGS is a list of flags
cmake -S "$src" -B "$out/cmake" -DCMAKE_BUILD_TYPE=Release -DBUILD_SHARED_LIBS=OFF -DLLAMA_CURL=OFF \
  -DLLAMA_BUILD_TESTS=OFF -DLLAMA_BUILD_EXAMPLES=OFF $CMAKE_ARGS >/dev/null
cmake --build "$out/cmake" --target llama-server llama-bench -j "$(nproc)" >/dev/null
mkdir -p "$out/bin"
cp "$out/cmake/bin/llama-server" "$out/cmake/bin/llama-bench" "$out/bin/"
echo "$version" > "$out/version"
echo "built llama-server and llama-bench for llama-cpp-python $version in $out/bin"
