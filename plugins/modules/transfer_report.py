#!/usr/bin/python
# Copyright (c) 2026, airlock.airgap contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r"""
---
module: transfer_report
short_description: Write the transfer report of a bundle, one self-contained HTML page and its JSON twin
version_added: 0.1.0
description:
  - Renders what crosses the gap for a security review, from the bundle's C(airlock.lock.json), its image layout, the
    volumes' index and the verification reports - every image with its platforms, size, digest and source; charts with
    their dependencies; models with revision and files; files, wheels and datasets; totals; the volume and C(SHA256SUMS)
    digests, when and where they were verified; the egress audit's verdict.
  - The page carries its own style and nothing else - no script, font, image or link outside the file - so it opens in
    the enclave too. The totals have ids (C(total-images), C(total-volume-bytes), ...).
  - The JSON report holds the same summary, for machines (and AWX's C(set_stats)).
  - Nothing is rewritten when it would not change, so a second run changes nothing.
author:
  - airlock.airgap maintainers (@airlock)
extends_documentation_fragment:
  - airlock.airgap.attributes
attributes:
  check_mode:
    support: full
    details: Reads everything and reports whether the files would change, writing nothing.
  diff_mode:
    support: none
  idempotent:
    support: full
options:
  path:
    description: The bundle (the folder holding C(airlock.lock.json), C(SHA256SUMS) and C(images/)).
    type: path
    required: true
  name:
    description: The bundle's name, as its volumes are named (C(NAME.tar.000), C(NAME.index.json)).
    type: str
    required: true
  volumes_dir:
    description: The folder of the volumes and their index; their digests and sizes go in the report when the index is there.
    type: path
  volume_report:
    description: The volumes' verification report (M(airlock.airgap.bundle) with O(airlock.airgap.bundle#module:state=verified)).
    type: path
  bundle_report:
    description: The unpacked bundle's verification report against its C(SHA256SUMS) (M(airlock.airgap.bundle) unpacked).
    type: path
  audit:
    description: The egress audit's verdict, as the validate role sums it up.
    type: dict
    suboptions:
      violations:
        description: References that point outside the enclave.
        type: int
        required: true
      summary:
        description: One line saying what was audited.
        type: str
        default: ""
  dest:
    description: The HTML page to write.
    type: path
    required: true
  json_dest:
    description: The JSON report to write beside it.
    type: path
"""

EXAMPLES = r"""
- name: The report, beside the volumes that are carried across
  airlock.airgap.transfer_report:
    path: /srv/bundle
    name: embedding-server
    volumes_dir: /media/usb
    dest: /media/usb/embedding-server.transfer-report.html
    json_dest: /srv/embedding-server.transfer-report.json

- name: The report again in the enclave, with the verification evidence and the audit's verdict
  airlock.airgap.transfer_report:
    path: /srv/bundle
    name: embedding-server
    volumes_dir: /media/usb
    volume_report: /srv/embedding-server.volumes-verification.json
    bundle_report: /srv/embedding-server.bundle-verification.json
    audit: {violations: 0, summary: 1 release audited against registry.enclave:5000/mirror}
    dest: /srv/embedding-server.transfer-report.html
"""

RETURN = r"""
totals:
  description: Counts and sizes of what the bundle carries.
  returned: always
  type: dict
  sample: {images: 3, charts: 1, models: 1, files: 0, platforms: [linux/amd64], image_bytes: 18432, model_bytes: 91618861,
           file_bytes: 0, volumes: 1, volume_bytes: 91729920}
evidence:
  description: The digests of the lock, C(SHA256SUMS) and volumes, and the verification reports' verdicts.
  returned: always
  type: dict
html_file:
  description: The HTML page (O(dest)).
  returned: always
  type: str
json_file:
  description: The JSON report (O(json_dest)).
  returned: when O(json_dest) is set
  type: str
"""

import json

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.airlock.airgap.plugins.module_utils.arguments import refuse_nul_bytes, refuse_scalars_for_dict_options
from ansible_collections.airlock.airgap.plugins.module_utils.errors import EXPECTED_ERRORS, fail_from_exception
from ansible_collections.airlock.airgap.plugins.module_utils.integrity import atomic
from ansible_collections.airlock.airgap.plugins.module_utils.report import evidence, html

ARGUMENT_SPEC = dict(
    path=dict(type="path", required=True),
    name=dict(type="str", required=True),
    volumes_dir=dict(type="path"),
    volume_report=dict(type="path"),
    bundle_report=dict(type="path"),
    audit=dict(type="dict", options=dict(violations=dict(type="int", required=True), summary=dict(type="str", default=""))),
    dest=dict(type="path", required=True),
    json_dest=dict(type="path"),
)


def main():
    refuse_scalars_for_dict_options(ARGUMENT_SPEC)
    module = AnsibleModule(argument_spec=ARGUMENT_SPEC, supports_check_mode=True)
    refuse_nul_bytes(module)
    params = module.params
    try:
        summary = evidence.collect(params["path"], params["name"], params["volumes_dir"], params["volume_report"],
                                   params["bundle_report"], params["audit"])
    except EXPECTED_ERRORS as error:
        fail_from_exception(module, error)
    changed = atomic.write_text_if_changed(params["dest"], html.render(summary), module.check_mode)
    result = dict(totals=summary["totals"], evidence=summary["evidence"], html_file=params["dest"])
    if params["json_dest"]:
        text = json.dumps(summary, indent=2, sort_keys=True) + "\n"
        changed = atomic.write_text_if_changed(params["json_dest"], text, module.check_mode) or changed
        result["json_file"] = params["json_dest"]
    module.exit_json(changed=changed, **result)


if __name__ == "__main__":
    main()
