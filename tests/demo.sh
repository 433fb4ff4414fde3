#!/usr/bin/env bash
# make demo: start (or reuse) the testbed, run playbooks/demo.yml against it, leave it running.
set -euo pipefail
cd "$(dirname "$0")/.."
eval "$(tests/testbed/testbed up)"
export ANSIBLE_COLLECTIONS_PATH="$PWD/.cache/collections" ANSIBLE_STDOUT_CALLBACK=default
.venv/bin/ansible-playbook -i localhost, playbooks/demo.yml "$@"
echo "The testbed is still running (tests/testbed/testbed status); stop it with: make testbed-down"
