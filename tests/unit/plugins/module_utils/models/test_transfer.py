"""Push and pull against an in-memory S3 client: hostile manifests refused, nothing trusted that was not proven,
an interrupted push never pulled as complete, and `changed` true in check mode too."""

import dataclasses
import hashlib
import json
import os

import pytest
from boto3.exceptions import S3UploadFailedError

from ansible_collections.airlock.airgap.plugins.module_utils.models import hf_cache, operations, s3store, sources, transfer, trees
from ansible_collections.airlock.airgap.plugins.module_utils.models import snapshot as snapshots
from ansible_collections.airlock.airgap.plugins.module_utils.models.errors import ModelError
from ansible_collections.airlock.airgap.plugins.module_utils.report.progress import Progress

COMMIT = "c" * 40


def tree_manifest(name, files=None, links=None, kind="tree"):
    entries = []
    for path, data in (files or {}).items():
        digest = hashlib.sha256(data).hexdigest()
        entries.append({"path": path, "size": len(data), "sha256": digest, "blob": digest})
    return json.dumps({"kind": kind, "name": name, "commit": "0" * 64, "files": entries, "links": links or {}, "refs": [], "source": "", "version": 1})


def pull_all(monkeypatch, store, tmp_path, models=()):
    monkeypatch.setattr(operations, "open_store", lambda settings: store)
    places = operations.Places(cache=str(tmp_path / "hub"), tree_root=str(tmp_path / "deep" / "er" / "trees"), s3=store.settings)
    return operations.pull(list(models), places)


@pytest.fixture
def outside(tmp_path):
    folder = tmp_path / "etc"
    folder.mkdir()
    return folder


def test_chained_links_in_one_tree_cannot_plant_a_way_out_for_another(monkeypatch, fake_s3, store_for, tmp_path, outside):
    """The reviewer's scenario: tree A's links each pass a lexical check, yet d/d/d/d/x lands four levels above A;
    the root tree then writes through it."""
    links = {"d": ".", "d/d": ".", "d/d/d": ".", "d/d/d/d": ".", "d/d/d/d/x": "../../../../etc"}
    fake_s3.put_text("p/.airlock/trees/A.json", tree_manifest("A", links=links))
    cron = b"* * * * * root pwned\n"
    fake_s3.put_text("p/.airlock/trees/_root.json", tree_manifest(".", files={"A/x/cron": cron}))
    fake_s3.put_text(f"p/blobs/sha256/{hashlib.sha256(cron).hexdigest()}", cron)
    with pytest.raises(ModelError, match="A names d/d, beneath its own link d: refusing it"):
        pull_all(monkeypatch, store_for(), tmp_path)
    assert not os.listdir(outside)
    assert not os.path.lexists(tmp_path / "deep" / "er" / "trees" / "A" / "d")


def test_a_link_resolving_through_another_link_is_measured_where_it_really_lands(tmp_path):
    root = str(tmp_path / "trees")
    # p/a -> .. lands at the tree; q -> p/a/../.. looks like the tree lexically but is its parent
    hostile = trees.TreeSnapshot("t", "0" * 64, [], links={"p/a": "..", "q": "p/a/../.."})
    with pytest.raises(ModelError, match=r"the link q -> p/a/\.\./\.\. would point outside the tree"):
        trees.link_tree(root, hostile)
    assert not os.path.lexists(os.path.join(root, "t", "q"))
    fine = trees.TreeSnapshot("t", "0" * 64, [], links={"p/a": "..", "q": "p/a/x"})
    assert trees.link_tree(root, fine) and not trees.link_tree(root, fine)


