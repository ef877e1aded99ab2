#!/usr/bin/env bash
# The demo: what r1 can show today on the model at hand.
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build}
model=""
for candidate in models/r1-tiny.gguf ../shared/fixtures/models/qwen2-tiny-Q4_K_M.gguf; do
  if [ -f "$candidate" ]; then model=$candidate; break; fi
done
if [ -z "$model" ]; then
  echo "demo: no model found (models/r1-tiny.gguf is not bundled yet)" >&2
  exit 1
fi
echo "demo: text generation is not implemented yet (see README status); describing $model instead"
echo "+ $build/r1 info $model"
"$build/r1" info "$model"
