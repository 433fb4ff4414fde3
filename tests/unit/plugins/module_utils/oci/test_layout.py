"""The OCI layout: verified atomic blob writes and an index.json that never loses entries."""

import json
import threading

import pytest

from ansible_collections.airlock.airgap.plugins.module_utils.integrity import digest
from ansible_collections.airlock.airgap.plugins.module_utils.oci import layout as layouts
from ansible_collections.airlock.airgap.plugins.module_utils.oci.errors import NotFound
from ansible_collections.airlock.airgap.plugins.module_utils.oci.manifest import Manifest

MANIFEST_RAW = json.dumps({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
                           "config": {}, "layers": []}).encode()


def manifest(raw=MANIFEST_RAW):
    return Manifest(raw, "application/vnd.oci.image.manifest.v1+json", digest.of_bytes(raw))


def test_create_writes_layout_marker_and_empty_index(tmp_path):
    layout = layouts.Layout(str(tmp_path / "l"), create=True)
    assert json.loads((tmp_path / "l" / "oci-layout").read_text()) == {"imageLayoutVersion": "1.0.0"}
    assert layout.index()["manifests"] == []


def test_opening_a_folder_that_is_no_layout_is_an_error(tmp_path):
    with pytest.raises(NotFound, match="not an OCI image layout"):
        layouts.Layout(str(tmp_path))


def test_blob_written_under_its_digest_and_verified(tmp_path):
    layout = layouts.Layout(str(tmp_path), create=True)
    data = b"x" * 100000
    name = digest.of_bytes(data)
    assert layout.write_blob(name, [data[:5000], data[5000:]], len(data)) == len(data)
    assert layout.blob_size(name) == len(data)
    assert b"".join(layout.blob_chunks(name)) == data


def test_wrong_bytes_leave_no_blob_and_no_temporary(tmp_path):
    layout = layouts.Layout(str(tmp_path), create=True)
    name = digest.of_bytes(b"right")
    with pytest.raises(digest.DigestMismatch):
        layout.write_blob(name, [b"wrong"], 5)
    assert layout.blob_size(name) is None
    assert list((tmp_path / "blobs" / "sha256").iterdir()) == []


def test_interrupted_stream_leaves_no_partial_blob(tmp_path):
    layout = layouts.Layout(str(tmp_path), create=True)

    def dying():
        yield b"half"
        raise ConnectionError("cut")

    with pytest.raises(ConnectionError):
        layout.write_blob(digest.of_bytes(b"halfandmore"), dying(), 11)
    assert list((tmp_path / "blobs" / "sha256").iterdir()) == []


def test_tag_replaces_an_entry_of_the_same_name(tmp_path):
    layout = layouts.Layout(str(tmp_path), create=True)
    first, second = manifest(), manifest(MANIFEST_RAW + b" ")
    for item in (first, second):
        layout.write_manifest(item)
    layout.tag(first, "docker.io/library/a:1", {layouts.SOURCE_ANNOTATION: "docker.io/library/a:1"})
    layout.tag(second, "docker.io/library/a:1")
    assert [d["digest"] for d in layout.index()["manifests"]] == [second.digest]
    assert layout.find("docker.io/library/a:1")["digest"] == second.digest
    assert layout.read_manifest(second.digest).raw == second.raw


def test_concurrent_tags_lose_no_entry(tmp_path):
    layout = layouts.Layout(str(tmp_path), create=True)
    item = manifest()
    layout.write_manifest(item)

    def tag_many(offset):
        for number in range(25):
            layouts.Layout(str(tmp_path)).tag(item, f"img{offset + number}")

    threads = [threading.Thread(target=tag_many, args=(n * 100,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(layout.ref_names()) == 100


def test_a_tampered_manifest_is_refused(tmp_path):
    layout = layouts.Layout(str(tmp_path), create=True)
    item = manifest()
    layout.write_manifest(item)
    (tmp_path / "blobs" / "sha256" / item.digest.split(":")[1]).write_bytes(MANIFEST_RAW.replace(b"2", b"3"))
    with pytest.raises(digest.DigestMismatch):
        layout.read_manifest(item.digest)


def test_a_check_mode_destination_that_does_not_exist_reads_empty_and_writes_nothing(tmp_path):
    layout = layouts.Layout(str(tmp_path / "new"), create=True, check_mode=True)
    assert layout.index()["manifests"] == [] and layout.find("docker.io/library/a:1") is None
    assert layout.blob_size(digest.of_bytes(b"anything")) is None
    assert list(tmp_path.iterdir()) == []


def test_a_check_mode_destination_that_exists_reads_as_it_stands(tmp_path):
    item = manifest()
    written = layouts.Layout(str(tmp_path), create=True)
    written.write_manifest(item)
    written.tag(item, "docker.io/library/a:1")
    assert layouts.Layout(str(tmp_path), create=True, check_mode=True).find("docker.io/library/a:1")["digest"] == item.digest