def test_a_file_is_never_written_through_a_link_already_on_disk(tmp_path, outside):
    root = tmp_path / "trees"
    (root / "A").mkdir(parents=True)
    (root / "A" / "evil").symlink_to(outside)
    data = b"payload"
    entry = snapshots.FileEntry("A/evil/cron", len(data), hashlib.sha256(data).hexdigest(), hashlib.sha256(data).hexdigest())
    record = trees.TreeSnapshot(trees.ROOT, "0" * 64, [entry])
    with pytest.raises(ModelError, match="is a link or a file, not a folder: nothing is written through it"):
        trees.place_file(str(root), record, entry, lambda handle: handle.write(data))
    assert not os.listdir(outside)


def test_the_root_tree_may_not_write_the_records(monkeypatch, fake_s3, store_for, tmp_path):
    data = b'{"kind": "tree"}'
    fake_s3.put_text("p/.airlock/trees/_root.json", tree_manifest(".", files={".airlock-trees/A.json": data}))
    fake_s3.put_text(f"p/blobs/sha256/{hashlib.sha256(data).hexdigest()}", data)
    with pytest.raises(ModelError, match="inside the records folder"):
        pull_all(monkeypatch, store_for(), tmp_path)


def test_a_blob_name_that_is_a_path_is_refused(monkeypatch, fake_s3, store_for, tmp_path):
    data = b"x"
    manifest = {"kind": "hf", "name": "acme/a", "commit": COMMIT, "refs": [], "links": {}, "source": "", "version": 1,
                "files": [{"path": "config.json", "size": 1, "sha256": hashlib.sha256(data).hexdigest(), "blob": "../../../../../etc/cron.d/x"}]}
    fake_s3.put_text(f"p/models--acme--a/snapshots/{COMMIT}.json", json.dumps(manifest))
    fake_s3.put_text(f"p/blobs/sha256/{hashlib.sha256(data).hexdigest()}", data)
    with pytest.raises(ModelError, match="names the blob '../../../../../etc/cron.d/x', which is neither a sha256 nor a git sha1"):
        pull_all(monkeypatch, store_for(), tmp_path, [sources.HubSource("acme/a", COMMIT)])
    assert not (tmp_path / "etc").exists() and not (tmp_path / "hub").exists()


def test_a_manifest_for_another_model_or_kind_is_refused(fake_s3, store_for):
    data = b"x"
    digest = hashlib.sha256(data).hexdigest()
    manifest = {"kind": "hf", "name": "acme/b", "commit": COMMIT, "refs": [], "links": {}, "source": "", "version": 1,
                "files": [{"path": "config.json", "size": 1, "sha256": digest, "blob": digest}]}
    fake_s3.put_text(f"p/models--acme--a/snapshots/{COMMIT}.json", json.dumps(manifest))
    with pytest.raises(ModelError, match="describes hf acme/b@c+, not hf acme/a@c+: refusing it"):
        transfer.remote_hf_snapshot(store_for(), "acme/a", COMMIT)
    fake_s3.put_text("p/.airlock/trees/nim--llama.json", tree_manifest("nim/llama", kind="hf"))
    with pytest.raises(ModelError, match="describes hf nim/llama, not the tree nim/llama"):
        transfer.remote_tree(store_for(), "nim/llama")
    fake_s3.put_text("p/.airlock/trees/nim--llama.json", tree_manifest("other"))
    with pytest.raises(ModelError, match="describes tree other, not the tree nim/llama"):
        transfer.remote_tree(store_for(), "nim/llama")


def staged_model(tmp_path, revision="main"):
    folder = tmp_path / "model"
    folder.mkdir(exist_ok=True)
    (folder / "config.json").write_text('{"hidden_size": 8}')
    (folder / "weights.bin").write_bytes(b"w" * 5000)
    cache = str(tmp_path / "staged")
    hf_cache.import_folder(str(folder), cache, sources.LocalSource(str(folder), "acme/tiny", revision, COMMIT))
    return cache, hf_cache.read_snapshot(cache, "acme/tiny", COMMIT)  # with every ref naming the commit, as a push reads it


