#!/usr/bin/env bash
# The whole test suite: a release build with every test; a clang build with AddressSanitizer and UBSan that runs
# the tests again (except the slow ones) and fuzzes each parser for R1_FUZZ_SECONDS (default 60) seconds; then
# the NEON kernels, cross-built for AArch64 and run under qemu-user (R1_SKIP_NEON=1 skips this part).
set -euo pipefail
cd "$(dirname "$0")/.."
jobs=${JOBS:-$(nproc)}
fuzz_seconds=${R1_FUZZ_SECONDS:-60}

step() { echo; echo "== $*"; }
run() { echo "+ $*"; "$@"; }

step "release build and tests"
run cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release -DR1_BUILD_TESTS=ON
run cmake --build build -j "$jobs"
run ctest --test-dir build --output-on-failure -j "$jobs"

step "sanitizer build (clang, address + undefined): tests and ${fuzz_seconds}s per fuzz target"
run cmake -S . -B build-asan -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_C_COMPILER=clang \
    -DCMAKE_CXX_COMPILER=clang++ -DR1_SANITIZE=address,undefined -DR1_BUILD_FUZZERS=ON \
    -DR1_FUZZ_SECONDS="$fuzz_seconds"
run cmake --build build-asan -j "$jobs"
run ctest --test-dir build-asan --output-on-failure -LE 'fuzz|slow' -j "$jobs"
run ctest --test-dir build-asan --output-on-failure -L fuzz
if [ "${R1_SKIP_NEON:-0}" != 1 ]; then
  step "NEON kernels and the forward pass on AArch64 (cross-built, under qemu-aarch64)"
  run ./scripts/test-neon.sh
fi
echo
echo "== all tests passed"
