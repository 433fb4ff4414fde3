# Copyright (c) 2026, airlock.airgap contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Generic model trees: folders of files and relative symlinks, each file with its sha256.

NGC models, NIM caches and the fine-tuning service's model folder are not Hugging Face
caches; they travel as they are. A tree lives at <tree root>/<name>/ and its record at
<tree root>/.airlock-trees/<name with / as -->.json, so it can be verified and pushed
without hashing it again.
"""

from __future__ import annotations

import os
import shutil

from ansible_collections.airlock.airgap.plugins.module_utils.integrity.confined import ConfinedRoot, UnsafePath, check_link_target
from ansible_collections.airlock.airgap.plugins.module_utils.integrity.atomic import write_text_if_changed
from ansible_collections.airlock.airgap.plugins.module_utils.models import folders
from ansible_collections.airlock.airgap.plugins.module_utils.models import snapshot as snapshots
from ansible_collections.airlock.airgap.plugins.module_utils.models.errors import ModelError

RECORDS = ".airlock-trees"
# The tree that is the whole tree root (and, in S3, the whole prefix): a model registry folder
# whose path the consumer is configured with, such as the fine-tuning service's LOCAL_MODEL_REGISTRY.
ROOT = "."
# Where a store keeps the trees' records (their manifests).
STORE_RECORDS = ".airlock/trees"


class TreeSnapshot(snapshots.Snapshot):
    """A generic tree: name is its relative folder under the tree root, commit a digest of its listing."""

    kind = "tree"

    def home(self, places):
        return places.need_tree_root(self.name)

    def local_path(self, home, entry):
        return file_path(home, self, entry.path)

    def object_path(self, entry):
        return entry.path if self.name == ROOT else f"{self.name}/{entry.path}"

    def manifest_path(self, hidden_folder=None):  # pylint: disable=unused-argument
        """Its record, in the store's records folder, whatever the layout of the objects."""
        return f"{STORE_RECORDS}/{record_stem(self.name)}.json"

    @staticmethod
    def ref_objects():
        """A tree has no refs: its record names it."""
        return []

    @staticmethod
    def distinct_key(entry):
        return entry.path

    def placer(self, home, check_mode):
        """place(entry, fill): one file written verified (in check mode, whether it would be); True when written."""
        check_layout(self)
        if check_mode:
            return lambda entry, fill: not snapshots.holds_file(file_path(home, self, entry.path), entry)
        return lambda entry, fill: place_file(home, self, entry, fill)

    def complete(self, home, check_mode):
        """Its links, then its record; True when either changed."""
        linked = link_tree(home, self, check_mode)
        return save_record(home, self, check_mode) or linked

    def verify_staged(self, home):
        verify(home, self)


def record_stem(name):
    """The tree's record file name, without .json."""
    return "_root" if name == ROOT else snapshots.check_relative(name, f"tree {name}").replace("/", "--")


def record_path(root, name):
    return os.path.join(root, RECORDS, record_stem(name) + ".json")


def tree_folder(root, name):
    if name == ROOT:
        return root
    parts = snapshots.check_relative(name, f"tree {name}").split("/")
    if parts[0] == RECORDS:
        raise ModelError(f"the tree name {name} is inside the records folder {RECORDS}: refusing it")
    return os.path.join(root, *parts)


def read_record(root, name):
    path = record_path(root, name)
    if not os.path.isfile(path):
        raise ModelError(f"tree {name} has no record at {path}: stage it first (state=staged) or pull it (state=pulled)")
    return read_record_file(path)


def save_record(root, snapshot, check_mode=False):
    """Write the tree's record; True when it changed (in check mode, when it would)."""
    return write_text_if_changed(record_path(root, snapshot.name), snapshot.to_json(), check_mode)


def listed_trees(root):
    records = os.path.join(root, RECORDS)
    if not os.path.isdir(records):
        return []
    return sorted(read_record_file(os.path.join(records, name)).name for name in os.listdir(records)
                  if name.endswith(".json") and not name.startswith("."))


def read_record_file(path):
    with open(path, encoding="utf-8") as handle:
        snapshot = snapshots.Snapshot.from_json(handle.read(), path)
    if not isinstance(snapshot, TreeSnapshot):
        raise ModelError(f"{path} is not a tree record (kind {snapshot.kind!r}); stage or pull the tree again")
    check_layout(snapshot)
    return snapshot


