# Copyright (c) 2026, airlock.airgap contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The images part of airlock.lock.json: what was copied, pinned by digest.

Merged with an existing lock so several copies (or runs) can add to one bundle's record
without losing each other's entries.
"""

from __future__ import annotations

from ansible_collections.airlock.airgap.plugins.module_utils.integrity import lockfile


def image_entry(result):
    entry = {"source": result.source, "destination": result.destination, "digest": result.digest,
             "platforms": result.platforms}
    if result.source_digest and result.source_digest != result.digest:
        entry["source_digest"] = result.source_digest  # a platform subset: the original index
    return entry


def _keep_known_details(entry, known):
    """An image found in place by digest alone is not re-inspected: keep what the lock knew."""
    if known and known.get("digest") == entry["digest"] and not entry["platforms"]:
        return known
    return entry


def write(path, results):
    """Merge these images into the lock at path (keyed by destination); True when it changed."""
    def change(lock):
        known = {entry.get("destination"): entry for entry in lock.get("images", [])}
        fresh = [_keep_known_details(image_entry(r), known.get(r.destination)) for r in results]
        lockfile.merge_entries(lock, "images", fresh, key=lambda entry: entry["destination"])
    return lockfile.update(path, change)
