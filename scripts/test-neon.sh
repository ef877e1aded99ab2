#!/usr/bin/env bash
# The NEON kernel family on an x86 machine: cross-compiles the CPU kernel tests for AArch64 and runs them under
# qemu-user with a CPU model that has the dot-product extension (-cpu max), so every NEON kernel is compared with
# the scalar reference; then the forward pass against the fixtures, whose fast path then runs on NEON.
#
#   scripts/test-neon.sh                 build in build-aarch64/, run test_quants, test_cpu_kernels, test_forward
#   R1_NEON_FORWARD=0 scripts/test-neon.sh   without test_forward (the slow part under emulation)
#   BUILD=/tmp/b JOBS=4 scripts/test-neon.sh
#   R1_TEST_SEED=123 scripts/test-neon.sh    replay the random inputs of an earlier run
#
# Needs (Debian 12): g++-aarch64-linux-gnu libc6-dev-arm64-cross qemu-user, plus the host's header-only test
# dependencies (libxxhash-dev doctest-dev nlohmann-json3-dev). Exits 2 with the install command when they are
# missing, 1 when a test fails.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
build=${BUILD:-build-aarch64}
jobs=${JOBS:-$(nproc)}
forward=${R1_NEON_FORWARD:-1}
host_include=${R1_HOST_INCLUDE:-/usr/include}

step() { echo; echo "== $*"; }
run() { echo "+ $*"; "$@"; }

missing=()
command -v aarch64-linux-gnu-g++ >/dev/null || missing+=(g++-aarch64-linux-gnu)
[ -e /usr/aarch64-linux-gnu/include/stdio.h ] || missing+=(libc6-dev-arm64-cross)
command -v qemu-aarch64 >/dev/null || missing+=(qemu-user)
[ -e "$host_include/xxhash.h" ] || missing+=(libxxhash-dev)
[ -e "$host_include/doctest/doctest.h" ] || missing+=(doctest-dev)
[ -e "$host_include/nlohmann/json.hpp" ] || missing+=(nlohmann-json3-dev)
command -v cmake >/dev/null || missing+=(cmake)
if [ ${#missing[@]} -ne 0 ]; then
  echo "test-neon: missing ${missing[*]}; install with: sudo apt-get install -y ${missing[*]}" >&2
  exit 2
fi

# The header-only dependencies, alone in a folder: /usr/include itself would shadow the target's C library.
mkdir -p "$build/host-include"
build=$(cd "$build" && pwd)
for dep in xxhash.h doctest nlohmann; do ln -sfn "$host_include/$dep" "$build/host-include/$dep"; done
generator=()
command -v ninja >/dev/null && generator=(-G Ninja)

# -O2: Debian's aarch64 GCC 12 crashes (internal compiler error in vect_transform_reduction) on
# tests/test_cpu_kernels.cpp at -O3.
step "configure and build for aarch64"
start=$SECONDS
run cmake -S . -B "$build" "${generator[@]}" -DCMAKE_TOOLCHAIN_FILE="$root/cmake/aarch64-linux-gnu.cmake" \
    -DCMAKE_BUILD_TYPE=Release -DCMAKE_CXX_FLAGS_RELEASE="-O2 -DNDEBUG" -DR1_BUILD_TESTS=ON -DR1_BUILD_PROGRAMS=OFF \
    -DR1_XXHASH_INCLUDE_DIR="$build/host-include" -DR1_DOCTEST_INCLUDE_DIR="$build/host-include"
suites=(test_quants test_cpu_kernels)
[ -e tests/test_cpu_kernels_neon.cpp ] && suites+=(test_cpu_kernels_neon)
[ "$forward" = 1 ] && suites+=(test_forward)
run cmake --build "$build" -j "$jobs" --target "${suites[@]}"
echo "build: $((SECONDS - start)) s"

step "tests under qemu-aarch64 -cpu max"
start=$SECONDS
pattern="^($(IFS='|'; echo "${suites[*]}"))\$"
run ctest --test-dir "$build" --output-on-failure -j "$jobs" -R "$pattern"
echo "tests: $((SECONDS - start)) s"
echo
echo "== NEON tests passed"
