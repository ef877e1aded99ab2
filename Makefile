# A thin front over CMake; every target prints the commands it runs.
BUILD ?= build
JOBS ?= $(shell nproc)
PREFIX ?= /usr/local
CMAKE_FLAGS ?=

.PHONY: all build test demo bench install clean amalgamation

all: build

build:
	cmake -S . -B $(BUILD) -G Ninja -DCMAKE_BUILD_TYPE=Release $(CMAKE_FLAGS)
	cmake --build $(BUILD) -j $(JOBS)

test:
	./scripts/test.sh

demo: build
	./scripts/demo.sh $(BUILD)

bench: build
	./scripts/bench.sh $(BUILD)

install: build
	cmake --install $(BUILD) --prefix $(PREFIX)

amalgamation: build
	cmake --build $(BUILD) --target amalgamation

clean:
	rm -rf $(BUILD) build-asan build-aarch64
