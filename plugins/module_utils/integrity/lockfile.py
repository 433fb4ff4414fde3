# Copyright (c) 2026, airlock.airgap contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""airlock.lock.json: the bundle's one record of what it holds, pinned by digest.

Images, charts, models and the inventory each keep their own section. Each writer reads the
file, changes its section and writes it back atomically, under an exclusive lock on the
file's directory, so writers running at once (several modules, or several hosts delegating
to one controller) never lose each other's entries; the file is rewritten only when it changes.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os

from ansible_collections.airlock.airgap.plugins.module_utils.integrity import atomic
from ansible_collections.airlock.airgap.plugins.module_utils import jsontext

LOCK_VERSION = 1


def update(path, change, check_mode=False):
    """Apply change(lock) to the lock at path (a new one when missing); True when the file changes (or would).

    In check mode nothing is created, not even the lock's folder: the lock is only read, when it is there."""
    if check_mode:
        return _apply(path, change) is not None
    with _directory_locked(os.path.dirname(os.path.abspath(path))):
        changed = _apply(path, change)
        if changed is None:
            return False
        atomic.write_text(path, changed)
        return True


def _apply(path, change):
    """The lock's new text after change(lock), or None when change leaves it as it was."""
    try:
        lock = jsontext.read(path, f"the lock file {path}")
    except FileNotFoundError:
        lock = {"version": LOCK_VERSION}
    before = json.dumps(lock, sort_keys=True)
    change(lock)
    if json.dumps(lock, sort_keys=True) == before:
        return None
    return json.dumps(lock, indent=2, sort_keys=True) + "\n"


def merge_section(path, section, entries, key, check_mode=False):
    """Merge entries into one section of the lock at path (see merge_entries); True when the file changes."""
    return update(path, lambda lock: merge_entries(lock, section, entries, key), check_mode)


def merge_entries(lock, section, entries, key):
    """Replace the section's entries that share a key with one of entries, keep the rest, sorted by key."""
    fresh = {key(entry): entry for entry in entries}
    kept = [entry for entry in lock.get(section, []) if key(entry) not in fresh]
    lock[section] = sorted(kept + list(fresh.values()), key=key)


@contextlib.contextmanager
def _directory_locked(directory):
    """flock on the directory itself: no lock file left beside the lock in the bundle."""
    os.makedirs(directory, exist_ok=True)
    descriptor = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)
    try:
        fcntl.flock(descriptor, fcntl.LOCK_EX)
        yield
    finally:
        os.close(descriptor)
