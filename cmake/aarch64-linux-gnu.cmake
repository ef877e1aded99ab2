# CMake toolchain file: cross-compile r1 for 64-bit ARM Linux with Debian's GNU cross compiler, and run the
# resulting test programs under qemu-user (ctest uses CMAKE_CROSSCOMPILING_EMULATOR).
#
#   apt-get install g++-aarch64-linux-gnu libc6-dev-arm64-cross qemu-user
#   cmake -S . -B build-aarch64 -DCMAKE_TOOLCHAIN_FILE=cmake/aarch64-linux-gnu.cmake \
#         -DR1_XXHASH_INCLUDE_DIR=<dir with xxhash.h> -DR1_DOCTEST_INCLUDE_DIR=<dir with doctest/ and nlohmann/>
#
# The header-only dependencies are the host's (they contain no target-specific code), but /usr/include itself must
# not be put on the cross compiler's include path (it holds the host's C library headers): point the two variables
# at a folder that holds only them (scripts/test-neon.sh makes one of symbolic links).
# Override the compilers with -DCMAKE_C_COMPILER/-DCMAKE_CXX_COMPILER (e.g. clang with --target) if needed.
set(CMAKE_SYSTEM_NAME Linux)
set(CMAKE_SYSTEM_PROCESSOR aarch64)

set(R1_CROSS_PREFIX aarch64-linux-gnu CACHE STRING "Prefix of the cross tools")
set(R1_CROSS_SYSROOT /usr/aarch64-linux-gnu CACHE PATH "Target libraries and headers (Debian's cross layout)")

if(NOT CMAKE_C_COMPILER)
  set(CMAKE_C_COMPILER ${R1_CROSS_PREFIX}-gcc)
endif()
if(NOT CMAKE_CXX_COMPILER)
  set(CMAKE_CXX_COMPILER ${R1_CROSS_PREFIX}-g++)
endif()

# Libraries and packages from the target tree only; programs (python, the emulator) from the host.
set(CMAKE_FIND_ROOT_PATH ${R1_CROSS_SYSROOT})
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_PACKAGE ONLY)

# -cpu max: a CPU model with every extension qemu emulates (dot product included), so the NEON kernels run.
find_program(R1_QEMU_AARCH64 qemu-aarch64)
if(R1_QEMU_AARCH64)
  set(CMAKE_CROSSCOMPILING_EMULATOR ${R1_QEMU_AARCH64} -cpu max -L ${R1_CROSS_SYSROOT})
endif()