def import_folder(folder, root, name, source, check_mode=False):
    """Copy a local folder in as the tree name (verified, atomically per file); (snapshot, bytes written, changed)."""
    files, links = folders.walk(folder)
    entries = []
    for relative, real in files.items():
        size, sha256, _hasher = snapshots.hash_file(real)
        entries.append(snapshots.FileEntry(relative, size, sha256, sha256))
    snapshot = TreeSnapshot(name, "", entries, links=links, source=source)
    snapshot.commit = snapshot.listing_digest()
    check_layout(snapshot)
    if check_mode:
        written = sum(entry.size for entry in entries if not snapshots.holds_file(file_path(root, snapshot, entry.path), entry))
        return snapshot, written, bool(written) or link_tree(root, snapshot, check_mode=True) or save_record(root, snapshot, check_mode=True)
    written = 0
    for entry in entries:
        if place_file(root, snapshot, entry, lambda handle, real=files[entry.path]: _copy_into(real, handle)):
            written += entry.size
    linked = link_tree(root, snapshot)
    recorded = save_record(root, snapshot)
    return snapshot, written, bool(written) or linked or recorded


def _copy_into(path, handle):
    with open(path, "rb") as source:
        shutil.copyfileobj(source, handle, 4 * 1024 * 1024)


def check_layout(snapshot):
    """Refuse a tree record (from S3 or a bundle: not to be trusted) whose files or links could land outside
    the tree: a path under one of its own links, a path in the records folder, a link that resolves outside."""
    what = f"tree {snapshot.name}"
    links = dict(snapshot.links)
    paths = [entry.path for entry in snapshot.files] + list(links)
    for path in paths:
        parts = snapshots.check_relative(path, what).split("/")
        if parts[0] == RECORDS:
            raise ModelError(f"{what} names {path}, inside the records folder {RECORDS}: refusing it")
        for depth in range(1, len(parts)):
            if "/".join(parts[:depth]) in links:
                raise ModelError(f"{what} names {path}, beneath its own link {'/'.join(parts[:depth])}: refusing it")
    for relative, target in sorted(links.items()):
        if _landing(relative, target, links) is None:
            raise ModelError(f"{what}: the link {relative} -> {target} would point outside the tree; refusing it")


def _landing(relative, target, links):
    """Where a link lands inside the tree, resolved through the tree's other links as the kernel would;
    None when it leaves the tree (or loops)."""
    if not isinstance(target, str) or not target or target.startswith("/"):
        return None
    pending = relative.split("/")[:-1] + target.split("/")
    resolved = []
    hops = 0
    while pending:
        part = pending.pop(0)
        if part in ("", "."):
            continue
        if part == "..":
            if not resolved:
                return None
            resolved.pop()
            continue
        resolved.append(part)
        inner = links.get("/".join(resolved))
        if inner is not None:
            hops += 1
            if hops > 40 or inner.startswith("/"):
                return None
            resolved.pop()
            pending = inner.split("/") + pending
    return "/".join(resolved)


def file_path(root, snapshot, relative):
    return os.path.join(tree_folder(root, snapshot.name), *snapshots.check_relative(relative, snapshot.name).split("/"))


def confined_tree(root, name, create=True):
    """The tree's folder as a ConfinedRoot, created (unless create is False) without following links: what a
    record from S3 or a bundle names is written beneath it and nowhere else, never through a link."""
    return ConfinedRoot(root) if name == ROOT else ConfinedRoot(root).subtree(os.path.relpath(tree_folder(root, name), root), create)


def place_file(root, snapshot, entry, fill):
    """Write one file of the tree, verified (check_layout(snapshot) refuses a record whose paths pass through
    its own links, once per tree; the ConfinedRoot refuses any link already on disk)."""
    if entry.path.split("/")[0] == RECORDS:
        raise ModelError(f"tree {snapshot.name} names {entry.path}, inside the records folder {RECORDS}: refusing it")
    try:
        return snapshots.commit_verified(confined_tree(root, snapshot.name), entry.path, entry, fill, f"tree {snapshot.name}")
    except UnsafePath as error:
        raise ModelError(f"tree {snapshot.name}: {error}; refusing it") from error


def link_tree(root, snapshot, check_mode=False):
    """Recreate the tree's relative symlinks, each checked to stay inside the tree; True when any changed
    (in check mode, when any would)."""
    check_layout(snapshot)
    changed = False
    try:
        tree = confined_tree(root, snapshot.name, create=not check_mode)
        for relative, target in sorted(snapshot.links.items()):
            if check_mode:
                check_link_target(relative, target)
                changed = changed or tree.readlink(relative) != target
            else:
                changed = tree.symlink(relative, target) or changed
    except UnsafePath as error:
        raise ModelError(f"tree {snapshot.name}: {error}; refusing it") from error
    return changed


def verify(root, snapshot):
    """Every file of the tree hashed against its record, every link in place."""
    base = tree_folder(root, snapshot.name)
    for entry in snapshot.files:
        path = os.path.join(base, *entry.path.split("/"))
        if not os.path.isfile(path):
            raise ModelError(f"tree {snapshot.name}: {entry.path} is missing; pull or stage the tree again")
        snapshots.verify_file(path, entry, f"tree {snapshot.name}")
    for relative, target in snapshot.links.items():
        if os.readlink(os.path.join(base, *relative.split("/"))) != target:
            raise ModelError(f"tree {snapshot.name}: the link {relative} does not point at {target}; pull the tree again")
