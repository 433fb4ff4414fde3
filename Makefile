# Every target installs what it needs (tests/bootstrap.sh) into .venv and .cache.
SHELL := /bin/bash
.DEFAULT_GOAL := help
STAGES := pytest sanity units lint changelog ee build

.PHONY: help test demo release-notes bootstrap testbed-up testbed-down enclave-up enclave-down clean $(STAGES)

help:
	@echo "make test       every check: pytest against the real-service testbed, ansible-test"
	@echo "                sanity and units, ansible-lint, changelog lint, EE and galaxy build"
	@echo "make demo       the main job on the testbed: image set -> public registry -> bundle"
	@echo "                layout -> private registry (TLS, auth), with a summary"
	@echo "make STAGE      one of: $(STAGES)"
	@echo "make release-notes   CHANGELOG.rst for galaxy.yml's version, from every fragment not yet in an earlier release"
	@echo "make testbed-up / testbed-down   the services, for working by hand"
	@echo "make enclave-up / enclave-down   the sealed enclave (registry, S3, SSH nodes, egress witness)"

test: bootstrap
	tests/run $(STAGES)

$(STAGES): bootstrap
	tests/run $@

demo: bootstrap
	tests/demo.sh $(ARGS)

# The release of galaxy.yml's version gets every fragment no earlier release holds; run again (after merging more
# fragments, or editing one), it updates that release in place. Fragments stay in the tree (keep_fragments).
release-notes: bootstrap
	PATH=$(CURDIR)/.venv/bin:$$PATH ANSIBLE_COLLECTIONS_PATH=$(CURDIR)/.cache/collections .venv/bin/antsibull-changelog release --update-existing --refresh-fragments

bootstrap:
	tests/bootstrap.sh

testbed-up: bootstrap
	tests/testbed/testbed up

testbed-down:
	tests/testbed/testbed down

enclave-up: bootstrap
	tests/testbed/testbed enclave up

enclave-down:
	tests/testbed/testbed enclave down

clean: enclave-down testbed-down
	rm -rf .venv .cache .pytest_cache tests/output
