"""The Hugging Face cache layout: import a folder and read it back (the integration tests also have
huggingface_hub.scan_cache_dir() check such caches)."""

import os

import pytest

from ansible_collections.airlock.airgap.plugins.module_utils.models import hf_cache, lock, operations, sources
from ansible_collections.airlock.airgap.plugins.module_utils.models.errors import ModelError


@pytest.fixture
def folder(tmp_path):
    root = tmp_path / "model"
    (root / "1_Pooling").mkdir(parents=True)
    (root / "config.json").write_text('{"hidden_size": 8}')
    (root / "1_Pooling" / "config.json").write_text('{"pooling": "mean"}')
    (root / "same.json").write_text('{"hidden_size": 8}')
    return root


def test_an_imported_folder_is_a_clean_cache_entry(folder, tmp_path):
    cache = str(tmp_path / "hub")
    record, moved, skipped, changed = hf_cache.import_folder(str(folder), cache, sources.LocalSource(str(folder), "acme/tiny", "v1"))
    assert changed and moved > 0 and skipped > 0  # same.json shares config.json's blob
    repo = os.path.join(cache, "models--acme--tiny")
    assert sorted(os.listdir(repo)) == ["blobs", "refs", "snapshots"] and os.listdir(os.path.join(repo, "snapshots")) == [record.commit]
    link = os.path.join(repo, "snapshots", record.commit, "1_Pooling", "config.json")
    assert os.readlink(link).startswith("../../../blobs/") and len(os.path.basename(os.readlink(link))) == 40  # small file: git sha1
    with open(os.path.join(cache, "models--acme--tiny", "refs", "v1"), encoding="utf-8") as handle:
        assert handle.read() == record.commit
    again = hf_cache.read_snapshot(cache, "acme/tiny", "v1")
    assert {e.path: e.sha256 for e in again.files} == {e.path: e.sha256 for e in record.files} and again.refs == ["v1"]
    assert hf_cache.import_folder(str(folder), cache, sources.LocalSource(str(folder), "acme/tiny", "v1"))[3] is False


def test_a_blob_that_does_not_match_its_name_is_found(folder, tmp_path):
    cache = str(tmp_path / "hub")
    record = hf_cache.import_folder(str(folder), cache, sources.LocalSource(str(folder), "acme/tiny"))[0]
    blob = hf_cache.blob_path(cache, "acme/tiny", record.files[0].blob)
    os.chmod(blob, 0o644)
    with open(blob, "ab") as handle:
        handle.write(b" ")
    with pytest.raises(ModelError, match="does not match its blob name"):
        hf_cache.read_snapshot(cache, "acme/tiny", "main")


def test_an_unknown_revision_says_how_to_get_it(tmp_path):
    with pytest.raises(ModelError, match="stage it first"):
        hf_cache.read_snapshot(str(tmp_path), "acme/none", "main")


def test_leftovers_of_an_interrupted_run_are_not_read_as_files_or_refs(folder, tmp_path):
    cache = str(tmp_path / "hub")
    record = hf_cache.import_folder(str(folder), cache, sources.LocalSource(str(folder), "acme/tiny", "v1"))[0]
    repo = os.path.join(cache, "models--acme--tiny")
    os.symlink("../../blobs/" + record.files[0].blob, os.path.join(repo, "snapshots", record.commit, "config.json.partial-4242"))
    with open(os.path.join(repo, "refs", ".v1.x8k2m3q1"), "w", encoding="utf-8") as handle:
        handle.write(record.commit)
    again = hf_cache.read_snapshot(cache, "acme/tiny", "v1")
    assert sorted(e.path for e in again.files) == sorted(e.path for e in record.files) and again.refs == ["v1"]


def test_verify_checks_a_regular_file_snapshot_against_the_lock(folder, tmp_path):
    """A snapshot of regular files (HF_HUB_DISABLE_SYMLINKS) names each file by its own sha256: only the lock can tell."""
    cache = str(tmp_path / "hub")
    record = hf_cache.import_folder(str(folder), cache, sources.LocalSource(str(folder), "acme/tiny", "v1"))[0]
    snapshot_dir = os.path.join(cache, "models--acme--tiny", "snapshots", record.commit)
    for entry in record.files:  # what huggingface_hub writes without symlinks
        path = os.path.join(snapshot_dir, *entry.path.split("/"))
        with open(path, "rb") as handle:
            data = handle.read()
        os.unlink(path)
        with open(path, "wb") as handle:
            handle.write(data)
    lock_file = str(tmp_path / "airlock.lock.json")
    lock.write(lock_file, [operations.record(record, 0, 0, True, "v1")])
    places = operations.Places(cache=cache, lock_file=lock_file)
    assert [r["name"] for r in operations.verify([], places)] == ["acme/tiny"]
    with open(os.path.join(snapshot_dir, "config.json"), "ab") as handle:
        handle.write(b" ")
    operations.verify([], operations.Places(cache=cache))  # blob name = own sha256: consistent without the lock
    with pytest.raises(ModelError, match=r"config.json is corrupted \(sha256 [0-9a-f]{64}, locked [0-9a-f]{64}\) according to .*airlock.lock.json"):
        operations.verify([], places)


def test_check_mode_reports_a_new_ref_on_an_imported_commit(folder, tmp_path):
    cache = str(tmp_path / "hub")
    source = sources.LocalSource(str(folder), "acme/tiny", "v1", "a" * 40)
    assert hf_cache.import_folder(str(folder), cache, source)[3]
    assert hf_cache.import_folder(str(folder), cache, source, check_mode=True)[3] is False
    renamed = sources.LocalSource(str(folder), "acme/tiny", "v2", "a" * 40)
    assert hf_cache.import_folder(str(folder), cache, renamed, check_mode=True)[3] is True
    assert not os.path.exists(os.path.join(cache, "models--acme--tiny", "refs", "v2"))


def test_a_corrupted_git_named_blob_is_found_even_without_verify(folder, tmp_path):
    """Its sha256 is computed from the bytes, so taking it unchecked would push the corruption with a true-looking sha256."""
    cache = str(tmp_path / "hub")
    record = hf_cache.import_folder(str(folder), cache, sources.LocalSource(str(folder), "acme/tiny"))[0]
    blob = hf_cache.blob_path(cache, "acme/tiny", record.files[0].blob)
    os.chmod(blob, 0o644)
    with open(blob, "ab") as handle:
        handle.write(b" ")
    with pytest.raises(ModelError, match="does not match its blob name"):
        hf_cache.read_snapshot(cache, "acme/tiny", "main", verify=False)
