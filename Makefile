# Lastro — the two commands:
#   make demo   build everything and run the whole platform on embedded defaults
#   make test   build and pass all tests (starts its own PostgreSQL)
# and: make bench, make fuzz, make test-asan, make format, make clean.

BUILD      ?= build
BUILD_TYPE ?= RelWithDebInfo
JOBS       ?= $(shell nproc)
export CCACHE_DIR ?= $(CURDIR)/$(BUILD)/.ccache

.PHONY: all deps configure build test test-unit test-asan demo bench fuzz format format-check clean

all: build

deps:
	@scripts/install-deps

$(BUILD)/build.ninja: | deps
	@cmake -S . -B $(BUILD) -G Ninja -DCMAKE_BUILD_TYPE=$(BUILD_TYPE) >/dev/null

configure: $(BUILD)/build.ninja

build: deps configure
	@cmake --build $(BUILD) -j $(JOBS)

test: build
	@scripts/run-tests $(BUILD)

test-asan: deps
	@cmake -S . -B $(BUILD)-asan -G Ninja -DCMAKE_BUILD_TYPE=Debug -DLASTRO_SANITIZE=address >/dev/null
	@cmake --build $(BUILD)-asan -j $(JOBS)
	@scripts/run-tests $(BUILD)-asan -L unit

demo: build
	@scripts/demo $(BUILD)

bench: build
	@scripts/run-bench $(BUILD)

fuzz: deps
	@CC=clang CXX=clang++ cmake -S . -B $(BUILD)-fuzz -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DLASTRO_FUZZ=ON >/dev/null
	@cmake --build $(BUILD)-fuzz -j $(JOBS) --target pgoutput_fuzz pgoutput_fuzz_corpus
	@mkdir -p $(BUILD)-fuzz/findings
	@$(BUILD)-fuzz/src/capture/pgoutput_fuzz -max_total_time=$${FUZZ_SECONDS:-60} \
	  -artifact_prefix=$(BUILD)-fuzz/findings/ $(BUILD)-fuzz/src/capture/pgoutput_fuzz_corpus

format:
	@git ls-files 'src/*.cc' 'src/*.h' 'bench/*.cc' 'bench/*.h' 'tests/*.cc' 'tests/*.h' | xargs clang-format -i

format-check: deps
	@git ls-files 'src/*.cc' 'src/*.h' 'bench/*.cc' 'bench/*.h' 'tests/*.cc' 'tests/*.h' | xargs clang-format --dry-run --Werror

clean:
	@scripts/pg-local stop 2>/dev/null || true
	@rm -rf $(BUILD) $(BUILD)-asan $(BUILD)-fuzz
