#!/usr/bin/env bash
# device-check.sh: the one check to run on a machine with a real GPU.
#
#   1. builds r1 with the Vulkan backend (and the CUDA plugin when nvcc is installed), Release;
#   2. runs the Vulkan test suite on the real device (validation layer on when it is installed);
#   3. generates the 1.5B-shaped Q4_K_M model with r1-synth and runs `r1 bench` on Vulkan (and CUDA, and the CPU);
#   4. prints a short table, including generation speed against the memory-bandwidth bound.
#
# Usage: scripts/device-check.sh [--quick]   (--quick: skip the fixture models in the test suite)
# Environment: BUILD_DIR (default build-device), R1_FIXTURES_DIR (default ../shared/fixtures),
#   R1_VULKAN_TEST_DEVICE (device index, default 0), BANDWIDTH_GBS (the GPU's memory bandwidth in GB/s, when the
#   script cannot tell it from nvidia-smi), BENCH_REPS (default 3), TEST_TIMEOUT (seconds, default 1500).
set -uo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${BUILD_DIR:-$ROOT/build-device}
FIXTURES=${R1_FIXTURES_DIR:-$ROOT/../shared/fixtures}
REPS=${BENCH_REPS:-3}
TEST_TIMEOUT=${TEST_TIMEOUT:-1500}
QUICK=0
[ "${1:-}" = "--quick" ] && QUICK=1
JOBS=$(nproc 2>/dev/null || echo 4)
declare -a ROWS=()
row() { ROWS+=("$(printf '| %-34s | %-60s |' "$1" "$2")"); }
say() { printf '\n== %s\n' "$*"; }

# ---- device -----------------------------------------------------------------------------------------------------
say "devices"
if command -v vulkaninfo >/dev/null 2>&1; then
  vulkaninfo --summary 2>/dev/null | grep -E "deviceName|deviceType|apiVersion|driverName" | head -20
fi
GPU_NAME=""
if command -v nvidia-smi >/dev/null 2>&1; then
  nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader || true
  GPU_NAME=$(nvidia-smi --query-gpu=name --format=csv,noheader 2>/dev/null | head -1)
fi

# ---- build ------------------------------------------------------------------------------------------------------
say "build ($BUILD)"
CUDA_FLAG=-DR1_WITH_CUDA=OFF
# The CUDA plugin is built once its backend exists (backends/cuda) and nvcc is on the machine.
if [ -f "$ROOT/backends/cuda/CMakeLists.txt" ] && command -v nvcc >/dev/null 2>&1; then CUDA_FLAG=-DR1_WITH_CUDA=ON; fi
GEN=""
command -v ninja >/dev/null 2>&1 && GEN="-G Ninja"
if cmake -S "$ROOT" -B "$BUILD" $GEN -DCMAKE_BUILD_TYPE=Release -DR1_WITH_VULKAN=ON $CUDA_FLAG >"$BUILD.configure.log" 2>&1 &&
   cmake --build "$BUILD" -j "$JOBS" >"$BUILD.build.log" 2>&1; then
  if [ "$CUDA_FLAG" = "-DR1_WITH_CUDA=ON" ]; then row "build (Vulkan, CUDA)" "ok"; else row "build (Vulkan; no CUDA plugin)" "ok"; fi
else
  tail -30 "$BUILD.configure.log" "$BUILD.build.log" 2>/dev/null
  row "build" "FAILED (see $BUILD.build.log)"
  printf '\n%s\n' "${ROWS[@]}"
  exit 1
fi
"$BUILD/r1" info --backends 2>/dev/null || true

# ---- tests on the real device ------------------------------------------------------------------------------------
say "test_vulkan on the real device"
TEST_FILTER=()
[ $QUICK = 1 ] && TEST_FILTER=(-tce='*fixtures*,*stories260K*')
START=$(date +%s)
R1_VULKAN_TEST_REAL_DEVICE=1 R1_VULKAN_VALIDATION=${R1_VULKAN_VALIDATION:-1} R1_FIXTURES_DIR="$FIXTURES" \
  timeout "$TEST_TIMEOUT" "$BUILD/tests/test_vulkan" ${TEST_FILTER[@]+"${TEST_FILTER[@]}"} >"$BUILD/test_vulkan.log" 2>&1
RC=$?
SECS=$(( $(date +%s) - START ))
grep -E "device:|worst |test cases:|assertions:" "$BUILD/test_vulkan.log" | sed 's/^.*MESSAGE: //' | head -60
if [ $RC = 0 ]; then row "test_vulkan" "passed in ${SECS}s"; else
  grep -E "ERROR|FATAL" -A4 "$BUILD/test_vulkan.log" | head -40
  row "test_vulkan" "FAILED (exit $RC after ${SECS}s, see $BUILD/test_vulkan.log)"
