# Copyright (c) 2026, airlock.airgap contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The charts part of airlock.lock.json: which chart, which version, from where, which bytes.

Merged into the lock the image copy writes (its other parts are kept), keyed by the archive's
path relative to the lock, so the record holds for the bundle wherever it is unpacked.
"""

from __future__ import annotations

import os

from ansible_collections.airlock.airgap.plugins.module_utils.integrity import lockfile


def chart_entry(result, lock_dir):
    entry = {"name": result.name, "version": result.version, "source": result.source,
             "file": os.path.relpath(result.file, lock_dir).replace(os.sep, "/"), "digest": result.digest,
             "dependencies": result.dependencies}
    if result.source_digest and result.source_digest != result.digest:
        entry["source_digest"] = result.source_digest  # the archive gained dependencies on the way
    return entry


def write(path, results):
    """Merge these charts into the lock at path; True when it changed."""
    lock_dir = os.path.dirname(os.path.abspath(path))
    return lockfile.merge_section(path, "charts", [chart_entry(r, lock_dir) for r in results], key=lambda entry: entry["file"])
