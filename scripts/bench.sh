#!/usr/bin/env bash
# The benchmarks behind docs/BENCHMARKS.md:
#   1. r1 bench (prompt 512, generation 128) on a model of the exact DeepSeek-R1-Distill-Qwen-1.5B shapes in
#      Q4_K_M, generated with r1-synth the first time (random weights, the real R1 vocabulary when the fixtures
#      are present), in read and mmap modes;
#   2. the CPU kernel micro-benchmarks (bench_ops) with this machine's measured peaks;
#   3. tokenizer throughput on War and Peace (when the fixtures are present).
# Usage: scripts/bench.sh [BUILD_DIR]; THREADS=2 REPS=5 to change the defaults.
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build}
threads=${THREADS:-2}
reps=${REPS:-5}
fixtures=${R1_FIXTURES_DIR:-../shared/fixtures}
model="$build/models/qwen2-1.5b-Q4_K_M.gguf"
run() { echo "+ $*"; "$@"; }

if [ ! -f "$model" ]; then
  mkdir -p "$build/models"
  vocab=()
  [ -f "$fixtures/tokenizer/r1-distill-qwen.vocab.gguf" ] && vocab=(--vocab "$fixtures/tokenizer/r1-distill-qwen.vocab.gguf")
  run "$build/r1-synth" --preset qwen2-1.5b --type Q4_K_M "${vocab[@]}" -o "$model"
fi
echo "== r1 bench, $threads threads"
run "$build/r1" bench -m "$model" -p 512 -n 128 -t "$threads" -r "$reps" --no-mmap
run "$build/r1" bench -m "$model" -p 512 -n 128 -t "$threads" -r "$reps" --mmap
run "$build/r1" bench -m "$model" -p 0 -n 128 -t 1 -r "$reps" --no-mmap
echo "== kernel micro-benchmarks"
run "$build/bench_ops"
if [ -f "$fixtures/text/war-and-peace.txt" ]; then
  echo "== tokenizer"
  run "$build/bench_tokenizer" --vocab "$fixtures/tokenizer/r1-distill-qwen.vocab.gguf" \
    --text "$fixtures/text/war-and-peace.txt" --expect "$fixtures/tokenizer/war-and-peace.tokens.json" --runs 5
fi
