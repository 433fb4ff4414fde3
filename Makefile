# Every target installs what it needs (tests/bootstrap.sh) into .venv and .cache.
SHELL := /bin/bash
.DEFAULT_GOAL := help
STAGES := pytest sanity units lint changelog ee build

.PHONY: help test demo bootstrap testbed-up testbed-down clean $(STAGES)

help:
	@echo "make test       every check: pytest against the real-service testbed, ansible-test"
	@echo "                sanity and units, ansible-lint, changelog lint, EE and galaxy build"
	@echo "make demo       the main job on the testbed: image set -> public registry -> bundle"
	@echo "                layout -> private registry (TLS, auth), with a summary"
	@echo "make STAGE      one of: $(STAGES)"
	@echo "make testbed-up / testbed-down   the services, for working by hand"

test: bootstrap
	tests/run $(STAGES)

$(STAGES): bootstrap
	tests/run $@

demo: bootstrap
	tests/demo.sh $(ARGS)

bootstrap:
	tests/bootstrap.sh

testbed-up: bootstrap
	tests/testbed/testbed up

testbed-down:
	tests/testbed/testbed down

clean: testbed-down
	rm -rf .venv .cache .pytest_cache tests/output
