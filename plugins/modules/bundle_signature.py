#!/usr/bin/python
# Copyright (c) 2026, airlock.airgap contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r"""
---
module: bundle_signature
short_description: Sign the bundle's lock and volume index on the connected side, verify them in the enclave
version_added: 0.1.0
description:
  - With O(state=signed), writes beside each of O(files) a detached signature C(F.sig) (base64 DER ECDSA over SHA-256 of the
    file, as C(cosign sign-blob) writes it) and a sigstore bundle C(F.sigstore.json) (v0.3, C(messageSignature), the key named by
    its C(publicKey) hint), made with an ECDSA P-256 private key (encrypted PEM, as C(cosign generate-key-pair) or C(openssl)
    write it); with O(public_key_dest) the public key is written too. Anyone can check them with
    C(base64 -d F.sig > F.der && openssl dgst -sha256 -verify KEY.pub -signature F.der F),
    C(cosign verify-blob --key KEY.pub --signature F.sig --insecure-ignore-tlog F), or this module.
  - With O(ssh_key) instead, writes C(F.sshsig) with C(ssh-keygen -Y sign) in O(namespace) (for teams that keep SSH keys; the
    key is unencrypted, or held by the SSH agent with its C(.pub) beside the path given).
  - With O(state=verified), refuses a file with no signature, one no key of O(public_keys) made (or no signer of
    O(allowed_signers) for O(identity) with SSH), and one changed after it was signed. Nothing is written.
  - Signing is idempotent - a file whose signatures already verify with the key is left alone.
author:
  - airlock.airgap maintainers (@airlock)
extends_documentation_fragment:
  - airlock.airgap.attributes
attributes:
  check_mode:
    support: full
    details: Reports which signatures would be written, writing nothing; verification runs as usual.
  diff_mode:
    support: none
  idempotent:
    support: full
requirements:
  - cryptography (for ECDSA keys)
  - ssh-keygen (OpenSSH 8.1 or later, for SSH signatures)
options:
  state:
    description: V(signed) writes the signatures; V(verified) checks them.
    type: str
    choices: [signed, verified]
    default: verified
  files:
    description: The files signed or verified (the bundle's C(airlock.lock.json), the volumes' C(NAME.index.json)).
    type: list
    elements: path
    required: true
  key:
    description: With O(state=signed), the ECDSA P-256 private key (PEM, encrypted or not).
    type: path
  key_password:
    description: The private key's password (from a variable, the environment or an AWX credential).
    type: str
  public_key_dest:
    description: With O(key), also write its public key (PEM) here, to carry with the volumes.
    type: path
  ssh_key:
    description: With O(state=signed), sign with this SSH private key (C(ssh-keygen -Y sign)) instead of O(key).
    type: path
  namespace:
    description: The SSH signature namespace; signer and verifier must agree.
    type: str
    default: airlock-bundle
  public_keys:
    description: With O(state=verified), the allowed signers' public keys (PEM text or paths).
    type: list
    elements: str
  allowed_signers:
    description: With O(state=verified), an C(allowed_signers) file (C(ssh-keygen) format) for SSH signatures.
    type: path
  identity:
    description: The principal of O(allowed_signers) the SSH signature must belong to.
    type: str
    default: airlock
"""

EXAMPLES = r"""
- name: Sign the lock and the volume index (connected side)
  airlock.airgap.bundle_signature:
    state: signed
    files: [/srv/bundle/airlock.lock.json, /media/usb/embedding-server.index.json]
    key: /etc/airlock/cosign.key
    key_password: "{{ lookup('ansible.builtin.env', 'COSIGN_PASSWORD') }}"
    public_key_dest: /media/usb/embedding-server.pub

- name: Refuse volumes our release key did not sign, before anything is unpacked (enclave)
  airlock.airgap.bundle_signature:
    state: verified
    files: [/media/usb/embedding-server.index.json]
    public_keys: [/etc/airlock/release.pub]

- name: The same with SSH signatures
  airlock.airgap.bundle_signature:
    state: verified
    files: [/media/usb/embedding-server.index.json]
    allowed_signers: /etc/airlock/allowed_signers
    identity: release@example.org
"""

RETURN = r"""
files:
  description: Each file, with C(signed_by) (the key's C(SHA256:<hex>) fingerprint or the SSH identity) and C(changed).
  returned: always
  type: list
  elements: dict
public_key:
  description: The signing key's fingerprint, with O(key).
  returned: when O(key) is given
  type: str
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.airlock.airgap.plugins.module_utils.arguments import refuse_nul_bytes
from ansible_collections.airlock.airgap.plugins.module_utils.errors import EXPECTED_ERRORS, fail_from_exception
from ansible_collections.airlock.airgap.plugins.module_utils.signatures import detached, keys as key_lib
from ansible_collections.airlock.airgap.plugins.module_utils.signatures.errors import SignatureError

ARGUMENT_SPEC = dict(
    state=dict(type="str", choices=["signed", "verified"], default="verified"),
    files=dict(type="list", elements="path", required=True),
    key=dict(type="path", no_log=False),
    key_password=dict(type="str", no_log=True),
    public_key_dest=dict(type="path"),
    ssh_key=dict(type="path", no_log=False),
    namespace=dict(type="str", default="airlock-bundle"),
    public_keys=dict(type="list", elements="str", no_log=False),
    allowed_signers=dict(type="path"),
    identity=dict(type="str", default="airlock"),
)


def sign(module):
    params = module.params
    if params["ssh_key"]:
        entries = [dict(file=path, signed_by=params["ssh_key"],
                        changed=detached.ssh_sign(params["ssh_key"], params["namespace"], path, module.check_mode))
                   for path in params["files"]]
        return dict(files=entries, changed=any(entry["changed"] for entry in entries))
    if not params["key"]:
        raise SignatureError("state=signed needs the signing key: key (an ECDSA P-256 PEM private key) or ssh_key")
    signer = key_lib.load_signer(params["key"], params["key_password"])
    entries = [dict(file=path, signed_by=signer.public_key.fingerprint, changed=detached.sign(signer, path, module.check_mode))
               for path in params["files"]]
    changed = any(entry["changed"] for entry in entries)
    if params["public_key_dest"]:
        changed = detached.write_public_key(signer, params["public_key_dest"], module.check_mode) or changed
    return dict(files=entries, changed=changed, public_key=signer.public_key.fingerprint)


def verify(module):
    params = module.params
    if params["allowed_signers"]:
        signed_by = [detached.ssh_verify(params["allowed_signers"], params["identity"], params["namespace"], path) for path in params["files"]]
    elif params["public_keys"]:
        allowed = key_lib.load_public_keys(params["public_keys"], "public_keys")
        signed_by = [detached.verify(allowed, path) for path in params["files"]]
    else:
        raise SignatureError("state=verified needs the keys to accept: public_keys (PEM public keys) or allowed_signers (SSH)")
    return dict(files=[dict(file=path, signed_by=signer, changed=False) for path, signer in zip(params["files"], signed_by)], changed=False)


def main():
    module = AnsibleModule(
        argument_spec=ARGUMENT_SPEC, supports_check_mode=True,
        mutually_exclusive=[("key", "ssh_key"), ("public_keys", "allowed_signers")],
        required_if=[("state", "signed", ("key", "ssh_key"), True), ("state", "verified", ("public_keys", "allowed_signers"), True)],
    )
    refuse_nul_bytes(module)
    try:
        result = sign(module) if module.params["state"] == "signed" else verify(module)
    except EXPECTED_ERRORS as error:
        fail_from_exception(module, error)
    module.exit_json(**result)


if __name__ == "__main__":
    main()
