#!/usr/bin/env bash
# Prepare everything the tests use, from a bare Debian 12 machine with Python 3.11:
# .venv with the Python packages, the testbed's system packages and tools, and the
# ansible_collections/ tree (this checkout plus kubernetes.core). Cheap when already done.
set -euo pipefail
cd "$(dirname "$0")/.."

python="${PYTHON:-}"
if [ -z "$python" ]; then
  for candidate in python3.11 python3; do
    if command -v "$candidate" >/dev/null &&
       "$candidate" -c 'import sys; sys.exit(sys.version_info[:2] != (3, 11))'; then
      python=$(command -v "$candidate"); break
    fi
  done
fi
if [ -z "$python" ]; then
  echo "bootstrap: Python 3.11 is required (python3.11 or python3); set PYTHON=/path/to/python3.11" >&2
  exit 1
fi

if ! "$python" -c 'import ensurepip, venv' 2>/dev/null; then
  if [ "$(id -u)" != 0 ]; then
    echo "bootstrap: $python cannot make virtual environments; run: sudo apt-get install -y python3-venv" >&2
    exit 1
  fi
  echo "bootstrap: installing python3-venv"
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-venv >/dev/null
fi

stamp=.venv/.requirements.sha256
wanted=$(cat requirements.txt tests/requirements.txt | sha256sum | cut -d' ' -f1)
if [ ! -x .venv/bin/python ] || [ "$(cat "$stamp" 2>/dev/null)" != "$wanted" ]; then
  echo "bootstrap: installing Python packages into .venv"
  "$python" -m venv .venv
  # --no-compile: pip would byte-compile every file of every package (torch alone is thousands), about half of the
  # install's 190 s here; Python compiles what the tests import on first use and keeps it in __pycache__.
  .venv/bin/python -m pip install -q --no-compile --disable-pip-version-check -r requirements.txt -r tests/requirements.txt
  echo "$wanted" > "$stamp"
fi

tests/testbed/testbed install >/dev/null
.venv/bin/python tests/tools/collection_tree.py link .cache/collections >/dev/null
