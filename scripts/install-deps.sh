#!/usr/bin/env bash
# Installs what building and testing r1 needs on Debian 12 (bookworm). Safe to run again.
# The runtime library itself depends on nothing beyond libc, libstdc++, libm, libdl and pthreads.
set -euo pipefail

packages=(
  build-essential cmake ninja-build pkg-config python3 git  # build
  libxxhash-dev                                            # xxHash, used header-only
  doctest-dev nlohmann-json3-dev                           # tests (nlohmann only in tests and tools)
  clang libclang-rt-14-dev                                 # fuzzers, AddressSanitizer and UBSan
  unicode-data                                             # tokenizer tables (tools/gen_unicode_tables.py)
  g++-aarch64-linux-gnu libc6-dev-arm64-cross qemu-user    # NEON kernels, cross-built and run under qemu
  libvulkan-dev glslc                                      # Vulkan backend: headers and shader compiler (build only)
  mesa-vulkan-drivers vulkan-validationlayers              # Vulkan tests: lavapipe (Vulkan on the CPU), validation
)

missing=()
for p in "${packages[@]}"; do
  [[ "$p" == \#* ]] && continue
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  echo "install-deps: all ${#packages[@]} packages present"
  exit 0
fi
sudo=""
if [ "$(id -u)" -ne 0 ]; then sudo="sudo"; fi
echo "install-deps: installing ${missing[*]}"
$sudo apt-get update -qq
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
