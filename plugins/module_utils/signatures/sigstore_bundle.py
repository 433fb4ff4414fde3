# Copyright (c) 2026, airlock.airgap contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Sigstore bundles (v0.1 to v0.3), key-based: read and verified for images, written for the bundle's own files.

A key-based bundle names its key by a hint (`verificationMaterial.publicKey.hint`); its content is
a `messageSignature` (a signature over the message whose SHA-256 is `messageDigest`) or a
`dsseEnvelope`. For an image the message digest must be the image digest (or the envelope's
in-toto subject must name it). A bundle with a certificate is keyless: it needs Fulcio, CT and
Rekor proofs checked against a trusted root, which this collection does not do offline, and
says so rather than passing it.
"""

from __future__ import annotations

import base64
import hashlib
import json

from ansible_collections.airlock.airgap.plugins.module_utils.signatures import dsse, keys as key_lib, simplesigning
from ansible_collections.airlock.airgap.plugins.module_utils.signatures.errors import SignatureError

MEDIA_TYPE_V03 = "application/vnd.dev.sigstore.bundle.v0.3+json"
MEDIA_TYPE_PREFIX = "application/vnd.dev.sigstore.bundle"


def load(raw, what):
    """A bundle document from bytes, its outer shape checked; SignatureError names what."""
    try:
        bundle = json.loads(raw)
    except (ValueError, UnicodeDecodeError) as error:
        raise SignatureError(f"{what} is not JSON ({error})") from error
    if not isinstance(bundle, dict) or not str(bundle.get("mediaType", "")).startswith(MEDIA_TYPE_PREFIX):
        raise SignatureError(f"{what} is not a sigstore bundle (mediaType {MEDIA_TYPE_PREFIX}.v0.x+json expected)")
    material = bundle.get("verificationMaterial")
    if not isinstance(material, dict):
        raise SignatureError(f"{what} has no verificationMaterial")
    return bundle


def verify_for_image(bundle, allowed_keys, signed_digest):
    """(fingerprint, None) or (None, why not) for a bundle that should vouch for the image signed_digest."""
    problem = _keyless_problem(bundle)
    if problem:
        return None, problem
    candidates = key_lib.matching(allowed_keys, _hint(bundle))
    if "dsseEnvelope" in bundle:
        return dsse.verify_envelope(bundle["dsseEnvelope"], candidates, signed_digest)
    return _verify_message(bundle, candidates, bytes.fromhex(signed_digest.split(":", 1)[1]), f"the image {signed_digest}")


def verify_for_file(bundle, allowed_keys, data_digest, what):
    """(fingerprint, None) or (None, why not) for a bundle over a file whose SHA-256 is data_digest (bytes)."""
    problem = _keyless_problem(bundle)
    if problem:
        return None, problem
    if "messageSignature" not in bundle:
        return None, f"the sigstore bundle of {what} holds no messageSignature"
    return _verify_message(bundle, key_lib.matching(allowed_keys, _hint(bundle)), data_digest, what)


def build(signer, data):
    """A v0.3 bundle: messageSignature over data, the key named by its fingerprint hint (cosign sign-blob --new-bundle-format)."""
    return {
        "mediaType": MEDIA_TYPE_V03,
        "verificationMaterial": {"publicKey": {"hint": signer.public_key.fingerprint.split(":", 1)[1]}},
        "messageSignature": {
            "messageDigest": {"algorithm": "SHA2_256", "digest": base64.b64encode(hashlib.sha256(data).digest()).decode()},
            "signature": base64.b64encode(signer.sign(data)).decode(),
        },
    }


def _verify_message(bundle, candidates, expected_digest, what):
    try:
        message = bundle["messageSignature"]
        algorithm = message["messageDigest"]["algorithm"]
        digest = key_lib.b64decode(message["messageDigest"]["digest"], "messageDigest.digest")
        signature = key_lib.b64decode(message["signature"], "messageSignature.signature")
    except (KeyError, TypeError, SignatureError) as error:
        return None, f"the sigstore bundle's messageSignature is malformed ({error})"
    if algorithm != "SHA2_256":
        return None, f"the sigstore bundle's message digest is {algorithm}, not SHA2_256"
    if digest != expected_digest:
        return None, f"the sigstore bundle signs another message than {what} (sha256:{digest.hex()})"
    signer = next((key for key in candidates if key.verifies_digest(signature, digest)), None)
    if signer is None:
        return None, "the sigstore bundle's signature does not verify with any allowed key (another key signed it, or it was altered)"
    return signer.fingerprint, None


def _hint(bundle):
    public_key = bundle["verificationMaterial"].get("publicKey")
    return public_key.get("hint") if isinstance(public_key, dict) else None


def _keyless_problem(bundle):
    material = bundle["verificationMaterial"]
    if any(key in material for key in ("certificate", "x509CertificateChain")):
        return simplesigning.KEYLESS_NOT_OFFLINE
    if "publicKey" not in material:
        return "the sigstore bundle names neither a public key nor a certificate"
    return None


def json_text(bundle):
    return json.dumps(bundle, indent=2, sort_keys=True) + "\n"
