#!/usr/bin/python
# Copyright (c) 2026, airlock.airgap contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r"""
---
module: toolchain
short_description: Carry this collection's own toolchain - collections, ansible-core, Python libraries and helm - for an offline install
version_added: 0.1.0
description:
  - Writes into O(dest) (a bundle's C(toolchain/)) everything needed to run this collection in an enclave that has nothing but C(python3)
    and no network, so no C(ansible-galaxy) or C(pip) there reaches for Galaxy or an index.
  - C(collections/) - the tarball of the collection at O(collection_path) and of every collection it depends on (found under
    O(collections_paths)). A checkout (C(galaxy.yml)) is built with C(ansible-galaxy collection build); an installed collection is packed
    as it is on disk, every file first checked against its C(FILES.json) sha256. A tarball with the same C(MANIFEST.json) and
    C(FILES.json) as the one in place is not rewritten.
  - C(wheels/) - O(ansible_core) and every requirement of the collections' C(requirements.txt) (and O(requirements)), downloaded as
    M(airlock.airgap.wheel_mirror) does for the enclave's O(platform) and O(python_version), with a hashed C(requirements.txt).
  - C(bin/helm) - the helm binary O(helm), refused unless its ELF header names the architecture of O(platform).
  - C(install.sh) - C(sh install.sh VENV) checks C(SHA256SUMS), makes a virtual environment with C(python3 -m venv), installs the wheels
    with C(pip --isolated --no-index --require-hashes) (no pip configuration of the machine applies), the collections with
    C(ansible-galaxy collection install --offline) into the environment's C(site-packages) (where Ansible finds them), and helm into its C(bin/).
  - C(SHA256SUMS) - every file of the toolchain.
author:
  - airlock.airgap maintainers (@airlock)
extends_documentation_fragment:
  - airlock.airgap.wheel_target
  - airlock.airgap.attributes
  - airlock.airgap.network
attributes:
  check_mode:
    support: full
    details: Builds and downloads into temporary folders to compare, writing nothing in O(dest).
  diff_mode:
    support: none
  idempotent:
    support: full
    details: A second run reuses the cached resolution (unless O(refresh)) and rewrites no tarball, wheel or script that is unchanged.
requirements:
  - pip, packaging and PyYAML in the Python running the module (the connected side, with a package index)
options:
  dest:
    description: The toolchain folder (a bundle's C(toolchain/)).
    type: path
    required: true
  collection_path:
    description: The collection to carry (its checkout or installed folder; the prepare role gives its own collection).
    type: path
    required: true
  collections_paths:
    description: Folders holding C(ansible_collections/), searched in order for the collection dependencies.
    type: list
    elements: path
    default: []
  platform:
    description: The enclave controller's Linux wheel platform tags, one architecture (V(manylinux2014_x86_64), V(manylinux2014_aarch64)).
  python_version:
    description: The enclave controller's Python, MAJOR.MINOR.
  ansible_core:
    description: The ansible-core requirement; by default the version running this task (V(ansible-core==2.19.14), say).
    type: str
  requirements:
    description: More Python requirements to carry (libraries of the enclave's own playbooks).
    type: list
    elements: str
    default: []
  lock_file:
    description: The bundle's lock (C(airlock.lock.json)); its C(toolchain) section records every file of the toolchain with its sha256.
    type: path
  helm:
    description: The helm binary to carry; by default C(helm) on the C(PATH).
    type: path
"""

EXAMPLES = r"""
- name: The toolchain for an x86_64 enclave controller with Python 3.11
  airlock.airgap.toolchain:
    dest: /srv/bundle/toolchain
    collection_path: "{{ role_path }}/../.."
    platform: [manylinux2014_x86_64]
    python_version: "3.11"

# In the enclave:  sh /media/usb/bundle/toolchain/install.sh /opt/airlock && . /opt/airlock/bin/activate
"""

RETURN = r"""
collections:
  description: The collection tarballs in C(collections/).
  returned: always
  type: list
  elements: str
wheels:
  description: How many distributions C(wheels/) holds.
  returned: always
  type: int
requirements:
  description: The Python requirements carried.
  returned: always
  type: list
  elements: str
architecture:
  description: The CPU architecture of the toolchain.
  returned: always
  type: str
files:
  description: Files in the toolchain (0 in check mode).
  returned: always
  type: int
bytes:
  description: Its size in bytes (0 in check mode).
  returned: always
  type: int
seconds:
  description: Time taken.
  returned: always
  type: float
"""

import time

from ansible.module_utils.basic import AnsibleModule, missing_required_lib
from ansible.module_utils.ansible_release import __version__ as ANSIBLE_CORE_VERSION

from ansible_collections.airlock.airgap.plugins.module_utils.arguments import refuse_nul_bytes
from ansible_collections.airlock.airgap.plugins.module_utils.errors import EXPECTED_ERRORS, fail_from_exception
from ansible_collections.airlock.airgap.plugins.module_utils.http import transport as network
from ansible_collections.airlock.airgap.plugins.module_utils.toolchain import assemble, collections
from ansible_collections.airlock.airgap.plugins.module_utils.wheels import target

ARGUMENT_SPEC = dict(
    target.ARGUMENT_SPEC,
    dest=dict(type="path", required=True),
    collection_path=dict(type="path", required=True),
    collections_paths=dict(type="list", elements="path", default=[]),
    ansible_core=dict(type="str"),
    requirements=dict(type="list", elements="str", default=[]),
    helm=dict(type="path"),
    lock_file=dict(type="path"),
    **network.ARGUMENT_SPEC,
)


def main():
    module = AnsibleModule(argument_spec=ARGUMENT_SPEC, supports_check_mode=True)
    refuse_nul_bytes(module)
    if target.PACKAGING_IMPORT_ERROR:
        module.fail_json(msg=missing_required_lib("packaging"), exception=target.PACKAGING_IMPORT_ERROR)
    if collections.YAML_IMPORT_ERROR:
        module.fail_json(msg=missing_required_lib("PyYAML"), exception=collections.YAML_IMPORT_ERROR)
    params = module.params
    started = time.monotonic()
    try:
        recipe = assemble.Recipe(
            dest=params["dest"], collection_root=params["collection_path"], search_paths=tuple(params["collections_paths"]),
            target=target.Target.from_params(params),
            ansible_core=params["ansible_core"] or f"ansible-core=={ANSIBLE_CORE_VERSION}", extra_requirements=tuple(params["requirements"]),
            helm=params["helm"] or module.get_bin_path("helm"), cache_dir=params["cache_dir"] or None, refresh=params["refresh"],
            lock_file=params["lock_file"], network=network.checked(params),
            check_mode=module.check_mode)
        result = assemble.assemble(recipe)
    except EXPECTED_ERRORS as error:
        fail_from_exception(module, error, where=params["dest"])
    module.exit_json(seconds=round(time.monotonic() - started, 3), **result)


if __name__ == "__main__":
    main()
