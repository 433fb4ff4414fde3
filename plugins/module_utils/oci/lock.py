# Copyright (c) 2026, airlock.airgap contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The images part of airlock.lock.json: what was copied, pinned by digest.

Written atomically, and merged with an existing lock so several copies (or runs) can add
to one bundle's record without losing each other's entries.
"""

from __future__ import annotations

import json

from ansible_collections.airlock.airgap.plugins.module_utils.integrity.sums import write_text_atomically

LOCK_VERSION = 1


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
    try:
        with open(path, encoding="utf-8") as handle:
            lock = json.load(handle)
    except FileNotFoundError:
        lock = {"version": LOCK_VERSION, "images": []}
    before = json.dumps(lock, sort_keys=True)
    known = {entry.get("destination"): entry for entry in lock.get("images", [])}
    fresh = {entry["destination"]: _keep_known_details(entry, known.get(entry["destination"]))
             for entry in (image_entry(r) for r in results)}
    kept = [entry for entry in lock.get("images", []) if entry.get("destination") not in fresh]
    lock["images"] = sorted(kept + list(fresh.values()), key=lambda e: e["destination"])
    if json.dumps(lock, sort_keys=True) == before:
        return False
    write_text_atomically(path, json.dumps(lock, indent=2, sort_keys=True) + "\n")
    return True