fi
if [ -x "$BUILD/tests/test_cuda" ]; then
  R1_FIXTURES_DIR="$FIXTURES" timeout "$TEST_TIMEOUT" "$BUILD/tests/test_cuda" >"$BUILD/test_cuda.log" 2>&1 &&
    row "test_cuda" "passed" || row "test_cuda" "FAILED (see $BUILD/test_cuda.log)"
fi

# ---- benchmark ---------------------------------------------------------------------------------------------------
say "r1 bench, 1.5B-shaped Q4_K_M"
MODEL="$BUILD/qwen2-1.5b-Q4_K_M.gguf"
if [ ! -f "$MODEL" ]; then
  "$BUILD/r1-synth" --preset qwen2-1.5b --type Q4_K_M --vocab "$FIXTURES/tokenizer/r1-distill-qwen.vocab.gguf" \
    -o "$MODEL" || { row "r1-synth qwen2-1.5b Q4_K_M" "FAILED"; MODEL=""; }
fi
# Bytes of weights read per generated token: every tensor but the embedding table (one row of it is read), unless
# the output projection is tied to it.
BYTES_PER_TOKEN=""
if [ -n "$MODEL" ] && command -v python3 >/dev/null 2>&1; then
  BYTES_PER_TOKEN=$("$BUILD/r1" info "$MODEL" --json --full 2>/dev/null | python3 -c '
import json, sys
info = json.load(sys.stdin)
sizes = {t["name"]: t["size"] for t in info.get("tensors", [])}
total = info["tensor_data_size"]
if "output.weight" in sizes: total -= sizes.get("token_embd.weight", 0)
print(total)' 2>/dev/null)
fi
if [ -z "${BANDWIDTH_GBS:-}" ]; then
  case "$GPU_NAME" in
    *H200*) BANDWIDTH_GBS=4800 ;;
    *H100*PCIe*) BANDWIDTH_GBS=2000 ;;
    *H100*) BANDWIDTH_GBS=3350 ;;
    *A100*80GB*) BANDWIDTH_GBS=2039 ;;
    *A100*) BANDWIDTH_GBS=1555 ;;
    *L40S*|*L40*) BANDWIDTH_GBS=864 ;;
    *"RTX 4090"*) BANDWIDTH_GBS=1008 ;;
    *"RTX 3090"*) BANDWIDTH_GBS=936 ;;
    *) BANDWIDTH_GBS="" ;;
  esac
fi
bench() {  # bench BACKEND
  local backend=$1 out
  out=$("$BUILD/r1" bench -m "$MODEL" --backend "$backend" -p 512 -n 128 -r "$REPS" --json 2>"$BUILD/bench-$backend.err")
  if [ $? != 0 ] || [ -z "$out" ]; then
    row "bench $backend" "FAILED: $(tail -1 "$BUILD/bench-$backend.err")"
    return
  fi
  echo "$out" >"$BUILD/bench-$backend.json"
  echo "$out"
  local pp tg
  pp=$(echo "$out" | python3 -c 'import json,sys; r=[x for x in json.load(sys.stdin) if x["n_prompt"]>0]; print("%.1f" % r[0]["avg_ts"])' 2>/dev/null)
  tg=$(echo "$out" | python3 -c 'import json,sys; r=[x for x in json.load(sys.stdin) if x["n_gen"]>0]; print("%.1f" % r[0]["avg_ts"])' 2>/dev/null)
  local note=""
  if [ "$backend" != cpu ] && [ -n "$BYTES_PER_TOKEN" ] && [ -n "$BANDWIDTH_GBS" ] && [ -n "$tg" ]; then
    note=$(python3 -c "b=$BYTES_PER_TOKEN; bw=$BANDWIDTH_GBS*1e9; tg=$tg; print(', bound %.0f t/s, %.0f%% of it' % (bw/b, 100*tg*b/bw))")
  fi
  row "bench $backend pp512 / tg128 (t/s)" "$pp / $tg$note"
}
if [ -n "$MODEL" ]; then
  bench vulkan
  [ "$CUDA_FLAG" = "-DR1_WITH_CUDA=ON" ] && bench cuda
  bench cpu
  [ -n "$BYTES_PER_TOKEN" ] && row "weights read per token" "$(python3 -c "print('%.3f GB' % ($BYTES_PER_TOKEN/1e9))")"
  [ -n "$BANDWIDTH_GBS" ] && row "memory bandwidth (assumed)" "$BANDWIDTH_GBS GB/s ($GPU_NAME)"
fi

say "summary"
printf '| %-34s | %-60s |\n|%s|%s|\n' "check" "result" "------------------------------------" \
  "--------------------------------------------------------------"
printf '%s\n' "${ROWS[@]}"
