#!/usr/bin/env bash
# The benchmark front: `r1 bench` arrives with the inference work (see README status).
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build}
if "$build/r1" bench --help >/dev/null 2>&1; then
  echo "+ $build/r1 bench ${BENCH_ARGS:-}"
  exec "$build/r1" bench ${BENCH_ARGS:-}
fi
echo "bench: r1 bench is not implemented yet (it comes with the inference issue)" >&2
exit 2
