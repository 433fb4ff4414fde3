# Copyright (c) 2026, airlock.airgap contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The charts part of airlock.lock.json: which chart, which version, from where, which bytes.

Merged into the lock the image copy writes (its other parts are kept), keyed by the archive's
path relative to the lock, so the record holds for the bundle wherever it is unpacked.
"""

from __future__ import annotations

import json
import os

from ansible_collections.airlock.airgap.plugins.module_utils.integrity.sums import write_text_atomically

LOCK_VERSION = 1


def chart_entry(result, lock_dir):
    entry = {"name": result.name, "version": result.version, "source": result.source,
             "file": os.path.relpath(result.file, lock_dir).replace(os.sep, "/"), "digest": result.digest,
             "dependencies": result.dependencies}
    if result.source_digest and result.source_digest != result.digest:
        entry["source_digest"] = result.source_digest  # the archive gained dependencies on the way
    return entry


def write(path, results):
    """Merge these charts into the lock at path; True when it changed."""
    try:
        with open(path, encoding="utf-8") as handle:
            lock = json.load(handle)
    except FileNotFoundError:
        lock = {"version": LOCK_VERSION}
    before = json.dumps(lock, sort_keys=True)
    fresh = {entry["file"]: entry for entry in (chart_entry(r, os.path.dirname(os.path.abspath(path))) for r in results)}
    kept = [entry for entry in lock.get("charts", []) if entry.get("file") not in fresh]
    lock["charts"] = sorted(kept + list(fresh.values()), key=lambda e: e["file"])
    if json.dumps(lock, sort_keys=True) == before:
        return False
    write_text_atomically(path, json.dumps(lock, indent=2, sort_keys=True) + "\n")
    return True