def push(store, cache, record, check_mode=False, verify_remote=False):
    places = operations.Places(cache=cache)
    return transfer.push(store, record, lambda entry: operations.local_file(places, record, entry), check_mode, verify_remote)


def test_an_interrupted_hf_cache_objects_push_is_not_pulled_as_complete(fake_s3, store_for, tmp_path):
    store = store_for(layout=s3store.HF_CACHE_OBJECTS)
    cache, record = staged_model(tmp_path, "v1")
    push(store, cache, record)
    keys = [call[1] for call in fake_s3.calls]
    manifest = f"p/models--acme--tiny/.airlock/{COMMIT}.json"
    assert keys.index(manifest) > max(keys.index(f"p/models--acme--tiny/snapshots/{COMMIT}/{name}") for name in ("config.json", "weights.bin"))
    assert keys.index("p/models--acme--tiny/refs/v1") > keys.index(manifest)
    assert transfer.remote_hf_snapshot(store, "acme/tiny", "v1").files == record.files
    # what a push killed before its manifest leaves: some objects, no manifest, no ref
    del fake_s3.objects[manifest], fake_s3.objects["p/models--acme--tiny/refs/v1"]
    del fake_s3.objects[f"p/models--acme--tiny/snapshots/{COMMIT}/weights.bin"]
    with pytest.raises(ModelError, match="has no manifest for acme/tiny@c+ .*push it first, completely"):
        transfer.remote_hf_snapshot(store, "acme/tiny", COMMIT)


def test_a_corrupted_file_above_the_multipart_threshold_is_never_stored_with_its_sha256(fake_s3, store_for, tmp_path):
    store = store_for(multipart_threshold=100)
    path = tmp_path / "weights.bin"
    path.write_bytes(b"w" * 1000)
    entry = snapshots.FileEntry("weights.bin", 1000, hashlib.sha256(b"v" * 1000).hexdigest(), hashlib.sha256(b"v" * 1000).hexdigest())
    with pytest.raises(ModelError, match="the local copy is corrupted, stage it again; the upload was abandoned before it completed"):
        store.upload("p/blobs/sha256/" + entry.sha256, str(path), entry)
    assert not fake_s3.calls and not fake_s3.objects, "not one object may carry a sha256 its bytes were not proven to have"
    good = snapshots.FileEntry("weights.bin", 1000, hashlib.sha256(b"w" * 1000).hexdigest(), hashlib.sha256(b"w" * 1000).hexdigest())
    store.upload("p/blobs/sha256/" + good.sha256, str(path), good)
    assert [call[0] for call in fake_s3.calls] == ["upload_fileobj"] and fake_s3.calls[0][2]["sha256"] == good.sha256
    assert fake_s3.objects["p/blobs/sha256/" + good.sha256][0] == b"w" * 1000


def test_a_failed_multipart_upload_is_a_clear_error(fake_s3, store_for, tmp_path):
    def refuse(*args, **kwargs):
        raise S3UploadFailedError("Failed to upload weights.bin to b/p/x: An error occurred (SlowDown) when calling the UploadPart operation")
    fake_s3.upload_fileobj = refuse
    path = tmp_path / "weights.bin"
    path.write_bytes(b"w" * 1000)
    entry = snapshots.FileEntry("weights.bin", 1000, hashlib.sha256(b"w" * 1000).hexdigest(), hashlib.sha256(b"w" * 1000).hexdigest())
    with pytest.raises(ModelError, match=r"upload of weights.bin at s3://b/p: Failed to upload .*SlowDown"):
        store_for(multipart_threshold=100).upload("p/x", str(path), entry)


