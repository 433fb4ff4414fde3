"""The Hugging Face cache layout: import a folder and read it back (the integration tests also have
huggingface_hub.scan_cache_dir() check such caches)."""

import os

import pytest

from ansible_collections.airlock.airgap.plugins.module_utils.models import hf_cache, sources
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
