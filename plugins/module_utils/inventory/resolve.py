# Copyright (c) 2026, airlock.airgap contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Tags resolved to digests through the registry client, and the result kept in the bundle's lock.

A reference that does not resolve (missing tag, unreachable registry, refused credentials) is
listed with the reason, never dropped: it is exactly what would fail in the enclave.
"""

from __future__ import annotations

import concurrent.futures

from ansible_collections.airlock.airgap.plugins.module_utils.integrity import lockfile
from ansible_collections.airlock.airgap.plugins.module_utils.oci import reference as references
from ansible_collections.airlock.airgap.plugins.module_utils.oci.auth import CredentialError
from ansible_collections.airlock.airgap.plugins.module_utils.oci.errors import OciError

LOCK_SECTION = "inventory"


def resolve(entries, clients, workers=4) -> list:
    """Set entry['digest'] on each entry (an image or indirect entry); returns [{image, error}] for those that did not resolve."""
    with concurrent.futures.ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
        outcomes = list(pool.map(lambda entry: _resolve_one(entry, clients), entries))
    return [outcome for outcome in outcomes if outcome]


def _resolve_one(entry, clients):
    parsed = references.parse(entry["image"])
    try:
        digest = clients.for_registry(parsed.registry).manifest_digest(parsed.repository, parsed.pin)
    except (OciError, CredentialError, OSError, ValueError) as error:
        return {"image": entry["image"], "error": str(error)}
    if digest is None:
        return {"image": entry["image"], "error": f"{parsed.pin} does not exist in {parsed.name}"}
    if parsed.digest and digest != parsed.digest:
        return {"image": entry["image"], "error": f"the registry answered {digest} for the pinned digest"}
    entry["digest"] = digest
    return None


def write_lock(path, entries, unresolved, check_mode=False) -> bool:
    """Record the resolved inventory in the lock's `inventory` section (other sections untouched); True when it changes."""
    section = {
        "images": [{"image": e["image"], "digest": e.get("digest"), "confidence": e["confidence"]} for e in entries],
        "unresolved": unresolved,
    }
    return lockfile.update(path, lambda lock: lock.__setitem__(LOCK_SECTION, section), check_mode)
