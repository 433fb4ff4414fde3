# Copyright (c) 2026, airlock.airgap contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The carried trusted root (sigstore's trusted_root.json) and the Rekor signed entry timestamps checked with it.

The enclave cannot ask Sigstore's TUF repository for today's keys, so the trusted root travels
in the bundle and is read as the hostile file it is: every key it names is checked for type and
shape, and a root whose every log key has expired is refused rather than silently trusted. A
Rekor SET (the `dev.sigstore.cosign/bundle` annotation) is verified entirely offline: the log's
signature over the canonical entry, the entry made by the log key the root names for that
log ID and within that key's validity, and the entry's body naming the very signature and payload.
"""

from __future__ import annotations

import base64
import datetime
import hashlib
import json

from ansible_collections.airlock.airgap.plugins.module_utils.signatures import keys as key_lib
from ansible_collections.airlock.airgap.plugins.module_utils.signatures.errors import SignatureError

MEDIA_TYPE_PREFIX = "application/vnd.dev.sigstore.trustedroot+json"


class LogKey:
    """One transparency log key and the span it signed entries in (start, end: aware datetimes or None)."""

    def __init__(self, public_key, start, end):
        self.public_key = public_key
        self.start = start
        self.end = end
        self.log_id = hashlib.sha256(public_key.der).hexdigest()

    def valid_at(self, moment):
        return (self.start is None or self.start <= moment) and (self.end is None or moment <= self.end)


class TrustedRoot:
    """The Rekor keys of a trusted root, by log ID (hex SHA-256 of the key's DER)."""

    def __init__(self, path, log_keys):
        self.path = path
        self.log_keys = {key.log_id: key for key in log_keys}


def load(path, now=None):
    """The trusted root at path; SignatureError when it is missing, malformed or expired."""
    now = now or datetime.datetime.now(datetime.timezone.utc)
    try:
        with open(path, encoding="utf-8") as handle:
            document = json.load(handle)
    except FileNotFoundError as error:
        raise SignatureError(f"trusted root {path} is missing: carry sigstore's trusted_root.json (the Fulcio, Rekor, CT and "
                             "timestamp keys) in the bundle and name it in the policy") from error
    except (OSError, ValueError, UnicodeDecodeError) as error:
        raise SignatureError(f"trusted root {path} cannot be read as JSON ({error}): carry the trusted_root.json sigstore publishes") from error
    if not isinstance(document, dict) or not str(document.get("mediaType", "")).startswith(MEDIA_TYPE_PREFIX):
        raise SignatureError(f"trusted root {path} is not a sigstore trusted root (mediaType {MEDIA_TYPE_PREFIX};version=0.1 expected)")
    tlogs = document.get("tlogs")
    if not isinstance(tlogs, list) or not tlogs:
        raise SignatureError(f"trusted root {path} names no transparency log (tlogs): without a Rekor key no log entry can be checked")
    log_keys = [_log_key(entry, f"trusted root {path}: tlogs[{number}]") for number, entry in enumerate(tlogs)]
    if not any(key.end is None or key.end >= now for key in log_keys):
        ends = ", ".join(sorted(key.end.isoformat() for key in log_keys))
        raise SignatureError(f"trusted root {path} has expired: every log key's validity ended ({ends}); "
                             "carry a current trusted_root.json")
    return TrustedRoot(path, log_keys)


def verify_set(root, bundle_text, signature, payload):
    """Check a cosign Rekor bundle annotation for this signature and payload; the problem as text, or None when it holds."""
    try:
        bundle = json.loads(bundle_text)
        signed_timestamp = key_lib.b64decode(bundle["SignedEntryTimestamp"], "SignedEntryTimestamp")
        entry = bundle["Payload"]
        canonical = {"body": entry["body"], "integratedTime": int(entry["integratedTime"]),
                     "logIndex": int(entry["logIndex"]), "logID": str(entry["logID"])}
    except (ValueError, TypeError, KeyError, SignatureError) as error:
        return f"its Rekor bundle is malformed ({error})"
    log_key = root.log_keys.get(canonical["logID"])
    if log_key is None:
        return f"its Rekor entry was made by log {canonical['logID']}, which the trusted root {root.path} does not name"
    integrated = datetime.datetime.fromtimestamp(canonical["integratedTime"], datetime.timezone.utc)
    if not log_key.valid_at(integrated):
        return f"its Rekor entry was integrated at {integrated.isoformat()}, outside the validity of that log key in {root.path}"
    message = json.dumps(canonical, sort_keys=True, separators=(",", ":")).encode()
    if not log_key.public_key.verifies(signed_timestamp, message):
        return f"its Rekor signed entry timestamp does not verify with the log key of {root.path} (tampered or another log)"
    return _body_problem(canonical["body"], signature, payload)


def _body_problem(body_text, signature, payload):
    """The log entry must record this signature over this payload (a hashedrekord), or the SET proves nothing about it."""
    try:
        spec = json.loads(key_lib.b64decode(body_text, "Rekor body"))["spec"]
        logged_signature = key_lib.b64decode(spec["signature"]["content"], "logged signature")
        logged_hash = spec["data"]["hash"]["value"]
    except (ValueError, TypeError, KeyError, SignatureError) as error:
        return f"its Rekor entry body is not a hashedrekord entry ({error})"
    if logged_signature != signature or logged_hash != hashlib.sha256(payload).hexdigest():
        return "its Rekor entry records another signature or payload than this one"
    return None


def _log_key(entry, where):
    try:
        raw = base64.b64decode(entry["publicKey"]["rawBytes"], validate=True)
        public_key = key_lib.load_der_public_key(raw, where)
        validity = entry["publicKey"].get("validFor") or {}
        return LogKey(public_key, _time(validity.get("start"), where), _time(validity.get("end"), where))
    except (KeyError, TypeError, ValueError, AttributeError, SignatureError) as error:
        raise SignatureError(f"{where}: the log's publicKey.rawBytes must be a base64 DER public key ({error})") from error


def _time(text, where):
    if text is None:
        return None
    try:
        moment = datetime.datetime.fromisoformat(str(text).replace("Z", "+00:00"))
    except ValueError as error:
        raise SignatureError(f"{where}: {text!r} is not an RFC 3339 time") from error
    return moment if moment.tzinfo else moment.replace(tzinfo=datetime.timezone.utc)