def test_check_mode_reports_a_new_ref_for_a_commit_already_pushed_and_pulled(monkeypatch, fake_s3, store_for, tmp_path):
    store = store_for()
    cache, record = staged_model(tmp_path, "main")
    assert push(store, cache, record).changed
    assert not push(store, cache, record).changed
    hf_cache.write_ref(hf_cache.repo_tree(cache, "acme/tiny"), "v2", COMMIT)
    record = hf_cache.read_snapshot(cache, "acme/tiny", COMMIT)
    assert record.refs == ["main", "v2"]
    before = dict(fake_s3.objects)
    assert push(store, cache, record, check_mode=True).changed, "the real run writes refs/v2"
    assert fake_s3.objects == before
    assert push(store, cache, record).changed and "p/models--acme--tiny/refs/v2" in fake_s3.objects

    monkeypatch.setattr(operations, "open_store", lambda settings: store)
    node = operations.Places(cache=str(tmp_path / "node"), s3=store.settings)
    assert operations.pull([sources.HubSource("acme/tiny", "main")], node)[0]["changed"]
    planned = operations.pull([sources.HubSource("acme/tiny", "v2")], dataclasses.replace(node, check_mode=True))[0]
    assert planned["changed"] and planned["bytes_moved"] == 0, "only the ref is new, and the real run writes it"
    assert not os.path.exists(os.path.join(hf_cache.repo_folder(node.cache, "acme/tiny"), "refs", "v2"))
    assert operations.pull([sources.HubSource("acme/tiny", "v2")], node)[0]["changed"]
    assert not operations.pull([sources.HubSource("acme/tiny", "v2")], dataclasses.replace(node, check_mode=True))[0]["changed"]


def test_leftover_temporary_refs_are_not_pushed(fake_s3, store_for, tmp_path):
    store = store_for()
    cache, record = staged_model(tmp_path, "main")
    (tmp_path / "staged" / "models--acme--tiny" / "refs" / ".main.k2j3h4").write_text(COMMIT)
    record = hf_cache.read_snapshot(cache, "acme/tiny", "main")
    push(store, cache, record)
    assert sorted(key for key in fake_s3.objects if "/refs/" in key) == ["p/models--acme--tiny/refs/main"]


def flip_middle_byte(fake_s3, key):
    """Bytes changed under the store, the object's size and metadata (its sha256 among it) kept."""
    body, metadata = fake_s3.objects[key]
    middle = len(body) // 2
    fake_s3.objects[key] = (body[:middle] + bytes([body[middle] ^ 0xFF]) + body[middle + 1:], metadata)


def test_a_verifying_push_uploads_again_only_the_objects_whose_bytes_changed(fake_s3, store_for, tmp_path):
    store = store_for()
    cache, record = staged_model(tmp_path)
    push(store, cache, record)
    weights = next(entry for entry in record.files if entry.path == "weights.bin")
    key = f"p/blobs/sha256/{weights.sha256}"
    original = fake_s3.objects[key][0]
    flip_middle_byte(fake_s3, key)
    assert not push(store, cache, record).changed, "metadata alone cannot show it: the reason for verify_remote"
    damaged = dict(fake_s3.objects)
    planned = push(store, cache, record, check_mode=True, verify_remote=True)
    assert planned.changed and planned.moved == weights.size and planned.repaired == ["weights.bin"] and fake_s3.objects == damaged
    repaired = push(store, cache, record, verify_remote=True)
    assert repaired.changed and repaired.moved == weights.size and repaired.repaired == ["weights.bin"]
    assert fake_s3.objects[key][0] == original
    assert push(store, cache, record, verify_remote=True) == transfer.Moved(skipped=record.size)


def test_a_manifest_whose_bytes_changed_under_its_metadata_is_rewritten_by_a_push(fake_s3, store_for, tmp_path):
    store = store_for()
    cache, record = staged_model(tmp_path)
    push(store, cache, record)
    flip_middle_byte(fake_s3, f"p/models--acme--tiny/snapshots/{COMMIT}.json")
    assert push(store, cache, record).changed
    assert transfer.remote_hf_snapshot(store, "acme/tiny", "main").files == record.files
    assert not push(store, cache, record).changed


def by_model_and_path(corrupted):
    return sorted(corrupted, key=lambda item: (item["name"], item["path"]))


