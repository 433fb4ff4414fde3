# Copyright (c) 2026, airlock.airgap contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Legacy cosign signatures: one layer of a `sha256-<hex>.sig` manifest, checked as cosign checks it.

The layer is the simple-signing JSON; the `dev.cosignproject.cosign/signature` annotation is a
base64 DER signature over those exact bytes. The signature is checked first (nothing unsigned is
parsed for meaning), then the payload must name the image digest in
`critical.image.docker-manifest-digest`, so a signature moved from another image proves nothing.
"""

from __future__ import annotations

import json

from ansible_collections.airlock.airgap.plugins.module_utils.signatures import keys as key_lib, trusted_root as roots

LAYER_MEDIA_TYPE = "application/vnd.dev.cosign.simplesigning.v1+json"
SIGNATURE_ANNOTATION = "dev.cosignproject.cosign/signature"
CERTIFICATE_ANNOTATION = "dev.sigstore.cosign/certificate"
REKOR_BUNDLE_ANNOTATION = "dev.sigstore.cosign/bundle"
KEYLESS_NOT_OFFLINE = ("it is a keyless signature (a Fulcio certificate, no key of the policy verifies it): keyless "
                       "signatures are not verified offline by this collection; sign with a key and list its public key, "
                       "or verify it on the connected side with cosign")


def verify_layer(payload, annotations, allowed_keys, signed_digest, root=None):
    """(fingerprint of the key that signed, None) or (None, why not) for one simple-signing layer."""
    try:
        signature = key_lib.b64decode(annotations.get(SIGNATURE_ANNOTATION, ""), f"annotation {SIGNATURE_ANNOTATION}")
    except key_lib.SignatureError as error:
        return None, str(error)
    if not signature:
        return None, f"the layer has no {SIGNATURE_ANNOTATION} annotation"
    signer = next((key for key in allowed_keys if key.verifies(signature, payload)), None)
    if signer is None:
        if annotations.get(CERTIFICATE_ANNOTATION):
            return None, KEYLESS_NOT_OFFLINE
        return None, "the signature does not verify with any allowed key (another key signed it, or the payload was altered)"
    problem = payload_problem(payload, signed_digest)
    if problem is None and root is not None:
        bundle = annotations.get(REKOR_BUNDLE_ANNOTATION)
        problem = (roots.verify_set(root, bundle, signature, payload) if bundle
                   else f"it carries no Rekor entry ({REKOR_BUNDLE_ANNOTATION}) while the policy names a trusted root")
    return (None, problem) if problem else (signer.fingerprint, None)


def payload_problem(payload, signed_digest):
    """Why a verified simple-signing payload does not vouch for signed_digest, or None."""
    try:
        named = json.loads(payload)["critical"]["image"]["docker-manifest-digest"]
    except (ValueError, TypeError, KeyError):
        return "the signed payload is not simple-signing JSON (no critical.image.docker-manifest-digest)"
    if named != signed_digest:
        return f"the signature is for another image: its payload names {named}"
    return None
