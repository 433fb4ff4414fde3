# Copyright (c) 2026, airlock.airgap contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The models part of airlock.lock.json: each model with its resolved commit and every file's sha256.

Merged into an existing lock (the images part and other models are kept) and written atomically.
"""

from __future__ import annotations

import json

from ansible_collections.airlock.airgap.plugins.module_utils.integrity.sums import write_text_atomically

LOCK_VERSION = 1
LOCKED_FIELDS = ("source", "kind", "name", "revision", "commit", "files", "links", "bytes")


def write(path, records):
    """Merge these model records into the lock at path (keyed by kind and name); True when it changed."""
    try:
        with open(path, encoding="utf-8") as handle:
            lock = json.load(handle)
    except FileNotFoundError:
        lock = {"version": LOCK_VERSION}
    before = json.dumps(lock, sort_keys=True)
    fresh = {(r["kind"], r["name"]): {field: r[field] for field in LOCKED_FIELDS} for r in records if r["files"]}
    kept = [entry for entry in lock.get("models", []) if (entry.get("kind"), entry.get("name")) not in fresh]
    lock["models"] = sorted(kept + list(fresh.values()), key=lambda entry: (entry["kind"], entry["name"]))
    if json.dumps(lock, sort_keys=True) == before:
        return False
    write_text_atomically(path, json.dumps(lock, indent=2, sort_keys=True) + "\n")
    return True
