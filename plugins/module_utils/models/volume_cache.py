# Copyright (c) 2026, airlock.airgap contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""A bundle's Hugging Face cache (its models/ folder) read in place from the bundle's volumes, to push from.

It answers what the push needs of a staged cache (hf_cache.read_snapshot and where each file
lies) without an unpacked copy: the refs, the snapshot's links and the blobs are members of
the volumes' tar (integrity.bundle_files.BundleFiles). A ref is checked against the bundle's
SHA256SUMS as it is read; a blob named by its sha256 is taken at its name and proven by the
push, which hashes every byte it sends (S3 checks a single PUT's sha256, a multipart upload is
abandoned unless the bytes match). Generic trees (NGC models, folders) are not read from the
volumes: unpack model-trees/ for them.
"""

from __future__ import annotations

import hashlib
import posixpath

from ansible_collections.airlock.airgap.plugins.module_utils.models import hf_cache, snapshot as snapshots
from ansible_collections.airlock.airgap.plugins.module_utils.models.errors import ModelError

FOLDER = "models"  # where a bundle keeps its Hugging Face cache


class VolumeCache:
    """The models/ cache of a bundle whose volumes BundleFiles reads."""

    def __init__(self, files):
        self.files = files
        self.where = f"{files.where}/{FOLDER}"
        self._located = {}  # (repo id, commit, file path) -> member path of its bytes

    def snapshots(self, models):
        """The snapshots the Hugging Face sources name (every snapshot the bundle holds when none are named)."""
        if not models:
            return [self.read_snapshot(repo_id, commit) for repo_id in self._repo_ids() for commit in self._commits(repo_id)]
        return [self.read_snapshot(source.repo_id, getattr(source, "commit", "") or source.revision) for source in models]

    def read_snapshot(self, repo_id, revision):
        repo = self._repo(repo_id)
        commit = revision if hf_cache.COMMIT.match(revision) and revision in self._commits(repo_id) else self._ref(repo, revision)
        if commit is None:
            raise ModelError(f"{repo_id}@{revision} is not in the bundle's models ({self.where}): stage it on the connected side and pack again")
        entries = [self._entry(repo_id, commit, repo, relative) for relative in self._under(f"{FOLDER}/{hf_cache.snapshot_member(repo_id, commit)}")]
        refs = sorted(ref for ref in self._under(f"{repo}/refs") if self._ref(repo, ref) == commit)
        return hf_cache.HfSnapshot(repo_id, commit, entries, refs)

    def opener(self, snapshot, entry):
        """What the push reads instead of a local path: a callable opening the entry's bytes in the volumes."""
        return _Member(self.files, self._located[(snapshot.name, snapshot.commit, entry.path)])

    def _entry(self, repo_id, commit, repo, relative):
        path = f"{FOLDER}/{hf_cache.snapshot_member(repo_id, commit, relative)}"
        link = self.files.entries[path]
        if link.issym():
            blob = snapshots.check_blob(posixpath.basename(link.linkname), f"{repo_id}@{commit} ({relative})")
            member = f"{repo}/blobs/{blob}"
            if self.files.size(member) is None:
                raise ModelError(f"{repo_id}@{commit}: {relative} links to blobs/{blob}, which the bundle does not hold; pack it again")
        else:
            blob, member = "", path
        self._located[(repo_id, commit, relative)] = member
        size = self.files.size(member)
        if blob and snapshots.SHA256_HEX.match(blob):
            return snapshots.FileEntry(relative, size, blob, blob)
        sha256 = self._hashed(member)
        return snapshots.FileEntry(relative, size, sha256, blob or sha256)

    def _hashed(self, member):
        """The sha256 of a member (a git-sha1-named blob or a plain file), read out of the volumes."""
        hasher = hashlib.sha256()
        for block in self.files.chunks(member):
            hasher.update(block)
        return hasher.hexdigest()

    def _repo(self, repo_id):
        return f"{FOLDER}/{hf_cache.repo_folder_name(repo_id)}"

    def _repo_ids(self):
        return sorted({hf_cache.repo_id_of(relative.split("/")[1]) for relative in self.files.entries
                       if relative.startswith(f"{FOLDER}/{hf_cache.REPO_PREFIX}") and relative.count("/") >= 1})

    def _commits(self, repo_id):
        root = f"{FOLDER}/{hf_cache.snapshot_member(repo_id, '')}"
        return sorted({relative[len(root):].split("/")[0] for relative in self.files.entries if relative.startswith(root)})

    def _under(self, folder):
        """Paths, relative to folder, of the files and links beneath it, sorted."""
        prefix = folder + "/"
        return sorted(relative[len(prefix):] for relative, member in self.files.entries.items()
                      if relative.startswith(prefix) and not member.isdir() and not snapshots.is_temporary(posixpath.basename(relative)))

    def _ref(self, repo, revision):
        path = f"{repo}/refs/{revision}"
        if self.files.size(path) is None:
            return None
        commit = self.files.read_verified(path).decode("utf-8", "replace")
        return commit if hf_cache.COMMIT.match(commit) else None


class _Member:  # pylint: disable=too-few-public-methods
    """One file of the volumes: called, it opens; printed (in an error), it names where it lies."""

    def __init__(self, files, relative):
        self.files, self.relative = files, relative

    def __call__(self):
        return self.files.open(self.relative)

    def __str__(self):
        return f"{self.files.where}:{self.relative}"
