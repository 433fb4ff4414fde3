# Copyright (c) 2026, airlock.airgap contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The Hugging Face cache layout, exactly as huggingface_hub writes it.

    models--ORG--NAME/blobs/<etag>              the bytes, once (sha256 or git blob sha1 name)
    models--ORG--NAME/snapshots/<commit>/<path> relative symlinks to ../../blobs/<etag>
    models--ORG--NAME/refs/<revision>           the commit, with no trailing newline

A snapshot of regular files (what huggingface_hub writes with HF_HUB_DISABLE_SYMLINKS)
is read as well. Blob names are self-verifying, so every file is checked against its own
name: the Hub client itself checks only sizes. The same layout, as relative paths, names
a model's objects in a store (s3store's hf-cache-objects) and its members in a bundle's
volumes (volume_cache), so this module is the only one that knows it.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import stat

from ansible_collections.airlock.airgap.plugins.module_utils.integrity.confined import ConfinedRoot
from ansible_collections.airlock.airgap.plugins.module_utils.models import folders
from ansible_collections.airlock.airgap.plugins.module_utils.models import snapshot as snapshots
from ansible_collections.airlock.airgap.plugins.module_utils.models.errors import ModelError

# The Hub stores files from 10 MB in LFS (blob named by sha256); smaller ones by git blob sha1.
LFS_THRESHOLD = 10 * 1000 * 1000
COMMIT = re.compile(r"^[0-9a-f]{40}$")
REPO_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*(/[A-Za-z0-9][A-Za-z0-9._-]*)?$")
REPO_PREFIX = "models--"
# Where a store keeps a snapshot's manifest beside a cache's objects: a folder huggingface_hub's cache scan ignores.
STORE_MANIFESTS = ".airlock"


class HfSnapshot(snapshots.Snapshot):
    """A Hugging Face snapshot: name is the repo id, commit the 40-hex commit, refs the revisions naming it."""

    kind = "hf"

    @staticmethod
    def home(places):
        return places.cache

    def local_path(self, home, entry):
        """Where a staged file is read: its snapshot path (a link to its blob, or the file itself)."""
        return os.path.join(snapshot_folder(home, self.name, self.commit), *entry.path.split("/"))

    def object_path(self, entry):
        return snapshot_member(self.name, self.commit, entry.path)

    def manifest_path(self, hidden_folder=None):
        """Beside the snapshot's objects; in hidden_folder when they are laid out as a cache (where huggingface_hub
        would take a file in snapshots/ for a corrupted cache)."""
        if hidden_folder:
            return f"{repo_folder_name(self.name)}/{hidden_folder}/{self.commit}.json"
        return f"{snapshot_member(self.name, self.commit)}.json"

    def ref_objects(self):
        return [(ref_member(self.name, ref), self.commit) for ref in self.refs]

    @staticmethod
    def distinct_key(entry):
        """Files that share a blob are one transfer."""
        return entry.blob

    def placer(self, home, check_mode):
        """place(entry, fill): one blob written verified (in check mode, whether it would be); True when written."""
        what = f"{self.source}: {self.name}@{self.commit}"
        if check_mode:
            return lambda entry, fill: not snapshots.holds_file(blob_path(home, self.name, entry.blob), entry)
        return lambda entry, fill: place_blob(home, self.name, entry, fill, what)

    def complete(self, home, check_mode):
        """Link the snapshot's files to their blobs, then its refs; True when anything changed."""
        return link_snapshot(home, self, check_mode)

    def verify_staged(self, home):
        """Nothing beyond its files, each hashed against its blob name as the snapshot was read."""


def check_repo_id(repo_id):
    if not REPO_ID.match(repo_id or "") or ".." in repo_id or "--" in repo_id:
        raise ModelError(f"{repo_id!r} is not a Hugging Face repo id: use ORG/NAME, for example sentence-transformers/all-MiniLM-L6-v2")
    return repo_id


def repo_folder_name(repo_id):
    """models--ORG--NAME: the folder of a repo in a cache, and its prefix in a store."""
    return REPO_PREFIX + check_repo_id(repo_id).replace("/", "--")


def repo_id_of(folder_name):
    """The repo id a cache folder name stands for, or None when it is no model's folder."""
    return folder_name[len(REPO_PREFIX):].replace("--", "/") if folder_name.startswith(REPO_PREFIX) else None


def snapshot_member(repo_id, commit, path=""):
    """models--ORG--NAME/snapshots/<commit>[/<path>], relative to the cache."""
    return f"{repo_folder_name(repo_id)}/snapshots/{commit}" + (f"/{path}" if path else "")


