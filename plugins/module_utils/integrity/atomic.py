# Copyright (c) 2026, airlock.airgap contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The one atomic writer: a file gets its final name only when it is whole.

Every file is written under a temporary name in its own folder and renamed over the final
name when the writer finishes without error; on any error (including a digest check that
fails midway, or an interrupt) the temporary is removed and the final name is untouched.

fsync policy: a file is flushed to disk before the rename (``durable=True``, the default)
whenever losing its content after a crash would go unnoticed later: lock files, indexes,
SHA256SUMS, reports, archives, chart archives, overrides. Two kinds are not, because the
cost would buy nothing: content-addressed blobs, which are checked against their digest and
size wherever they are reused (a torn blob is copied again), and progress files, rewritten
every second and worthless after a crash. Writers inside a bundle's target use the confined
writer (``confined.py``) instead, which renames relative to an open folder.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile


class Replacement:
    """The open temporary file of one replacement, and whether the final name changed."""

    def __init__(self, handle, temporary):
        self.handle = handle
        self.temporary = temporary
        self.changed = False


@contextlib.contextmanager
def replacing(path, durable=True, prefix=None, keep_identical=False):
    """Yield a Replacement whose binary handle writes the new content of path.

    prefix names the temporary (so a sweeper can recognise a dead writer's leftovers); with
    keep_identical, content equal to the file already at path is discarded and path keeps its
    mtime, so a deterministic writer's re-run changes nothing.
    """
    directory = os.path.dirname(os.path.abspath(path))
    os.makedirs(directory, exist_ok=True)
    descriptor, temporary = tempfile.mkstemp(prefix=prefix or f".{os.path.basename(path)}.partial-", dir=directory)
    try:
        with os.fdopen(descriptor, "wb") as handle:
            replacement = Replacement(handle, temporary)
            yield replacement
            handle.flush()
            if durable:
                os.fsync(handle.fileno())
        if keep_identical and _same_content(temporary, path):
            os.unlink(temporary)
            return
        os.chmod(temporary, 0o644)
        os.replace(temporary, path)
        replacement.changed = True
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temporary)
        raise


@contextlib.contextmanager
def replacing_folder(path, prefix):
    """Yield a new private folder (mode 0700: no one else writes into it) beside path, which replaces
    whatever is at path once the block ends without error; on any error it is removed and path is
    untouched. Folders are not fsynced: what is built in them is checked by digest where it is read."""
    parent = os.path.dirname(os.path.abspath(path))
    os.makedirs(parent, exist_ok=True)
    building = tempfile.mkdtemp(prefix=prefix, dir=parent)
    try:
        yield building
        if os.path.lexists(path):
            shutil.rmtree(path)
        os.rename(building, path)
    except BaseException:
        shutil.rmtree(building, ignore_errors=True)
        raise


def write_bytes(path, data, durable=True):
    """Replace path with data."""
    with replacing(path, durable) as replacement:
        replacement.handle.write(data)


def write_text(path, text, durable=True):
    """Replace path with text as UTF-8 (names that are not, as the file system gave them)."""
    write_bytes(path, text.encode("utf-8", errors="surrogateescape"), durable)


def write_text_if_changed(path, text, check_mode=False, durable=True):
    """Replace path with text unless it holds exactly that text already; True when it changed (or, in check mode,
    would). Checked before anything is written, so a re-run leaves the file and its mtime alone and reports no change."""
    data = text.encode("utf-8", errors="surrogateescape")
    try:
        with open(path, "rb") as handle:
            if handle.read(len(data) + 1) == data:
                return False
    except FileNotFoundError:
        pass
    if not check_mode:
        write_bytes(path, data, durable)
    return True


def _same_content(first, second, block=1024 * 1024):
    """Whether two files hold the same bytes (False when second does not exist)."""
    try:
        if os.path.getsize(first) != os.path.getsize(second):
            return False
        with open(first, "rb") as one, open(second, "rb") as other:
            while True:
                left, right = one.read(block), other.read(block)
                if left != right:
                    return False
                if not left:
                    return True
    except FileNotFoundError:
        return False
