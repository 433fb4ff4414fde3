#!/usr/bin/python
# Copyright (c) 2026, airlock.airgap contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r"""
---
module: wheel_mirror
short_description: Download Python packages for the enclave's platform and Python into a folder pip installs from offline
version_added: 0.1.0
description:
  - Runs C(pip download) (the pip of the Python running the module, with its configured index) for the enclave's platform
    (O(platform)), Python (O(python_version)), implementation and ABI, binary wheels only, into O(dest). Every wheel is checked
    again against the tags that target installs, so a wheel built for the machine running the download is refused, never carried.
  - Packages named in O(sdists) are carried as source distributions instead (C(--no-deps); list their dependencies in O(requirements)).
  - Each file is hashed before it gets its name beside the others. O(dest) gets C(requirements.txt), every distribution pinned by
    version and sha256, for C(pip install --no-index --find-links DEST --require-hashes -r DEST/requirements.txt), and C(simple/),
    a PEP 503 index (C(simple/PROJECT/index.html) linking C(../../FILE#sha256=...)) that any static web server or S3 bucket serves
    as C(--index-url). Distributions of earlier runs that are no longer required are removed.
  - With O(lock_file), the files and their sha256 are recorded in its C(wheels) section, which pins them - an index serving other
    bytes under a recorded file name later is refused.
author:
  - airlock.airgap maintainers (@airlock)
extends_documentation_fragment:
  - airlock.airgap.wheel_target
  - airlock.airgap.attributes
  - airlock.airgap.network
attributes:
  check_mode:
    support: full
    details: Resolves and downloads into a temporary folder to compare, and writes nothing in O(dest) or the lock.
  diff_mode:
    support: none
  idempotent:
    support: full
    details: A second run reuses the cached resolution (unless O(refresh)) and rewrites nothing.
requirements:
  - pip and packaging in the Python running the module (the connected side, with a package index)
options:
  requirements:
    description: Requirement specifiers (V(nv-ingest-client==25.9.0), V(requests>=2.31)).
    type: list
    elements: str
    default: []
  requirements_file:
    description: A requirements file, its lines added to O(requirements) (comments and blank lines skipped; no pip options).
    type: path
  sdists:
    description: Requirement specifiers carried as source distributions (no wheel for the target exists); downloaded with C(--no-deps).
    type: list
    elements: str
    default: []
  dest:
    description: The folder (a bundle's C(wheels/)).
    type: path
    required: true
  lock_file:
    description: The lock (C(airlock.lock.json)) whose C(wheels) section records every file and its sha256.
    type: path
"""

EXAMPLES = r"""
- name: Client wheels for the enclave's arm64 nodes, into the bundle
  airlock.airgap.wheel_mirror:
    requirements: [nv-ingest-client==25.9.0]
    platform: [manylinux2014_aarch64]
    python_version: "3.11"
    dest: /srv/bundle/wheels
    lock_file: /srv/bundle/airlock.lock.json

# In the enclave:
#   pip install --no-index --find-links /media/bundle/wheels --require-hashes -r /media/bundle/wheels/requirements.txt
#   or serve /media/bundle/wheels over HTTP and: pip install --index-url http://pypi.enclave/simple/ nv-ingest-client
"""

RETURN = r"""
wheels:
  description: Every distribution in O(dest).
  returned: always
  type: list
  elements: dict
  contains:
    file:
      description: The file name.
      type: str
    project:
      description: The project's normalised name.
      type: str
    version:
      description: Its version.
      type: str
    kind:
      description: V(wheel) or V(sdist).
      type: str
    sha256:
      description: Its sha256.
      type: str
    size:
      description: Its size in bytes.
      type: int
requirements_file:
  description: The pinned, hashed requirements file in O(dest).
  returned: always
  type: str
index:
  description: The PEP 503 index folder in O(dest).
  returned: always
  type: str
bytes:
  description: The size of all distributions.
  returned: always
  type: int
seconds:
  description: Time taken.
  returned: always
  type: float
"""

import os
import time

from ansible.module_utils.basic import AnsibleModule, missing_required_lib

from ansible_collections.airlock.airgap.plugins.module_utils.arguments import refuse_nul_bytes
from ansible_collections.airlock.airgap.plugins.module_utils.errors import EXPECTED_ERRORS, fail_from_exception
from ansible_collections.airlock.airgap.plugins.module_utils.http import transport as network
from ansible_collections.airlock.airgap.plugins.module_utils.wheels import download, target

ARGUMENT_SPEC = dict(
    target.ARGUMENT_SPEC,
    requirements=dict(type="list", elements="str", default=[]),
    requirements_file=dict(type="path"),
    sdists=dict(type="list", elements="str", default=[]),
    dest=dict(type="path", required=True),
    lock_file=dict(type="path"),
    **network.ARGUMENT_SPEC,
)


def requirements_of(params):
    """The requirement specifiers, a file's lines included."""
    return list(params["requirements"]) + (download.read_requirements(params["requirements_file"]) if params["requirements_file"] else [])


def main():
    module = AnsibleModule(argument_spec=ARGUMENT_SPEC, supports_check_mode=True)
    refuse_nul_bytes(module)
    if target.PACKAGING_IMPORT_ERROR:
        module.fail_json(msg=missing_required_lib("packaging"), exception=target.PACKAGING_IMPORT_ERROR)
    params = module.params
    started = time.monotonic()
    try:
        wanted = target.Target.from_params(params)
        records, changed = download.download(requirements_of(params), params["sdists"], params["dest"], wanted,
                                             params["lock_file"], module.check_mode, cache_dir=params["cache_dir"] or None,
                                             refresh=params["refresh"], network=network.checked(params))
    except EXPECTED_ERRORS as error:
        fail_from_exception(module, error, where=params["dest"])
    module.exit_json(changed=changed, wheels=records, bytes=sum(record["size"] for record in records),
                     requirements_file=os.path.join(params["dest"], download.REQUIREMENTS), index=os.path.join(params["dest"], download.INDEX),
                     seconds=round(time.monotonic() - started, 3))


if __name__ == "__main__":
    main()
