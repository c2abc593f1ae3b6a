# The two set-up commands of the README: `make run` and `make test`. Both install what is
# missing (Debian 12 packages), configure and build first.
BUILD ?= build
SANITIZE_BUILD ?= build-sanitize
CMAKE_ARGS ?=
CTEST_ARGS ?=
ARGS ?=

.PHONY: all deps configure build run test test-sanitize bench package format translations clean

all: build

deps:
	@scripts/install-deps.sh

configure: deps
	@cmake -S . -B $(BUILD) -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo $(CMAKE_ARGS) >/dev/null

build: configure
	@cmake --build $(BUILD) --parallel

run: build
	@scripts/run.sh $(BUILD)/bin/kvdesk $(ARGS)

test: build
	@scripts/install-deps.sh --test
	@cd $(BUILD) && ctest --output-on-failure $(CTEST_ARGS)

# The whole suite under AddressSanitizer and UndefinedBehaviorSanitizer.
test-sanitize: deps
	@scripts/install-deps.sh --test
	@cmake -S . -B $(SANITIZE_BUILD) -G Ninja -DCMAKE_BUILD_TYPE=Debug -DKVDESK_SANITIZE=ON $(CMAKE_ARGS) >/dev/null
	@cmake --build $(SANITIZE_BUILD) --parallel
	@cd $(SANITIZE_BUILD) && ctest --output-on-failure $(CTEST_ARGS)

# Throughput and latency against a bare QHttpServer ceiling (not part of make test).
bench: deps
	@scripts/install-deps.sh --bench
	@cmake -S . -B $(BUILD) -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DKVDESK_BUILD_BENCH=ON $(CMAKE_ARGS) >/dev/null
	@cmake --build $(BUILD) --parallel
	@BUILD=$(BUILD) tests/bench/run.sh

# The Debian package: $(BUILD)/package/kvdesk_<version>_<arch>.deb
package: build
	@scripts/install-deps.sh --test
	@cd $(BUILD) && cpack -G DEB

# translations/*.ts brought up to date with the code; the build refuses them until the new
# entries are translated (Qt Linguist: linguist translations/kvdesk_de.ts).
translations: configure
	@cmake --build $(BUILD) --target translations

format: configure
	@cmake --build $(BUILD) --target format

clean:
	rm -rf $(BUILD) $(SANITIZE_BUILD)
