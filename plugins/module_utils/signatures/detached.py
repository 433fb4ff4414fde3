# Copyright (c) 2026, airlock.airgap contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Detached signatures of the bundle's own files (its lock, its volume index), made and checked.

Beside each file F: `F.sig`, base64 DER ECDSA over SHA-256 of F as `cosign sign-blob` writes it
(`base64 -d F.sig > F.der; openssl dgst -sha256 -verify KEY.pub -signature F.der F` checks it),
and `F.sigstore.json`, a v0.3 sigstore bundle of the same signature (`cosign verify-blob --bundle`);
or, for teams that keep SSH keys, `F.sshsig` from `ssh-keygen -Y sign` with a namespace. Signing
is idempotent: a file whose signatures already verify with the signer's key is left as it is.
Verification refuses a missing signature, one by a key outside the allowed list, and a file
changed after it was signed.
"""

from __future__ import annotations

import base64
import hashlib
import os
import subprocess
import tempfile

from ansible_collections.airlock.airgap.plugins.module_utils.integrity import atomic
from ansible_collections.airlock.airgap.plugins.module_utils.signatures import keys as key_lib, sigstore_bundle
from ansible_collections.airlock.airgap.plugins.module_utils.signatures.errors import SignatureError

SIGNATURE_SUFFIX = ".sig"
BUNDLE_SUFFIX = ".sigstore.json"
SSH_SUFFIX = ".sshsig"
SSH_TIMEOUT = 60


def sign(signer, path, check_mode=False):
    """Write F.sig and F.sigstore.json for the file at path; True when they were (or would be) written.

    In check mode a file not written yet (by an earlier task that also only reported) would be signed."""
    if check_mode and not os.path.exists(path):
        return True
    data = _read(path)
    if _signed_by(signer.public_key, path, data):
        return False
    if not check_mode:
        bundle = sigstore_bundle.build(signer, data)
        atomic.write_text(path + SIGNATURE_SUFFIX, bundle["messageSignature"]["signature"])
        atomic.write_text(path + BUNDLE_SUFFIX, sigstore_bundle.json_text(bundle))
    return True


def write_public_key(signer, path, check_mode=False):
    """The signer's public key as PEM at path; True when it changes."""
    pem = signer.public_key.pem
    try:
        with open(path, encoding="ascii") as handle:
            if handle.read() == pem:
                return False
    except (FileNotFoundError, UnicodeDecodeError):
        pass
    if not check_mode:
        atomic.write_text(path, pem)
    return True


def verify(allowed_keys, path):
    """The fingerprint of the allowed key that signed the file; SignatureError says why not."""
    data = _read(path)
    signature_path = path + SIGNATURE_SUFFIX
    if not os.path.exists(signature_path):
        raise SignatureError(f"{path} is not signed ({os.path.basename(signature_path)} is missing): this bundle was not signed, "
                             "or its signature was not carried; refused as the policy asks for a signed bundle")
    signature = key_lib.b64decode(_read(signature_path).strip(), signature_path)
    signer = next((key for key in allowed_keys if key.verifies(signature, data)), None)
    if signer is None:
        raise SignatureError(f"{path}: its signature {os.path.basename(signature_path)} does not verify with any allowed key "
                             f"({', '.join(key.fingerprint for key in allowed_keys)}): the file was changed after signing, or "
                             "another key signed it; get the bundle again from its source")
    bundle_path = path + BUNDLE_SUFFIX
    if os.path.exists(bundle_path):
        bundle = sigstore_bundle.load(_read(bundle_path), bundle_path)
        _fingerprint, problem = sigstore_bundle.verify_for_file(bundle, allowed_keys, hashlib.sha256(data).digest(), path)
        if problem:
            raise SignatureError(f"{bundle_path}: {problem}")
    return signer.fingerprint


