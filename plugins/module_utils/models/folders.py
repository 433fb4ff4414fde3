# Copyright (c) 2026, airlock.airgap contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Walk a local model folder safely: regular files, and symlinks only when they stay inside.

A model folder handed over by a person may hold a link to /etc or to another user's home;
following it would carry that file across the air gap, so such a folder is refused.
"""

from __future__ import annotations

import os
import stat

from ansible_collections.airlock.airgap.plugins.module_utils.models.errors import ModelError

SKIPPED_NAMES = (".git", ".cache", ".airlock-trees")


def walk(folder):
    """(files, links): files maps relative path -> real path of a regular file; links maps a relative
    path -> its relative link target, for links that point inside the folder."""
    root = os.path.realpath(folder)
    if not os.path.isdir(root):
        raise ModelError(f"{folder} is not a directory: give the folder holding the model files")
    files, links = {}, {}
    for directory, dirs, names in os.walk(root):
        dirs[:] = sorted(d for d in dirs if d not in SKIPPED_NAMES and not _is_link_dir(directory, d, root, links))
        for name in sorted(names):
            path = os.path.join(directory, name)
            relative = os.path.relpath(path, root).replace(os.sep, "/")
            if os.path.islink(path):
                links[relative] = inside_target(root, path, folder)
                continue
            mode = os.lstat(path).st_mode
            if not stat.S_ISREG(mode):
                raise ModelError(f"{folder}: {relative} is not a regular file (a device, socket or FIFO): remove it from the model folder")
            files[relative] = path
    return files, links


def _is_link_dir(directory, name, root, links):
    """A symlinked directory is recorded as a link (checked to stay inside), never walked twice."""
    path = os.path.join(directory, name)
    if not os.path.islink(path):
        return False
    links[os.path.relpath(path, root).replace(os.sep, "/")] = inside_target(root, path, root)
    return True


def inside_target(root, path, folder):
    """The link's target, relative, if it resolves inside root; otherwise refuse the folder."""
    target = os.readlink(path)
    resolved = os.path.realpath(path)
    if os.path.isabs(target) or os.path.commonpath([root, resolved]) != root or not os.path.exists(resolved):
        relative = os.path.relpath(path, root)
        raise ModelError(f"{folder}: the symlink {relative} -> {target} points outside the model folder (or nowhere): "
                         "copy the file it names into the folder or remove the link; nothing was imported")
    return target


def resolved_files(folder):
    """Every file a reader of the folder sees (links inside it followed to their real file)."""
    files, links = walk(folder)
    root = os.path.realpath(folder)
    for relative in links:
        real = os.path.realpath(os.path.join(root, relative))
        if os.path.isdir(real):
            for inner, real_inner in walk(real)[0].items():
                files[f"{relative}/{inner}"] = real_inner
        else:
            files[relative] = real
    return dict(sorted(files.items()))
