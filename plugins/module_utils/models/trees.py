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

from ansible_collections.airlock.airgap.plugins.module_utils.integrity.sums import write_text_atomically
from ansible_collections.airlock.airgap.plugins.module_utils.models import folders
from ansible_collections.airlock.airgap.plugins.module_utils.models import snapshot as snapshots
from ansible_collections.airlock.airgap.plugins.module_utils.models.errors import ModelError

RECORDS = ".airlock-trees"
# The tree that is the whole tree root (and, in S3, the whole prefix): a model registry folder
# whose path the consumer is configured with, such as the fine-tuning service's LOCAL_MODEL_REGISTRY.
ROOT = "."


def record_stem(name):
    """The tree's record file name, without .json."""
    return "_root" if name == ROOT else snapshots.check_relative(name, f"tree {name}").replace("/", "--")


def record_path(root, name):
    return os.path.join(root, RECORDS, record_stem(name) + ".json")


def tree_folder(root, name):
    if name == ROOT:
        return root
    return os.path.join(root, *snapshots.check_relative(name, f"tree {name}").split("/"))


def read_record(root, name):
    path = record_path(root, name)
    if not os.path.isfile(path):
        raise ModelError(f"tree {name} has no record at {path}: stage it first (state=staged) or pull it (state=pulled)")
    with open(path, encoding="utf-8") as handle:
        return snapshots.Snapshot.from_json(handle.read(), path)


def save_record(root, snapshot):
    """Write the tree's record; True when it changed."""
    path = record_path(root, snapshot.name)
    text = snapshot.to_json()
    if os.path.isfile(path):
        with open(path, encoding="utf-8") as handle:
            if handle.read() == text:
                return False
    write_text_atomically(path, text)
    return True


def listed_trees(root):
    records = os.path.join(root, RECORDS)
    if not os.path.isdir(records):
        return []
    return sorted(read_record_file(os.path.join(records, name)).name for name in os.listdir(records) if name.endswith(".json"))


def read_record_file(path):
    with open(path, encoding="utf-8") as handle:
        return snapshots.Snapshot.from_json(handle.read(), path)


def import_folder(folder, root, name, source, check_mode=False):
    """Copy a local folder in as the tree name (verified, atomically per file); (snapshot, bytes written)."""
    files, links = folders.walk(folder)
    entries = []
    for relative, real in files.items():
        size, sha256, _hasher = snapshots.hash_file(real)
        entries.append(snapshots.FileEntry(relative, size, sha256, sha256))
    snapshot = snapshots.Snapshot("tree", name, "", entries, links=links, source=source)
    snapshot.commit = snapshot.listing_digest()
    if check_mode:
        return snapshot, 0
    written = 0
    for entry in entries:
        if place_file(root, snapshot, entry, lambda handle, real=files[entry.path]: _copy_into(real, handle)):
            written += entry.size
    link_tree(root, snapshot)
    save_record(root, snapshot)
    return snapshot, written


def _copy_into(path, handle):
    with open(path, "rb") as source:
        shutil.copyfileobj(source, handle, 4 * 1024 * 1024)


def place_file(root, snapshot, entry, fill):
    final = os.path.join(tree_folder(root, snapshot.name), *snapshots.check_relative(entry.path, snapshot.name).split("/"))
    return snapshots.commit_verified(final, entry, fill, f"tree {snapshot.name}")


def link_tree(root, snapshot):
    """Recreate the tree's relative symlinks, each checked to stay inside the tree."""
    base = os.path.realpath(tree_folder(root, snapshot.name))
    changed = False
    for relative, target in sorted(snapshot.links.items()):
        link = os.path.join(base, *snapshots.check_relative(relative, snapshot.name).split("/"))
        landing = os.path.normpath(os.path.join(os.path.dirname(link), target))
        if os.path.isabs(target) or os.path.commonpath([base, landing]) != base:
            raise ModelError(f"tree {snapshot.name}: the link {relative} -> {target} would point outside the tree; refusing it")
        changed = snapshots.link_atomically(target, link) or changed
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
