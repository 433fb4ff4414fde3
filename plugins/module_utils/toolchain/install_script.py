# Copyright (c) 2026, airlock.airgap contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""toolchain/install.sh: install the carried toolchain into a virtual environment with nothing but python3 and no network.

pip runs isolated, with PIP_CONFIG_FILE=/dev/null: no pip.conf, environment variable or
constraint file of the enclave machine can add an index, a find-links folder or a cap, so what
is installed is the folder's wheels, each checked against requirements.txt's sha256. Byte-compiling is left
to the first import (--no-compile): it is most of an install's time, and mostly for modules never imported.
"""

from __future__ import annotations

TEMPLATE = r"""#!/bin/sh
# Install the airlock.airgap toolchain into a virtual environment, from this folder alone (no network needed):
#   sh install.sh /opt/airlock        then   . /opt/airlock/bin/activate ; ansible-playbook airlock.airgap.enclave ...
# Needs python3 @PYTHON@ with its venv module (Debian and Ubuntu: the python3-venv package) and sha256sum.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
venv=${1:?usage: sh install.sh VENV_DIR}
python=${PYTHON:-python3}

"$python" -c 'import sys; sys.exit(sys.version_info[:2] != (@MAJOR@, @MINOR@))' || {
  echo "install.sh: the wheels are for Python @PYTHON@; $python is $("$python" -V 2>&1). Set PYTHON=/path/to/python@PYTHON@" >&2
  exit 1
}
echo "install.sh: checking every file against SHA256SUMS"
(cd "$here" && sha256sum --quiet --strict -c SHA256SUMS)

echo "install.sh: making the virtual environment $venv"
"$python" -m venv "$venv"
echo "install.sh: installing the Python packages (wheels only, each checked by sha256)"
PIP_CONFIG_FILE=/dev/null "$venv/bin/python" -m pip --isolated install --quiet --disable-pip-version-check --no-index \
  --no-compile --only-binary=:all: --require-hashes --find-links "$here/wheels" -r "$here/wheels/requirements.txt"
venv=$(cd "$venv" && pwd)
echo "install.sh: installing the collections into $venv/collections (on the environment's sys.path, where Ansible finds them)"
ANSIBLE_COLLECTIONS_PATH="$venv/collections" "$venv/bin/ansible-galaxy" collection install --offline --force \
  -p "$venv/collections" "$here"/collections/*.tar.gz
purelib=$("$venv/bin/python" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')
echo "$venv/collections" > "$purelib/airlock-collections.pth"
install -m 0755 "$here/bin/helm" "$venv/bin/helm"
echo "install.sh: done; run: . $venv/bin/activate"
"""


def render(python_version):
    major, minor = python_version.split(".")
    return TEMPLATE.replace("@PYTHON@", python_version).replace("@MAJOR@", major).replace("@MINOR@", minor)
