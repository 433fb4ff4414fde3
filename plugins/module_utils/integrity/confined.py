# Copyright (c) 2026, airlock.airgap contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Write, link and delete what a hostile archive or manifest names, never outside one root folder.

A lexical check of each name is not enough: an earlier entry can plant a link (``foo -> .``)
through which a later, lexically harmless entry (``foo/bar -> ..``) is created somewhere else.
So every path is resolved through what is on disk, one component at a time: each parent folder
is opened relative to the one before with O_NOFOLLOW, and every write, link, rename and unlink
happens relative to that open folder. A parent that is a link (or not a folder) is refused,
whatever it points at, and cannot be swapped in between the check and the write.

A link may only have the shape ``../../a/b``: leading ``..`` that stay inside the root, then
names. Resolving such a link can only descend, or jump through other links of the same shape,
so no chain of them ever leaves the root; a link already on disk that leads outside is caught
by resolving the new link's target for real.
"""

from __future__ import annotations

import contextlib
import os

from ansible_collections.airlock.airgap.plugins.module_utils.errors import AirlockError

FOLDER_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
TEMPORARY_PREFIX = ".airlock-partial-"


class UnsafePath(AirlockError, ValueError):
    """An entry would be written, linked or deleted outside the root, or through a link."""


def parts_of(relative, what="path"):
    """The components of a relative path from outside: no absolute path, no '..', no NUL, not empty."""
    if not isinstance(relative, str) or not relative or "\0" in relative:
        raise UnsafePath(f"{what} {relative!r} is not a relative path")
    if relative.startswith("/") or "\\" in relative:
        raise UnsafePath(f"{what} {relative!r} is absolute or uses backslashes: only relative paths with '/' are accepted")
    parts = [part for part in relative.split("/") if part not in ("", ".")]
    if not parts or ".." in parts:
        raise UnsafePath(f"{what} {relative!r} leaves its folder (or names the folder itself)")
    return parts


def check_link_target(relative, target):
    """Refuse a link target that is absolute, climbs above the root, or has '..' after a name."""
    depth = len(parts_of(relative, "link")) - 1
    if not isinstance(target, str) or not target or "\0" in target or target.startswith("/"):
        raise UnsafePath(f"link {relative!r} -> {target!r}: only relative targets inside the folder are accepted")
    parts = [part for part in target.split("/") if part not in ("", ".")]
    climbs = 0
    while climbs < len(parts) and parts[climbs] == "..":
        climbs += 1
    if ".." in parts[climbs:]:
        raise UnsafePath(f"link {relative!r} -> {target!r}: '..' after a name could climb through another link; refusing it")
    if climbs > depth:
        raise UnsafePath(f"link {relative!r} -> {target!r} points outside the folder")


class ConfinedRoot:
    """One folder that hostile names are written into; every operation stays beneath it."""

    def __init__(self, root):
        self.root = os.path.realpath(root)

    def subtree(self, relative, create=True):
        """A ConfinedRoot for the folder relative (created, unless create is False, without following any link on the way)."""
        if create:
            self.makedirs(relative)
        return ConfinedRoot(os.path.join(self.root, *parts_of(relative)))

    def makedirs(self, relative):
        """Create the folder (and its parents) beneath the root; an existing link on the way is refused."""
        with self._parent(relative, create=True) as (folder, name):
            os.close(_open_folder(folder, name, create=True, relative=relative, root=self.root))

    def write(self, relative, fill, mode=0o644, mtime=None, before_commit=None):
        """fill(handle) writes the file under a temporary name beside its final one; before_commit(handle),
        given the temporary file reopened for reading, may raise to refuse it. Then one rename."""
        with self._parent(relative, create=True) as (folder, name):
            temporary = self._temporary(folder, name)
            try:
                descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600, dir_fd=folder)
                with os.fdopen(descriptor, "wb") as handle:
                    fill(handle)
                    handle.flush()  # before the time is set: a later flush would move it
                    os.fchmod(handle.fileno(), mode)
                    if mtime is not None:
                        os.utime(handle.fileno(), (mtime, mtime))
                if before_commit is not None:
                    with self._open_read(folder, temporary) as handle:
                        before_commit(handle)
                os.replace(temporary, name, src_dir_fd=folder, dst_dir_fd=folder)
            finally:
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(temporary, dir_fd=folder)

    def symlink(self, relative, target):
        """Make relative a link to target, replacing what was there in one rename; True when it changed."""
        check_link_target(relative, target)
        with self._parent(relative, create=True) as (folder, name):
            with contextlib.suppress(FileNotFoundError, OSError):
                if os.readlink(name, dir_fd=folder) == target:
                    return False
            self._refuse_leaving_target(folder, relative, target)
            temporary = self._temporary(folder, name)
            os.symlink(target, temporary, dir_fd=folder)
            try:
                os.replace(temporary, name, src_dir_fd=folder, dst_dir_fd=folder)
            finally:
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(temporary, dir_fd=folder)
        return True

    def unlink(self, relative):
        """Delete one file or link beneath the root (never a folder, never through a link); True when it was there."""
        try:
            with self._parent(relative, create=False) as (folder, name):
                os.unlink(name, dir_fd=folder)
        except FileNotFoundError:
            return False
        return True

    def status(self, relative):
        """os.stat_result of the entry itself (a link is not followed), or None when it or a parent is missing."""
        try:
            with self._parent(relative, create=False) as (folder, name):
                return os.stat(name, dir_fd=folder, follow_symlinks=False)
        except FileNotFoundError:
            return None

    @contextlib.contextmanager
    def open_read(self, relative):
        """The regular file at relative, opened without following a link anywhere on its path."""
        with self._parent(relative, create=False) as (folder, name):
            with self._open_read(folder, name) as handle:
                yield handle

    def read_bytes(self, relative):
        """The content of the regular file at relative, or None when there is none."""
        try:
            with self.open_read(relative) as handle:
                return handle.read()
        except (FileNotFoundError, IsADirectoryError):
            return None

    def readlink(self, relative):
        """The target of the link at relative, or None when there is no link there."""
        try:
            with self._parent(relative, create=False) as (folder, name):
                return os.readlink(name, dir_fd=folder)
        except (FileNotFoundError, OSError):
            return None

    @contextlib.contextmanager
    def _parent(self, relative, create):
        """(open folder descriptor, last name) for relative, every parent opened without following links."""
        parts = parts_of(relative)
        if create:
            os.makedirs(self.root, exist_ok=True)
        folder = os.open(self.root, FOLDER_FLAGS)
        try:
            for depth, part in enumerate(parts[:-1]):
                child = _open_folder(folder, part, create, "/".join(parts[:depth + 1]), self.root)
                os.close(folder)
                folder = child
            yield folder, parts[-1]
        finally:
            os.close(folder)

    @staticmethod
    @contextlib.contextmanager
    def _open_read(folder, name):
        descriptor = os.open(name, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC, dir_fd=folder)
        with os.fdopen(descriptor, "rb") as handle:
            yield handle

    @staticmethod
    def _temporary(folder, name):
        temporary = f"{TEMPORARY_PREFIX}{os.getpid()}-{name}"[:255]
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temporary, dir_fd=folder)
        return temporary

    def _refuse_leaving_target(self, folder, relative, target):
        """The target is resolved for real as far as it exists: links already on disk must not lead it outside."""
        landing = os.path.realpath(os.path.join(f"/proc/self/fd/{folder}", target))
        if os.path.commonpath([self.root, landing]) != self.root:
            raise UnsafePath(f"link {relative!r} -> {target!r} resolves to {landing}, outside {self.root}")


def is_temporary(name):
    """A name ConfinedRoot.write or symlink was using when its run was interrupted: never real content."""
    return name.startswith(TEMPORARY_PREFIX)


def _open_folder(parent, name, create, relative, root):
    """Open (creating it when asked) the folder name inside parent, refusing a link or a file there."""
    try:
        return os.open(name, FOLDER_FLAGS, dir_fd=parent)
    except FileNotFoundError:
        if not create:
            raise
    except (NotADirectoryError, OSError) as error:
        if error.errno in (getattr(os, "ELOOP", 40), getattr(os, "ENOTDIR", 20)):
            raise UnsafePath(f"{relative!r} in {root} is a link or a file, not a folder: nothing is written through it") from error
        raise
    with contextlib.suppress(FileExistsError):
        os.mkdir(name, 0o755, dir_fd=parent)
    return _open_folder(parent, name, False, relative, root)
