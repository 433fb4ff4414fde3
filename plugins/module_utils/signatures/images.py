# Copyright (c) 2026, airlock.airgap contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Verdicts for the images of a bundle layout, from the signatures carried with them, offline.

Every signature form image_copy carries is read from the layout itself, so the same check runs
on the connected side before packing and in the enclave before the first push, with no network:
cosign's `sha256-<hex>.sig` (simple signing) and `.att` (DSSE) tags, and the OCI referrers of the
image (sigstore bundles, DSSE envelopes). The digest signed is the image's original one: when
only some platforms were copied, the lock records it as source_digest.
"""

from __future__ import annotations

import datetime
import json
import re

from ansible_collections.airlock.airgap.plugins.module_utils.integrity import lockfile
from ansible_collections.airlock.airgap.plugins.module_utils.oci import reference as references
from ansible_collections.airlock.airgap.plugins.module_utils.oci.endpoints import LayoutEndpoint, verified_blob
from ansible_collections.airlock.airgap.plugins.module_utils.oci.errors import OciError
from ansible_collections.airlock.airgap.plugins.module_utils.integrity.digest import DigestMismatch
from ansible_collections.airlock.airgap.plugins.module_utils.signatures import dsse, policy as policies, sigstore_bundle, simplesigning
from ansible_collections.airlock.airgap.plugins.module_utils.signatures.errors import SignatureError

SIGNATURE_TAG = re.compile(r":sha256-[0-9a-f]{64}(\.[a-z]+)?$")
MAX_SIGNATURE_BLOB = 4 * 1024 * 1024  # a signature layer is a few KiB; anything larger is not one
LOCK_SECTION = "signatures"


def verify_layout(layout, rules, source_digests, now):
    """One verdict per image of the layout (signature tags are not images); now: the verification time (ISO text)."""
    verdicts = []
    for ref_name in sorted(layout.ref_names()):
        if SIGNATURE_TAG.search(ref_name):
            continue
        reference = references.parse(ref_name, default_tag=None)
        rule = policies.rule_for(rules, reference.name, ref_name)
        endpoint = LayoutEndpoint(layout, ref_name)
        digest = endpoint.current_digest()
        verdict = {"image": ref_name, "digest": digest, "signed_digest": source_digests.get(digest, digest)}
        if rule is None:
            verdicts.append(dict(verdict, verdict="no policy", policy=None))
            continue
        findings = list(_findings(endpoint, rule, verdict["signed_digest"]))
        verdicts.append(_decide(verdict, rule, findings, now))
    return verdicts


def refusals(verdicts):
    """The verdicts that forbid packing or pushing."""
    return [verdict for verdict in verdicts if verdict["verdict"] == "refused"]


def refusal_message(refused):
    lines = [f"{verdict['image']} ({verdict['signed_digest']}): refused by signature policy {verdict['policy']!r}: "
             + ("; ".join(f"{finding['format']} {finding['artifact']}: {finding['problem']}" for finding in verdict["signatures"])
                or "no signature was found (no .sig or .att tag, no sigstore bundle or DSSE referrer)")
             for verdict in refused]
    return "\n".join(lines) + "\nnothing was packed or pushed for these images: sign them with a listed key, or fix the policy"


def source_digests_of(lock_path):
    """{digest in the layout: digest the image was published (and signed) under}, from the lock's images."""
    try:
        with open(lock_path, encoding="utf-8") as handle:
            lock = json.load(handle)
    except FileNotFoundError:
        return {}
    except (OSError, ValueError) as error:
        raise SignatureError(f"lock {lock_path} cannot be read ({error}): it is needed to know which digests were signed") from error
    images = lock.get("images", []) if isinstance(lock, dict) else []
    return {entry["digest"]: entry["source_digest"] for entry in images
            if isinstance(entry, dict) and isinstance(entry.get("digest"), str) and isinstance(entry.get("source_digest"), str)}


def record(lock_path, verdicts, check_mode):
    """Merge the verdicts into the lock's signatures section; an unchanged verdict keeps its first verification time."""
    def change(lock):
        known = {entry.get("image"): entry for entry in lock.get(LOCK_SECTION, [])}
        fresh = [_keep_time(verdict, known.get(verdict["image"])) for verdict in verdicts]
        lockfile.merge_entries(lock, LOCK_SECTION, fresh, key=lambda entry: entry["image"])
    return lockfile.update(lock_path, change, check_mode)