def ref_member(repo_id, ref):
    """models--ORG--NAME/refs/<ref>, relative to the cache."""
    return f"{repo_folder_name(repo_id)}/refs/{ref}"


def repo_folder(cache, repo_id):
    return os.path.join(cache, repo_folder_name(repo_id))


def snapshot_folder(cache, repo_id, commit):
    return os.path.join(repo_folder(cache, repo_id), "snapshots", commit)


def commits(cache, repo_id):
    """The commits the cache holds a snapshot of for repo_id."""
    folder = os.path.join(repo_folder(cache, repo_id), "snapshots")
    return sorted(name for name in os.listdir(folder) if COMMIT.match(name)) if os.path.isdir(folder) else []


def repo_tree(cache, repo_id, create=True):
    """The repo folder as a ConfinedRoot: whatever a manifest from outside names is written beneath it and
    nowhere else, never through a link (a cache is written from S3 manifests and bundles)."""
    return ConfinedRoot(cache).subtree(os.path.basename(repo_folder(cache, repo_id)), create)


def blob_path(cache, repo_id, blob):
    return os.path.join(repo_folder(cache, repo_id), "blobs", snapshots.check_blob(blob, repo_id))


def resolve(cache, repo_id, revision):
    """The commit that revision names in the cache, or None when the cache does not have it."""
    folder = repo_folder(cache, repo_id)
    if COMMIT.match(revision) and os.path.isdir(os.path.join(folder, "snapshots", revision)):
        return revision
    ref = os.path.join(folder, "refs", revision)
    if not os.path.isfile(ref):
        return None
    with open(ref, encoding="utf-8") as handle:
        commit = handle.read()
    return commit if COMMIT.match(commit) else None


def refs_naming(cache, repo_id, commit):
    refs = os.path.join(repo_folder(cache, repo_id), "refs")
    found = []
    for directory, dirs, names in os.walk(refs):
        dirs[:] = [name for name in dirs if not name.startswith(".")]
        for name in names:
            if name.startswith("."):  # never a git ref: a temporary file an interrupted run left behind
                continue
            path = os.path.join(directory, name)
            with open(path, encoding="utf-8") as handle:
                if handle.read() == commit:
                    found.append(os.path.relpath(path, refs).replace(os.sep, "/"))
    return sorted(found)


def read_snapshot(cache, repo_id, revision, verify=True):
    """The snapshot's record, each file hashed and checked against its blob name.
    Without verify, sha256-named blobs are taken at their name unread (whoever reads them next checks: a push
    hashes a multipart file before it is sent and S3 checks a single PUT's ChecksumSHA256)."""
    commit = resolve(cache, repo_id, revision)
    if commit is None:
        raise ModelError(f"{repo_id}@{revision} is not in the cache {cache}: stage it first (state=staged) or pull it (state=pulled)")
    root = snapshot_folder(cache, repo_id, commit)
    files = [_file_entry(root, path, verify, f"{repo_id}@{commit}") for path in _snapshot_paths(root)]
    return HfSnapshot(repo_id, commit, files, refs_naming(cache, repo_id, commit))


def _snapshot_paths(root):
    for directory, dirs, names in os.walk(root):
        dirs.sort()
        for name in sorted(names):
            if snapshots.is_temporary(name):
                continue
            yield os.path.relpath(os.path.join(directory, name), root).replace(os.sep, "/")


def _file_entry(root, relative, verify, what):
    path = os.path.join(root, relative)
    if os.path.islink(path):
        blob = os.path.basename(os.readlink(path))
        if not os.path.exists(path):
            raise ModelError(f"{what}: {relative} is a broken link to blobs/{blob}; pull or stage the model again")
    else:
        blob = ""
    if blob and not verify and snapshots.SHA256_HEX.match(blob):
        return snapshots.FileEntry(relative, os.path.getsize(path), blob, blob)
    size, sha256, hasher = snapshots.hash_file(path, blob)
    if blob and not hasher.names_match(blob):  # read anyway (a git sha1 name gives no sha256): checked even without verify
        raise ModelError(f"{what}: {relative} does not match its blob name {blob} (sha256 {sha256}): the cache is corrupted, "
                         "stage or pull the model again")
    return snapshots.FileEntry(relative, size, sha256, blob or sha256)


