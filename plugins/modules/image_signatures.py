#!/usr/bin/python
# Copyright (c) 2026, airlock.airgap contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r"""
---
module: image_signatures
short_description: Verify the signatures carried with a bundle's images, offline, against a signature policy
version_added: 0.1.0
description:
  - Reads every image of an OCI image layout (the bundle's C(images/)) and the signatures M(airlock.airgap.image_copy) carried
    beside it with O(airlock.airgap.image_copy#module:include_signatures), and decides for each image whether the policy is met.
    Nothing is fetched; the same check runs on the connected side before packing and in the enclave before the first push.
  - "Formats, each checked as cosign checks it: legacy C(sha256-<hex>.sig) tags (simple-signing payload naming the image digest,
    base64 DER signature over the exact payload bytes, and the Rekor SET of C(dev.sigstore.cosign/bundle) checked with the
    trusted root's log key when the rule names one); C(.att) tags (DSSE envelopes, signature over the pre-authentication
    encoding, in-toto subject equal to the image digest); OCI referrers holding sigstore bundles (v0.1 to v0.3; a
    C(messageSignature) over the image digest or a C(dsseEnvelope)) or DSSE envelopes."
  - Key-based signatures are verified. Keyless signatures (a Fulcio certificate instead of a key) are not verified offline;
    such a signature is reported with that reason and does not count.
  - An image whose rule says C(require=signed) and that no allowed key signed fails the task, naming the image and why, before
    anything else happens to it. C(require=optional) reports the verdict and lets it pass. An image no rule matches is reported
    as C(no policy).
  - With O(lock_file) the digest each image was signed under is read from the lock (a platform subset has a digest of its own);
    with O(record) the verdicts are written into the lock's C(signatures) section.
author:
  - airlock.airgap maintainers (@airlock)
extends_documentation_fragment:
  - airlock.airgap.attributes
attributes:
  check_mode:
    support: full
    details: Verifies everything and reports whether the lock or the report would change, writing nothing.
  diff_mode:
    support: none
  idempotent:
    support: full
requirements:
  - cryptography
options:
  layout:
    description: The OCI image layout holding the images and their signatures (the bundle's C(images/) folder).
    type: path
    required: true
  policy:
    description: Rules tried in order; the first whose O(policy[].match) matches an image decides for it.
    type: list
    elements: dict
    required: true
    suboptions:
      match:
        description: A shell-style pattern matched against the image's name without tag (C(ghcr.io/org/*)) or its full reference.
        type: str
        required: true
      require:
        description: V(signed) refuses an image no allowed key signed; V(optional) only reports.
        type: str
        choices: [signed, optional]
        default: signed
      keys:
        description: The signers' public keys (PEM, PKIX, as C(cosign public-key) writes them), as text or as paths.
        type: list
        elements: str
        default: []
      trusted_root:
        description:
          - A sigstore C(trusted_root.json) carried in the bundle. When set, a legacy signature must also carry a Rekor entry
            whose SET verifies with the log key this root names. A missing or expired root is an error.
        type: path
  lock_file:
    description: The bundle's C(airlock.lock.json); the images' signed digests are read from it, and the verdicts written with O(record).
    type: path
  record:
    description:
      - Write each image's verdict into O(lock_file)'s C(signatures) section (an unchanged verdict keeps its first time).
      - Nothing is recorded when an image is refused, so a lock never vouches for a bundle that was not packed.
    type: bool
    default: false
  report:
    description: Write every verdict here as JSON, as evidence for the transfer; written whether the images pass or not.
    type: path
"""

EXAMPLES = r"""
- name: Refuse to pack an image our release key did not sign
  airlock.airgap.image_signatures:
    layout: /srv/bundle/images
    lock_file: /srv/bundle/airlock.lock.json
    record: true
    policy:
      - match: registry.example/team/*
        require: signed
        keys: ["{{ lookup('ansible.builtin.file', 'cosign.pub') }}"]
      - match: "*"
        require: optional
        keys: [/etc/airlock/vendor.pub]

- name: Verify again in the enclave, before the first push
  airlock.airgap.image_signatures:
    layout: /srv/bundle/images
    lock_file: /srv/bundle/airlock.lock.json
    policy: "{{ airlock.signatures.images }}"
    report: /srv/release/signatures-verification.json
"""

RETURN = r"""
images:
  description: One verdict per image of the layout.
  returned: always
  type: list
  elements: dict
  contains:
    image:
      description: The image's name in the layout.
      type: str
    digest:
      description: Its digest in the layout.
      type: str
    signed_digest:
      description: The digest its signatures must name (the original index when only some platforms were carried).
      type: str
    verdict:
      description: V(verified), V(unverified) (optional, no valid signature), V(refused) (required, none) or V(no policy).
      type: str
    policy:
      description: The O(policy[].match) that decided, or null.
      type: str
    signed_by:
      description: Fingerprints (C(SHA256:<hex>) of the DER public key) of the allowed keys whose signatures verified.
      type: list
      elements: str
    formats:
      description: The formats that verified - C(cosign-sig), C(dsse), C(sigstore-bundle).
      type: list
      elements: str
    signatures:
      description: Every signature found, with its C(format), C(artifact) digest, C(signer) (or null) and C(problem) (or null).
      type: list
      elements: dict
    verified_at:
      description: When it was verified (UTC, ISO 8601).
      type: str
verified:
  description: How many images were signed by an allowed key.
  returned: always
  type: int
refused:
  description: How many images failed a C(signed) rule.
  returned: always
  type: int
"""

import json

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.airlock.airgap.plugins.module_utils.arguments import refuse_nul_bytes
from ansible_collections.airlock.airgap.plugins.module_utils.errors import EXPECTED_ERRORS, fail_from_exception
from ansible_collections.airlock.airgap.plugins.module_utils.integrity.atomic import write_text_if_changed
from ansible_collections.airlock.airgap.plugins.module_utils.oci.layout import Layout
from ansible_collections.airlock.airgap.plugins.module_utils.signatures import images, policy as policies

ARGUMENT_SPEC = dict(
    layout=dict(type="path", required=True),
    policy=dict(type="list", elements="dict", required=True, options=dict(
        match=dict(type="str", required=True),
        require=dict(type="str", choices=list(policies.REQUIRE_CHOICES), default="signed"),
        keys=dict(type="list", elements="str", default=[], no_log=False),
        trusted_root=dict(type="path"),
    )),
    lock_file=dict(type="path"),
    record=dict(type="bool", default=False),
    report=dict(type="path"),
)


def write_report(path, verdicts, check_mode):
    """The verdicts as evidence; True when the file changes (times of unchanged verdicts kept by the caller's lock)."""
    return write_text_if_changed(path, json.dumps({"images": verdicts}, indent=2, sort_keys=True) + "\n", check_mode)


def main():
    module = AnsibleModule(argument_spec=ARGUMENT_SPEC, supports_check_mode=True, required_if=[("record", True, ["lock_file"])])
    refuse_nul_bytes(module)
    params = module.params
    try:
        rules = policies.load_rules(params["policy"])
        source_digests = images.source_digests_of(params["lock_file"]) if params["lock_file"] else {}
        verdicts = images.verify_layout(Layout(params["layout"]), rules, source_digests, images.now_text())
        refused = images.refusals(verdicts)
        changed = write_report(params["report"], verdicts, module.check_mode) if params["report"] else False
        if params["record"] and not refused:
            changed = images.record(params["lock_file"], verdicts, module.check_mode) or changed
    except EXPECTED_ERRORS as error:
        fail_from_exception(module, error)
    result = dict(changed=changed, images=verdicts, verified=sum(v["verdict"] == "verified" for v in verdicts), refused=len(refused))
    if refused:
        module.fail_json(msg=images.refusal_message(refused), **result)
    module.exit_json(**result)


if __name__ == "__main__":
    main()