def now_text():
    return datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0).isoformat()


def _keep_time(verdict, known):
    if known and {k: v for k, v in known.items() if k != "verified_at"} == {k: v for k, v in verdict.items() if k != "verified_at"}:
        return known
    return verdict


def _decide(verdict, rule, findings, now):
    signers = sorted({finding["signer"] for finding in findings if finding["signer"]})
    formats = sorted({finding["format"] for finding in findings if finding["signer"]})
    if signers:
        outcome = "verified"
    else:
        outcome = "refused" if rule.require == "signed" else "unverified"
    return dict(verdict, policy=rule.match, require=rule.require, verdict=outcome, signed_by=signers, formats=formats,
                signatures=findings, verified_at=now)


def _findings(endpoint, rule, signed_digest):
    """Every signature found for signed_digest, each with its signer or its problem."""
    hexdigest = signed_digest.split(":", 1)[1]
    for suffix, check in (("sig", _check_simple_signing), ("att", _check_envelope_layer)):
        tagged = endpoint.sibling(f"sha256-{hexdigest}.{suffix}")
        if tagged.current_digest() is not None:
            yield from _layers_checked(tagged, tagged.root_manifest(), f"cosign-{suffix}", check, rule, signed_digest)
    for descriptor in endpoint.referrers(signed_digest):
        manifest = endpoint.manifest(descriptor["digest"])
        yield from _layers_checked(endpoint, manifest, "referrer", _check_referrer_layer, rule, signed_digest)


def _layers_checked(endpoint, manifest, form, check, rule, signed_digest):
    try:
        layers = manifest.parsed().get("layers") or []
    except (ValueError, AttributeError):
        layers = []
    for layer in layers if isinstance(layers, list) else []:
        finding = {"format": form, "artifact": manifest.digest, "signer": None, "problem": None}
        try:
            kind, signer, problem = check(lambda: _blob(endpoint, layer), layer, rule, signed_digest)
        except (SignatureError, DigestMismatch, OciError, OSError) as error:
            kind, signer, problem = form, None, str(error)
        if kind is not None:
            yield dict(finding, format=kind, signer=signer, problem=problem)


def _check_simple_signing(read, layer, rule, signed_digest):
    """Each checker reads the layer (read()) only when its media type is one it verifies."""
    if layer.get("mediaType") != simplesigning.LAYER_MEDIA_TYPE:
        return None, None, None
    signer, problem = simplesigning.verify_layer(read(), layer.get("annotations") or {}, rule.keys, signed_digest, rule.trusted_root)
    return "cosign-sig", signer, problem


def _check_envelope_layer(read, layer, rule, signed_digest):
    if layer.get("mediaType") != dsse.ENVELOPE_MEDIA_TYPE:
        return None, None, None
    signer, problem = dsse.verify_envelope(dsse.load_envelope(read()), rule.keys, signed_digest)
    return "dsse", signer, problem


def _check_referrer_layer(read, layer, rule, signed_digest):
    media_type = str(layer.get("mediaType", ""))
    if media_type.startswith(sigstore_bundle.MEDIA_TYPE_PREFIX):
        bundle = sigstore_bundle.load(read(), f"sigstore bundle {layer.get('digest')}")
        signer, problem = sigstore_bundle.verify_for_image(bundle, rule.keys, signed_digest)
        return "sigstore-bundle", signer, problem
    if media_type == dsse.ENVELOPE_MEDIA_TYPE:
        return _check_envelope_layer(read, layer, rule, signed_digest)
    return None, None, None  # an SBOM or another artifact: carried, not a signature


def _blob(endpoint, layer):
    size = layer.get("size")
    if not isinstance(size, int) or not 0 <= size <= MAX_SIGNATURE_BLOB:
        raise SignatureError(f"layer {layer.get('digest')} declares size {size!r}: a signature layer is at most {MAX_SIGNATURE_BLOB} bytes")
    return b"".join(verified_blob(endpoint, layer))