def place_blob(cache, repo_id, entry, fill, what):
    """Write one blob through a temporary name, verified; True when written, False when already there."""
    blob = snapshots.check_blob(entry.blob, repo_id)
    return snapshots.commit_verified(repo_tree(cache, repo_id), f"blobs/{blob}", entry, fill, what)


def link_snapshot(cache, snapshot, check_mode=False):
    """Make snapshots/<commit>/ link every file to its blob, then point the refs at the commit (last,
    so a reader never finds a ref naming an incomplete snapshot). True when anything changed (in
    check mode, when anything would: the blobs need not be there yet)."""
    if not COMMIT.match(snapshot.commit):
        raise ModelError(f"{snapshot.name}: {snapshot.commit!r} is not a 40-hex commit; cannot lay it out as a Hugging Face cache")
    tree = repo_tree(cache, snapshot.name, create=not check_mode)
    changed = False
    for entry in snapshot.files:
        snapshots.check_relative(entry.path, snapshot.name)
        blob = f"blobs/{snapshots.check_blob(entry.blob, snapshot.name)}"
        target = "../" * (2 + entry.path.count("/")) + blob
        link = f"snapshots/{snapshot.commit}/{entry.path}"
        if check_mode:
            changed = changed or tree.readlink(link) != target
            continue
        status = tree.status(blob)
        if status is None or not stat.S_ISREG(status.st_mode):
            raise ModelError(f"{snapshot.name}: blob {entry.blob} for {entry.path} is missing; nothing was linked to it")
        changed = tree.symlink(link, target) or changed
    for ref in snapshot.refs:
        changed = write_ref(tree, ref, snapshot.commit, check_mode) or changed
    return changed


def write_ref(tree, ref, commit, check_mode=False):
    """Point refs/<ref> of the repo tree at the commit; True when it changed (in check mode, when it would)."""
    snapshots.check_relative(ref, f"ref {ref}")
    if any(part.startswith(".") for part in ref.split("/")):
        raise ModelError(f"{ref!r} is not a git ref name (a component starts with a dot): refusing it")
    relative = f"refs/{ref}"
    if tree.read_bytes(relative) == commit.encode():
        return False
    if not check_mode:  # no trailing newline: huggingface_hub reads the file verbatim
        tree.write(relative, lambda handle: handle.write(commit.encode()))
    return True


def listed_models(cache):
    """Repo ids of every model entry in the cache."""
    if not os.path.isdir(cache):
        return []
    return sorted(repo_id_of(name) for name in os.listdir(cache) if repo_id_of(name) is not None and os.path.isdir(os.path.join(cache, name)))


def import_folder(folder, cache, source, check_mode=False):
    """A local folder as a proper cache entry for source.repo_id at source.revision; (snapshot, moved, skipped, changed).
    With no commit given, one is derived from the content, so importing the same folder again changes nothing."""
    entries, reals = [], {}
    for relative, real in folders.resolved_files(folder).items():
        size, sha256, _hasher = snapshots.hash_file(real)
        blob = sha256 if size >= LFS_THRESHOLD else _git_blob_sha1(real, size)
        entries.append(snapshots.FileEntry(relative, size, sha256, blob))
        reals[relative] = real
    commit = source.commit or (source.revision if COMMIT.match(source.revision) else _content_commit(entries))
    refs = [] if source.revision == commit else [source.revision]
    snapshot = HfSnapshot(source.repo_id, commit, entries, refs, source=str(source))
    moved = skipped = 0
    for entry in entries:
        present = os.path.isfile(blob_path(cache, source.repo_id, entry.blob))
        if check_mode:
            moved, skipped = (moved, skipped + entry.size) if present else (moved + entry.size, skipped)
            continue
        if place_blob(cache, source.repo_id, entry, lambda handle, real=reals[entry.path]: _copy(real, handle), str(source)):
            moved += entry.size
        else:
            skipped += entry.size
    changed = link_snapshot(cache, snapshot, check_mode) or bool(moved)
    return snapshot, moved, skipped, changed


def _git_blob_sha1(path, size):
    hasher = snapshots.FileHasher(size, with_git_sha1=True)
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1024 * 1024), b""):
            hasher.update(block)
    return hasher.sha1.hexdigest()


def _content_commit(entries):
    listing = json.dumps(sorted((e.path, e.sha256) for e in entries))
    return hashlib.sha1(listing.encode(), usedforsecurity=False).hexdigest()


def _copy(path, handle):
    with open(path, "rb") as source:
        while True:
            block = source.read(4 * 1024 * 1024)
            if not block:
                return
            handle.write(block)
