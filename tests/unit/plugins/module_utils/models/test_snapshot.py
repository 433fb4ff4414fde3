"""Snapshot records: self-verifying blob names, path safety, atomic verified writes."""

import hashlib
import os

import pytest

from ansible_collections.airlock.airgap.plugins.module_utils.integrity.confined import ConfinedRoot, UnsafePath
from ansible_collections.airlock.airgap.plugins.module_utils.models import hf_cache, snapshot
from ansible_collections.airlock.airgap.plugins.module_utils.models.errors import ModelError

DATA = b"tokenizer vocabulary\n" * 100


def git_sha1(data):
    return hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()


def test_blob_names_are_checked_as_sha256_or_git_sha1():
    hasher = snapshot.FileHasher(len(DATA), with_git_sha1=True)
    hasher.update(DATA)
    assert hasher.names_match(hashlib.sha256(DATA).hexdigest())
    assert hasher.names_match(git_sha1(DATA))
    assert not hasher.names_match(git_sha1(DATA + b"!"))
    assert not hasher.names_match("not-a-digest")


@pytest.mark.parametrize("path", ["../x", "/etc/passwd", "a/../../b", "a//b", "", "a\\b"])
def test_escaping_paths_are_refused(path):
    with pytest.raises(ModelError, match="escape"):
        snapshot.check_relative(path, "test")


def test_manifest_round_trip_and_refusal_of_bad_digests():
    record = hf_cache.HfSnapshot("acme/m", "a" * 40, [snapshot.FileEntry("config.json", 3, "b" * 64, "c" * 40)], ["main"])
    assert snapshot.Snapshot.from_json(record.to_json(), "x") == record
    with pytest.raises(ModelError, match="malformed sha256"):
        snapshot.Snapshot.from_json(record.to_json().replace("b" * 64, "zz"), "x")


def entry_for(data, name="f"):
    return snapshot.FileEntry(name, len(data), hashlib.sha256(data).hexdigest(), git_sha1(data))


def test_commit_verified_names_only_good_bytes(tmp_path):
    tree, final = ConfinedRoot(str(tmp_path)), tmp_path / "blobs" / "blob"
    with pytest.raises(ModelError, match="is corrupted"):
        snapshot.commit_verified(tree, "blobs/blob", entry_for(DATA), lambda handle: handle.write(DATA[:-1] + b"?"), "test")
    assert not final.exists() and not os.listdir(final.parent)
    assert snapshot.commit_verified(tree, "blobs/blob", entry_for(DATA), lambda handle: handle.write(DATA), "test")
    assert not snapshot.commit_verified(tree, "blobs/blob", entry_for(DATA), lambda handle: pytest.fail("rewrote a good file"), "test")


def test_commit_verified_never_writes_through_a_link(tmp_path):
    (tmp_path / "outside").mkdir()
    (tmp_path / "cache").mkdir()
    (tmp_path / "cache" / "blobs").symlink_to(tmp_path / "outside")
    with pytest.raises(UnsafePath):
        snapshot.commit_verified(ConfinedRoot(str(tmp_path / "cache")), "blobs/blob", entry_for(DATA), lambda handle: handle.write(DATA), "test")
    assert not os.listdir(tmp_path / "outside")


def test_leftovers_of_this_and_earlier_versions_are_temporary():
    assert snapshot.is_temporary(".airlock-partial-123-weights.bin")
    assert snapshot.is_temporary("weights.bin.partial-123") and snapshot.is_temporary(".weights.bin.partial-abc")
    assert not snapshot.is_temporary("weights.bin")
