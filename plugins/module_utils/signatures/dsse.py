# Copyright (c) 2026, airlock.airgap contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""DSSE envelopes (cosign `.att` layers, and sigstore bundles' dsseEnvelope) holding in-toto statements.

The signature covers the DSSE pre-authentication encoding of payload type and payload, never
the JSON around them; only a verified payload is read, and its in-toto subject must name the
image digest.
"""

from __future__ import annotations

import json

from ansible_collections.airlock.airgap.plugins.module_utils.signatures import keys as key_lib
from ansible_collections.airlock.airgap.plugins.module_utils.signatures.errors import SignatureError

ENVELOPE_MEDIA_TYPE = "application/vnd.dsse.envelope.v1+json"
IN_TOTO_PAYLOAD_TYPE = "application/vnd.in-toto+json"


def pre_authentication_encoding(payload_type, payload):
    """PAE(type, body) = "DSSEv1" SP LEN(type) SP type SP LEN(body) SP body."""
    encoded_type = payload_type.encode()
    return b"DSSEv1 %d %s %d %s" % (len(encoded_type), encoded_type, len(payload), payload)


def verify_envelope(envelope, allowed_keys, signed_digest):
    """(fingerprint, None) or (None, why not) for a DSSE envelope (a dict) naming signed_digest as its subject."""
    try:
        payload_type = envelope["payloadType"]
        payload = key_lib.b64decode(envelope["payload"], "the envelope's payload")
        signatures = [key_lib.b64decode(entry["sig"], "an envelope signature") for entry in envelope["signatures"]]
    except (KeyError, TypeError, SignatureError) as error:
        return None, f"the DSSE envelope is malformed ({error})"
    if not isinstance(payload_type, str):
        return None, "the DSSE envelope's payloadType is not a text"
    message = pre_authentication_encoding(payload_type, payload)
    signer = next((key for key in allowed_keys for signature in signatures if key.verifies(signature, message)), None)
    if signer is None:
        return None, "no envelope signature verifies with an allowed key (another key signed it, or the payload was altered)"
    problem = subject_problem(payload_type, payload, signed_digest)
    return (None, problem) if problem else (signer.fingerprint, None)


def subject_problem(payload_type, payload, signed_digest):
    """Why a verified in-toto statement does not vouch for signed_digest, or None."""
    if payload_type != IN_TOTO_PAYLOAD_TYPE:
        return f"the envelope holds {payload_type!r}, not an in-toto statement ({IN_TOTO_PAYLOAD_TYPE})"
    try:
        subjects = json.loads(payload)["subject"]
        named = [f"sha256:{subject['digest']['sha256']}" for subject in subjects if "sha256" in subject.get("digest", {})]
    except (ValueError, TypeError, KeyError, AttributeError):
        return "the in-toto statement has no subject list with sha256 digests"
    if signed_digest not in named:
        return f"the statement is about another image: its subjects are {', '.join(named) or 'none'}"
    return None


def load_envelope(raw):
    try:
        envelope = json.loads(raw)
    except (ValueError, UnicodeDecodeError) as error:
        raise SignatureError(f"the DSSE envelope is not JSON ({error})") from error
    if not isinstance(envelope, dict):
        raise SignatureError("the DSSE envelope is not a JSON object")
    return envelope
