# Copyright (c) 2026, airlock.airgap contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""What one model snapshot holds: each file's path, size, sha256 and cache blob name.

The same record describes a Hugging Face snapshot (kind "hf", hf_cache.HfSnapshot: blob names
are the Hub's ETags, sha256 for LFS files and git blob sha1 for the rest) and a generic tree
(kind "tree", trees.TreeSnapshot: NGC models, NIM caches, model folders; blob names are the
sha256, relative symlinks kept as links). Each kind carries what differs between them (where
its files lie, where its objects go in a store, how a pull lays it out), next to the layout it
knows. It is what travels to S3 as the per-snapshot manifest, so a pull knows every byte it
must get and can prove each one.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import re
import stat
from typing import ClassVar

from ansible_collections.airlock.airgap.plugins.module_utils.integrity import confined
from ansible_collections.airlock.airgap.plugins.module_utils.integrity.digest import FILE_READ_SIZE
from ansible_collections.airlock.airgap.plugins.module_utils.models.errors import CorruptedFile, ModelError

SHA256_HEX = re.compile(r"^[0-9a-f]{64}$")
SHA1_HEX = re.compile(r"^[0-9a-f]{40}$")
MANIFEST_VERSION = 1
# What an interrupted run of an earlier version left behind ("<name>.partial-<pid>" links and
# ".<name>.partial-XXXX" files); never a file of a model. Today's are confined.is_temporary.
TEMPORARY_NAME = re.compile(r"(\.partial-\d+$)|(^\..*\.partial-[^/]+$)")


@dataclasses.dataclass(frozen=True)
class FileEntry:
    path: str
    size: int
    sha256: str
    blob: str


# kind -> the Snapshot class of that kind, as each registers itself (hf_cache.HfSnapshot, trees.TreeSnapshot)
KINDS = {}


@dataclasses.dataclass
class Snapshot:
    """One snapshot of a kind (see the subclasses): name and commit say which, files and links what it holds.

    A kind's class implements: home(places), the folder it is staged in; local_path(home, entry); object_path(entry)
    and manifest_path(hidden_folder), where it goes in a store laid out as a cache; ref_objects(), the (path, text)
    of its refs there; distinct_key(entry), what makes two files one transfer; placer(home, check_mode) and
    complete(home, check_mode), how a pull lays it out; verify_staged(home), what a verification checks beyond
    the hashes read.
    """

    kind: ClassVar[str] = ""

    name: str
    commit: str
    files: list
    refs: list = dataclasses.field(default_factory=list)
    links: dict = dataclasses.field(default_factory=dict)
    source: str = ""

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        KINDS[cls.kind] = cls

    @property
    def size(self):
        return sum(entry.size for entry in self.files)

    def to_json(self):
        document = dataclasses.asdict(self)
        document["kind"] = self.kind
        document["version"] = MANIFEST_VERSION
        document["files"] = sorted(document["files"], key=lambda entry: entry["path"])
        return json.dumps(document, indent=1, sort_keys=True)

    @staticmethod
    def from_json(text, what):
        """The snapshot of the kind a manifest names, every field checked (it comes from a store or a bundle)."""
        try:
            document = json.loads(text)
            files = [FileEntry(**entry) for entry in document["files"]]
            snapshot = KINDS[document["kind"]](document["name"], document["commit"], files, document.get("refs", []),
                                               document.get("links", {}), document.get("source", ""))
        except (ValueError, KeyError, TypeError) as error:
            raise ModelError(f"{what} is not a model manifest this collection wrote ({error}); push the model again") from error
        for entry in files:
            check_relative(entry.path, what)
            if not isinstance(entry.sha256, str) or not SHA256_HEX.match(entry.sha256):
                raise ModelError(f"{what} lists {entry.path} with a malformed sha256 {entry.sha256!r}; push the model again")
            check_blob(entry.blob, f"{what} ({entry.path})")
            if not isinstance(entry.size, int) or isinstance(entry.size, bool) or entry.size < 0:
                raise ModelError(f"{what} lists {entry.path} with a malformed size {entry.size!r}; push the model again")
        if not isinstance(snapshot.name, str) or not isinstance(snapshot.commit, str) or not isinstance(snapshot.links, dict) \
                or not isinstance(snapshot.refs, list) or not all(isinstance(ref, str) for ref in snapshot.refs):
            raise ModelError(f"{what} is not a model manifest this collection wrote (malformed name, commit, refs or links); push the model again")
        for relative, target in snapshot.links.items():
            check_relative(relative, what)
            if not isinstance(target, str) or not target or target.startswith("/") or "\0" in target or "\\" in target:
                raise ModelError(f"{what} lists the link {relative} with the target {target!r}, which would escape its folder: refusing it")
        for ref in snapshot.refs:
            check_relative(ref, what)
        return snapshot

    def listing_digest(self):
        """A content identity for a tree: the sha256 of its sorted listing and links."""
        listing = json.dumps([[e.path, e.size, e.sha256] for e in sorted(self.files, key=lambda e: e.path)] + [sorted(self.links.items())])
        return hashlib.sha256(listing.encode()).hexdigest()


def check_blob(blob, what):
    """A blob name is a sha256 or a git blob sha1, nothing else: it becomes a file name in the cache."""
    if not isinstance(blob, str) or not (SHA256_HEX.match(blob) or SHA1_HEX.match(blob)):
        raise ModelError(f"{what} names the blob {blob!r}, which is neither a sha256 nor a git sha1: refusing it")
    return blob


def is_temporary(name):
    """Whether a file name is a temporary one an interrupted run left behind (this version's or an earlier one's)."""
    return confined.is_temporary(name) or bool(TEMPORARY_NAME.search(name))


def check_relative(path, what):
    """Refuse a file path that would land outside the folder it belongs to."""
    if not isinstance(path, str):
        raise ModelError(f"{what} names the file {path!r}, which is not a path: refusing it")
    parts = path.split("/")
    if not path or path.startswith("/") or any(part in ("", ".", "..") for part in parts) or "\\" in path or "\0" in path:
        raise ModelError(f"{what} names the file {path!r}, which would escape its folder: refusing it")
    return path


def git_blob_sha1_prefix(size):
    return b"blob %d\0" % size


class FileHasher:
    """sha256 (and, for git-named blobs, git's blob sha1) of bytes as they pass, in one read."""

    def __init__(self, size=None, with_git_sha1=False):
        self.sha256 = hashlib.sha256()
        self.sha1 = None
        if with_git_sha1:
            if size is None:
                raise ValueError("a git blob sha1 needs the size up front")
            self.sha1 = hashlib.sha1(git_blob_sha1_prefix(size), usedforsecurity=False)
        self.count = 0

    def update(self, block):
        self.sha256.update(block)
        if self.sha1 is not None:
            self.sha1.update(block)
        self.count += len(block)

    def names_match(self, blob):
        """Whether these bytes are the ones the blob name (sha256 or git sha1) stands for."""
        if SHA256_HEX.match(blob):
            return self.sha256.hexdigest() == blob
        if SHA1_HEX.match(blob) and self.sha1 is not None:
            return self.sha1.hexdigest() == blob
        return False


def hash_file(path, blob=""):
    """(size, sha256 hex, hasher) of the file; git sha1 too when blob is a 40-hex git name."""
    with open(path, "rb", buffering=0) as handle:
        return hash_open_file(handle, blob)


def hash_open_file(handle, blob=""):
    """hash_file for a file already open (one opened without following links, say)."""
    size = os.fstat(handle.fileno()).st_size
    hasher = FileHasher(size, with_git_sha1=bool(SHA1_HEX.match(blob)))
    buffer = bytearray(FILE_READ_SIZE)
    view = memoryview(buffer)
    for count in iter(lambda: handle.readinto(buffer), 0):
        hasher.update(view[:count])
    return hasher.count, hasher.sha256.hexdigest(), hasher


def holds_file(path, entry):
    """Whether the file at path holds exactly the entry's bytes (False when it is missing or unreadable)."""
    try:
        verify_file(path, entry, entry.path)
        return True
    except (ModelError, OSError):
        return False


def verify_file(path, entry, what):
    """Raise unless the file holds exactly the entry's bytes (size, sha256 and blob name)."""
    with open(path, "rb", buffering=0) as handle:
        verify_open_file(handle, entry, what)


def verify_open_file(handle, entry, what):
    """verify_file for a file already open."""
    size, sha256, hasher = hash_open_file(handle, entry.blob)
    if size != entry.size or sha256 != entry.sha256 or not hasher.names_match(entry.blob):
        raise CorruptedFile(f"{what}: {entry.path} is corrupted ({size} bytes, sha256 {sha256}; expected {entry.size} bytes, "
                            f"sha256 {entry.sha256}, blob {entry.blob}); nothing was committed under its name, fetch it again",
                            entry, bytes_found(size, sha256))


def bytes_found(size, sha256):
    """What a file or object holds instead of its record's bytes, in the words every corruption report uses."""
    return f"{size} bytes of sha256 {sha256}"


def commit_verified(tree, relative, entry, fill, what):
    """Write entry's bytes at relative in tree (a ConfinedRoot: no link on the way is followed) through
    a temporary name: fill(handle) writes them, and they get the final name only once size, sha256
    and blob name all match. True when written, False when the file there already holds them."""
    if holds_verified(tree, relative, entry, what):
        return False
    tree.write(relative, fill, before_commit=lambda written: verify_open_file(written, entry, what))
    return True


def holds_verified(tree, relative, entry, what):
    """Whether the regular file at relative in tree (a ConfinedRoot) holds exactly the entry's bytes."""
    status = tree.status(relative)
    if status is None or not stat.S_ISREG(status.st_mode):
        return False
    try:
        with tree.open_read(relative) as present:
            verify_open_file(present, entry, what)
    except ModelError:
        return False
    return True
