#!/usr/bin/python
# Copyright (c) 2026, airlock.airgap contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r"""
---
module: checksum
short_description: Write or verify a SHA256SUMS file for a directory tree, in parallel
version_added: 0.1.0
description:
  - With O(state=present), writes C(SHA256SUMS) for every regular file under O(path) in exactly the format of
    C(sha256sum), so C(sha256sum -c SHA256SUMS) passes on it too. An up-to-date file is not rewritten.
  - With O(state=verified), checks the tree against it and fails listing every missing, extra and mismatched file.
  - Files are hashed on every core at once. Files named by their own digest (C(blobs/sha256/<hex>) in OCI layouts,
    C(blobs/<sha256>) in Hugging Face caches) can be verified by name with no sums file (O(by_name)).
  - Symbolic links are structure, not content, and are not listed.
author:
  - airlock.airgap maintainers (@airlock)
extends_documentation_fragment:
  - airlock.airgap.attributes
attributes:
  check_mode:
    support: full
    details: O(state=present) hashes the tree and reports whether the sums file would change, writing nothing.
  diff_mode:
    support: none
  idempotent:
    support: full
options:
  path:
    description: The directory tree, for example a bundle.
    type: path
    required: true
  state:
    description: V(present) writes the sums file; V(verified) checks the tree against it.
    type: str
    choices: [present, verified]
    default: verified
  sums_file:
    description: The sums file. Defaults to C(SHA256SUMS) in O(path); it never lists itself.
    type: path
  by_name:
    description:
      - Also verify files named by their own sha256 (C(blobs/sha256/<hex>), C(blobs/<hex>)) against their names.
      - With no sums file, these are all that is verified.
    type: bool
    default: false
  workers:
    description: Files hashed at once. Defaults to the number of cores.
    type: int
  report:
    description:
      - With O(state=verified), write a JSON verification report here (what was checked, against which digests,
        when, with what result) to file as evidence. Written whether the check passes or fails.
    type: path
  progress_file:
    description:
      - Rewrite this JSON file about once a second with files and bytes done, so a person (or C(async_status)) can
        follow an hour-long check.
    type: path
"""

EXAMPLES = r"""
- name: Seal the bundle on the connected side
  airlock.airgap.checksum:
    path: /srv/bundle
    state: present

- name: Prove the bundle whole in the enclave, with evidence for the security officer
  airlock.airgap.checksum:
    path: /media/usb/bundle
    state: verified
    report: /var/log/airlock/bundle-verification.json
    progress_file: /tmp/bundle-verify.progress.json

- name: Verify an OCI layout's blobs by their own names, no sums file needed
  airlock.airgap.checksum:
    path: /srv/bundle/images
    by_name: true
"""

RETURN = r"""
files:
  description: Files hashed.
  returned: always
  type: int
bytes:
  description: Bytes hashed.
  returned: always
  type: int
seconds:
  description: Time taken.
  returned: always
  type: float
sums_file:
  description: The sums file written or checked.
  returned: always
  type: str
missing:
  description: Files the sums file lists that are not in the tree.
  returned: when O(state=verified)
  type: list
  elements: str
extra:
  description: Files in the tree that the sums file does not list.
  returned: when O(state=verified)
  type: list
  elements: str
mismatched:
  description: Files whose content does not match their listed digest.
  returned: when O(state=verified)
  type: list
  elements: str
report:
  description: The verification report written, when O(report) was given.
  returned: when O(report) is set and O(state=verified)
  type: str
"""

import os
import time

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.airlock.airgap.plugins.module_utils.errors import EXPECTED_ERRORS, fail_from_exception
from ansible_collections.airlock.airgap.plugins.module_utils.integrity import sums

ARGUMENT_SPEC = dict(
    path=dict(type="path", required=True),
    state=dict(type="str", choices=["present", "verified"], default="verified"),
    sums_file=dict(type="path"),
    by_name=dict(type="bool", default=False),
    workers=dict(type="int"),
    report=dict(type="path"),
    progress_file=dict(type="path"),
)


def seal(module, root, sums_path):
    started = time.monotonic()
    changed, files, total = sums.write(root, sums_path, module.params["workers"], module.params["progress_file"], module.check_mode)
    module.exit_json(changed=changed, files=files, bytes=total, seconds=round(time.monotonic() - started, 3), sums_file=sums_path)


def check(module, root, sums_path):
    found = sums.verify(root, sums_path, module.params["workers"], module.params["progress_file"], module.params["by_name"])
    result = dict(changed=False, files=found.checked, sums_file=sums_path, **{k: v for k, v in found.summary().items() if k != "checked"})
    if module.params["report"]:
        sums.write_report(module.params["report"], root, sums_path, found)
        result["report"] = module.params["report"]
    if not found.ok:
        counts = ", ".join(f"{len(getattr(found, kind))} {kind}" for kind in ("missing", "extra", "mismatched") if getattr(found, kind))
        first = (found.mismatched + found.missing + found.extra)[:5]
        module.fail_json(msg=f"{root} does not match {sums_path}: {counts} (first: {', '.join(first)})", **result)
    module.exit_json(**result)


def main():
    module = AnsibleModule(argument_spec=ARGUMENT_SPEC, supports_check_mode=True)
    root = module.params["path"]
    if not os.path.isdir(root):
        module.fail_json(msg=f"{root} is not a directory: give the bundle (or any tree) to sum")
    sums_path = module.params["sums_file"] or os.path.join(root, sums.SUMS_NAME)
    try:
        if module.params["state"] == "present":
            seal(module, root, sums_path)
        else:
            check(module, root, sums_path)
    except EXPECTED_ERRORS as error:
        fail_from_exception(module, error, where=root)


if __name__ == "__main__":
    main()