def test_a_pull_and_a_store_verification_name_every_corrupted_file_of_every_model(monkeypatch, fake_s3, store_for, tmp_path):
    store = store_for()
    cache, tiny = staged_model(tmp_path)
    folder = str(tmp_path / "model")
    hf_cache.import_folder(folder, cache, sources.LocalSource(folder, "acme/twin", "main", "d" * 40))  # the same two files, shared blobs
    twin = hf_cache.read_snapshot(cache, "acme/twin", "main")
    push(store, cache, tiny)
    push(store, cache, twin)
    for entry in tiny.files:
        flip_middle_byte(fake_s3, f"p/blobs/sha256/{entry.sha256}")
    monkeypatch.setattr(operations, "open_store", lambda settings: store)

    with pytest.raises(ModelError, match=r"^4 file\(s\) in s3://b/p do not hold the bytes their manifest records: .*verify_remote: true") as pulled:
        operations.pull([], operations.Places(cache=str(tmp_path / "node"), s3=store.settings))
    corrupted = by_model_and_path(pulled.value.details["corrupted"])
    expected = [(name, path) for name in ("acme/tiny", "acme/twin") for path in ("config.json", "weights.bin")]
    assert [(item["name"], item["path"]) for item in corrupted] == expected
    assert not os.path.exists(os.path.join(hf_cache.repo_folder(str(tmp_path / "node"), "acme/tiny"), "snapshots"))

    fake_s3.calls.clear()
    with pytest.raises(ModelError, match="state: pushed and verify_remote: true") as verified:
        operations.verify([], operations.Places(cache=None, s3=store.settings))
    assert by_model_and_path(verified.value.details["corrupted"]) == corrupted, "the same files, described the same way"
    assert sorted(call[1] for call in fake_s3.calls if call[0] == "download_fileobj") == sorted(f"p/blobs/sha256/{e.sha256}" for e in tiny.files), \
        "an object two models share is read once"

    del fake_s3.objects[f"p/blobs/sha256/{tiny.files[0].sha256}"]
    with pytest.raises(ModelError) as missing:
        operations.verify([sources.HubSource("acme/tiny")], operations.Places(cache=None, s3=store.settings))
    assert [item["found"] for item in by_model_and_path(missing.value.details["corrupted"])][0] == "nothing (the object is missing)"


def test_a_store_manifest_that_no_longer_lists_what_was_locked_is_refused(monkeypatch, fake_s3, store_for, tmp_path):
    store = store_for()
    cache, record = staged_model(tmp_path)
    push(store, cache, record)
    lock = tmp_path / "airlock.lock.json"
    entry = {"kind": "hf", "name": "acme/tiny", "commit": COMMIT, "files": [{"path": e.path, "sha256": e.sha256} for e in record.files]}
    entry["files"][0]["sha256"] = "0" * 64
    lock.write_text(json.dumps({"models": [entry]}))
    monkeypatch.setattr(operations, "open_store", lambda settings: store)
    with pytest.raises(ModelError, match=r"config.json is corrupted .* according to .*airlock.lock.json; push the model again to s3://b/p"):
        operations.verify([], operations.Places(cache=None, s3=store.settings, lock_file=str(lock)))


def test_a_push_counts_every_object_in_its_progress_once_it_is_in_place(fake_s3, store_for, tmp_path):
    store = store_for()
    cache, record = staged_model(tmp_path)
    objects = transfer.distinct_objects(store, record)
    places = operations.Places(cache=cache)
    for _run in ("moved", "found in place"):
        counter = Progress(None)
        counter.expect(sum(entry.size for entry in objects.values()), len(objects))
        transfer.push(store, record, lambda entry: operations.local_file(places, record, entry), progress=counter)
        assert (counter.done_bytes, counter.done_files) == (counter.total_bytes, counter.total_files) == (record.size, len(objects))