def ssh_sign(key_path, namespace, path, check_mode=False):
    """Write F.sshsig with ssh-keygen -Y sign (an unencrypted key, or one whose .pub the agent holds); True when written."""
    if check_mode and not os.path.exists(path):
        return True
    public_line = _ssh_public_line(key_path)
    with tempfile.TemporaryDirectory(prefix="airlock-ssh-") as scratch:
        allowed = os.path.join(scratch, "allowed_signers")
        with open(allowed, "w", encoding="ascii") as handle:
            handle.write(f"signer {public_line}\n")
        if os.path.exists(path + SSH_SUFFIX) and _ssh_verified(allowed, "signer", namespace, path):
            return False
    if not check_mode:
        with open(path, "rb") as source:
            completed = _ssh_keygen(["-Y", "sign", "-f", key_path, "-n", namespace], source)
        if completed.returncode != 0:
            raise SignatureError(f"ssh-keygen -Y sign with {key_path} failed: {completed.stderr.decode(errors='replace').strip()}")
        atomic.write_text(path + SSH_SUFFIX, completed.stdout.decode("ascii"))
    return True


def ssh_verify(allowed_signers, identity, namespace, path):
    """Check F.sshsig against an allowed_signers file for identity and namespace; SignatureError says why not."""
    _read(path)
    if not os.path.exists(path + SSH_SUFFIX):
        raise SignatureError(f"{path} is not signed ({os.path.basename(path)}{SSH_SUFFIX} is missing): refused as the policy asks "
                             "for a signed bundle")
    if not _ssh_verified(allowed_signers, identity, namespace, path):
        raise SignatureError(f"{path}: its SSH signature does not verify for {identity} in namespace {namespace} with "
                             f"{allowed_signers}: the file was changed after signing, or another key signed it")
    return identity


def _ssh_verified(allowed_signers, identity, namespace, path):
    with open(path, "rb") as source:
        completed = _ssh_keygen(["-Y", "verify", "-f", allowed_signers, "-I", identity, "-n", namespace, "-s", path + SSH_SUFFIX], source)
    return completed.returncode == 0


def _ssh_public_line(key_path):
    try:
        with open(key_path + ".pub", encoding="ascii") as handle:
            return handle.read().strip()
    except FileNotFoundError as error:
        completed = _ssh_keygen(["-y", "-P", "", "-f", key_path], subprocess.DEVNULL)
        if completed.returncode != 0:
            raise SignatureError(f"{key_path}: its public key cannot be read (no {key_path}.pub, and ssh-keygen -y failed: "
                                 f"{completed.stderr.decode(errors='replace').strip()}); put the .pub beside it") from error
        return completed.stdout.decode("ascii").strip()


def _ssh_keygen(arguments, stdin):
    try:
        return subprocess.run(["ssh-keygen", *arguments], stdin=stdin, capture_output=True, timeout=SSH_TIMEOUT, check=False)
    except FileNotFoundError as error:
        raise SignatureError("ssh-keygen is not installed: install OpenSSH's client (Debian openssh-client)") from error


def _signed_by(public_key, path, data):
    """Both signature files there and verifying with public_key over data (ECDSA signatures differ on every run)."""
    try:
        signature = base64.b64decode(_read(path + SIGNATURE_SUFFIX).strip(), validate=True)
        bundle = sigstore_bundle.load(_read(path + BUNDLE_SUFFIX), path + BUNDLE_SUFFIX)
    except (SignatureError, ValueError):
        return False
    fingerprint, _problem = sigstore_bundle.verify_for_file(bundle, [public_key], hashlib.sha256(data).digest(), path)
    return public_key.verifies(signature, data) and fingerprint is not None


def _read(path):
    try:
        with open(path, "rb") as handle:
            return handle.read()
    except FileNotFoundError as error:
        raise SignatureError(f"{path} does not exist") from error
    except OSError as error:
        raise SignatureError(f"{path} cannot be read ({error.strerror})") from error
