# The README's two commands: `make demo` renders the demo recipe end to end,
# `make test` runs every test. Both install missing Debian packages first.
JOBS ?= $(shell nproc)
export LP_NUM_THREADS ?= 2

.PHONY: demo test build deps clean

deps:
	@bash tools/deps.sh

build: deps
	@cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
	@cmake --build build -j$(JOBS)

# MODEL=path diffuses with that checkpoint; models/sd15.safetensors is used when present.
MODEL ?= $(wildcard models/sd15.safetensors)
demo: build
	./build/funky render scripts/funky.lua $(if $(MODEL),--set model=$(MODEL))

# Three builds: Lua 5.4 (every test), LuaJIT (every test) and
# address+undefined sanitizers (every test again, under ASan and UBSan).
test: deps
	@bash tools/test.sh

clean:
	rm -rf build build-luajit build-asan
