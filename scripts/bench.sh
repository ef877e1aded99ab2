#!/usr/bin/env bash
# The benchmarks behind docs/BENCHMARKS.md:
#   1. r1 bench (prompt 512, generation 128) on a model of the exact DeepSeek-R1-Distill-Qwen-1.5B shapes in
#      Q4_K_M, generated with r1-synth the first time (random weights, the real R1 vocabulary when the fixtures
#      are present), in read and mmap modes, and with 1 thread;
#   2. the same with one competing busy process (a shell spinning on one core), at 2 threads and 1 thread;
#   3. time to the first token and peak RSS for a prompt of about 100 tokens (r1 run --stats, /usr/bin/time);
#   4. the CPU kernel micro-benchmarks (bench_ops) with this machine's measured peaks;
#   5. tokenizer throughput on War and Peace (when the fixtures are present);
#   6. quantizer speed: an F16 model of the 1.5B shapes quantized to Q4_K_M (QUANTIZE=0 skips it: it writes a
#      3.6 GB file).
# Usage: scripts/bench.sh [BUILD_DIR]; THREADS=2 REPS=5 to change the defaults.
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build}
threads=${THREADS:-2}
reps=${REPS:-5}
fixtures=${R1_FIXTURES_DIR:-../shared/fixtures}
model="$build/models/qwen2-1.5b-Q4_K_M.gguf"
run() { echo "+ $*"; "$@"; }
vocab=()
[ -f "$fixtures/tokenizer/r1-distill-qwen.vocab.gguf" ] && vocab=(--vocab "$fixtures/tokenizer/r1-distill-qwen.vocab.gguf")

if [ ! -f "$model" ]; then
  mkdir -p "$build/models"
  run "$build/r1-synth" --preset qwen2-1.5b --type Q4_K_M "${vocab[@]}" -o "$model"
fi
echo "== r1 bench, $threads threads"
run "$build/r1" bench -m "$model" -p 512 -n 128 -t "$threads" -r "$reps" --no-mmap
run "$build/r1" bench -m "$model" -p 512 -n 128 -t "$threads" -r "$reps" --mmap
run "$build/r1" bench -m "$model" -p 512 -n 128 -t 1 -r "$reps" --no-mmap

echo "== r1 bench with one competing busy process"
sh -c 'while :; do :; done' &
spinner=$!
trap 'kill $spinner 2>/dev/null || true' EXIT
run "$build/r1" bench -m "$model" -p 0 -n 128 -t "$threads" -r "$reps" --no-mmap
run "$build/r1" bench -m "$model" -p 0 -n 128 -t 1 -r "$reps" --no-mmap
kill $spinner 2>/dev/null || true
wait $spinner 2>/dev/null || true
trap - EXIT

echo "== time to the first token and peak RSS, a prompt of about 100 tokens"
prompt="Summarize the following in one sentence. The river rose for three days after the storms in the hills, and"
prompt="$prompt the people of the valley moved their animals to the high pastures, carried grain to the church loft,"
prompt="$prompt and waited. On the fourth day the water stopped a hand's width below the bridge, and the miller, who"
prompt="$prompt had not slept, walked across it twice to prove to himself that it still stood. What did they learn?"
if [ -x /usr/bin/time ]; then timer=(/usr/bin/time -f "peak RSS %M KiB, wall %e s"); else timer=(); fi
run "${timer[@]}" "$build/r1" run -m "$model" -p "$prompt" -n 16 -t "$threads" --no-mmap --stats >/dev/null
run "${timer[@]}" "$build/r1" run -m "$model" -p "$prompt" -n 16 -t "$threads" --mmap --stats >/dev/null

echo "== kernel micro-benchmarks"
run "$build/bench_ops"
if [ -f "$fixtures/text/war-and-peace.txt" ]; then
  echo "== tokenizer"
  run "$build/bench_tokenizer" --vocab "$fixtures/tokenizer/r1-distill-qwen.vocab.gguf" \
    --text "$fixtures/text/war-and-peace.txt" --expect "$fixtures/tokenizer/war-and-peace.tokens.json" --runs 5
fi
if [ "${QUANTIZE:-1}" = 1 ]; then
  echo "== quantizer: F16 -> Q4_K_M, 1.5B shapes"
  f16="$build/models/qwen2-1.5b-F16.gguf"
  [ -f "$f16" ] || run "$build/r1-synth" --preset qwen2-1.5b --type F16 "${vocab[@]}" -o "$f16"
  run "${timer[@]}" "$build/r1" quantize "$f16" "$build/models/qwen2-1.5b-Q4_K_M.requant.gguf" Q4_K_M \
    --threads "$threads"
  rm -f "$build/models/qwen2-1.5b-Q4_K_M.requant.gguf"
fi
