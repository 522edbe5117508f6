# Two commands for a fresh Debian machine:
#   make start   set everything up, then run the embedded default (Ctrl-C stops it all)
#   make test    set everything up, then type-check and run every test suite
.PHONY: setup start test test-unit bench clean

setup:
	bash infra/setup.sh

start: setup
	node dist/infra/launch.js

test: setup
	bash infra/run-tests.sh

test-unit:
	npx vitest run --project unit

bench: setup
	npx tsx benchmarks/call-rate/run.ts

clean:
	rm -rf dist run
