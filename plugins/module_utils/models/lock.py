# Copyright (c) 2026, airlock.airgap contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The models part of airlock.lock.json: each model with its resolved commit and every file's sha256.

Merged into an existing lock (the images part and other models are kept).
"""

from __future__ import annotations

from ansible_collections.airlock.airgap.plugins.module_utils.integrity import lockfile

LOCKED_FIELDS = ("source", "kind", "name", "revision", "commit", "files", "links", "bytes")


def write(path, records):
    """Merge these model records into the lock at path (keyed by kind and name); True when it changed."""
    entries = [{field: r[field] for field in LOCKED_FIELDS} for r in records if r["files"]]
    return lockfile.merge_section(path, "models", entries, key=lambda entry: (entry["kind"], entry["name"]))
