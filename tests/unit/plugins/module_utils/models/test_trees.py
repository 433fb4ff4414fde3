"""Generic trees and local folders: inside links kept, outside links refused, every file verified."""

import dataclasses
import os

import pytest

from ansible_collections.airlock.airgap.plugins.module_utils.models import operations, s3store, sources, trees
from ansible_collections.airlock.airgap.plugins.module_utils.models.errors import ModelError


@pytest.fixture
def nim_cache(tmp_path):
    root = tmp_path / "nim"
    (root / "ngc" / "hub" / "blobs").mkdir(parents=True)
    (root / "ngc" / "hub" / "blobs" / "abc").write_bytes(b"weights" * 100)
    (root / "model.bin").symlink_to("ngc/hub/blobs/abc")
    return root


def test_a_tree_keeps_its_inside_links_and_verifies(nim_cache, tmp_path):
    root = str(tmp_path / "trees")
    record, written, changed = trees.import_folder(str(nim_cache), root, "nim/llama", "test")
    assert changed and written == 700 and record.links == {"model.bin": "ngc/hub/blobs/abc"}
    assert os.readlink(os.path.join(root, "nim", "llama", "model.bin")) == "ngc/hub/blobs/abc"
    assert trees.listed_trees(root) == ["nim/llama"]
    trees.verify(root, trees.read_record(root, "nim/llama"))
    with open(os.path.join(root, "nim", "llama", "ngc", "hub", "blobs", "abc"), "ab") as handle:
        handle.write(b"!")
    with pytest.raises(ModelError, match="is corrupted"):
        trees.verify(root, trees.read_record(root, "nim/llama"))


def test_a_link_outside_the_folder_is_refused(nim_cache, tmp_path):
    (nim_cache / "escape").symlink_to("/etc/passwd")
    with pytest.raises(ModelError, match="points outside the model folder"):
        trees.import_folder(str(nim_cache), str(tmp_path / "trees"), "nim", "test")
    assert not (tmp_path / "trees").exists()


def test_the_consumer_prefix_must_be_the_upload_prefix():
    s3store.check_consumer_prefix(s3store.S3Settings(bucket="tao", prefix="/registry/", consumer_prefix="s3://tao/registry"))
    with pytest.raises(ModelError, match="but the consumer reads s3://tao/models"):
        s3store.check_consumer_prefix(s3store.S3Settings(bucket="tao", prefix="registry", consumer_prefix="models"))


def test_restaging_a_tree_whose_files_were_corrupted_reports_changed(nim_cache, tmp_path):
    places = operations.Places(cache=str(tmp_path / "hub"), tree_root=str(tmp_path / "trees"))
    source = sources.TreeSource(str(nim_cache), "nim/llama")
    assert operations.import_tree(source, places)[3]
    assert operations.import_tree(source, places)[1:] == (0, 700, False)
    staged = tmp_path / "trees" / "nim" / "llama" / "ngc" / "hub" / "blobs" / "abc"
    staged.chmod(0o644)
    staged.write_bytes(b"x" * 700)
    planned = operations.import_tree(source, dataclasses.replace(places, check_mode=True))
    assert planned[1:] == (700, 0, True) and staged.read_bytes() == b"x" * 700
    assert operations.import_tree(source, places)[1:] == (700, 0, True)
    os.unlink(tmp_path / "trees" / "nim" / "llama" / "model.bin")
    assert operations.import_tree(source, places)[1:] == (0, 700, True), "a link put back is a change"
