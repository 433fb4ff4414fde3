"""image_preload's pieces that need no runtime: names, chain IDs, the import streams, sparse exports, node records."""

import hashlib
import io
import json
import os
import socket
import tarfile
import threading

import pytest

from ansible_collections.airlock.airgap.plugins.module_utils.integrity import digest
from ansible_collections.airlock.airgap.plugins.module_utils.oci import platforms, reference
from ansible_collections.airlock.airgap.plugins.module_utils.oci.errors import OciError, PlatformMissing
from ansible_collections.airlock.airgap.plugins.module_utils.oci.layout import Layout
from ansible_collections.airlock.airgap.plugins.module_utils.oci.manifest import Manifest
from ansible_collections.airlock.airgap.plugins.module_utils.report.progress import Progress
from ansible_collections.airlock.airgap.plugins.module_utils.runtime import detect, export, feed, images, inventory, machine as machines, receive, waves
from ansible_collections.airlock.airgap.plugins.module_utils.runtime.containerd import RuntimeFailure, staging_name

AMD64 = platforms.Platform("linux", "amd64")
ARM64 = platforms.Platform("linux", "arm64", "v8")
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_INDEX = "application/vnd.oci.image.index.v1+json"


def put(layout, data):
    name = digest.of_bytes(data)
    layout.write_blob(name, [data], len(data))
    return {"digest": name, "size": len(data)}


def put_manifest(layout, document, media_type):
    raw = json.dumps(document).encode()
    manifest = Manifest(raw, media_type, digest.of_bytes(raw))
    layout.write_manifest(manifest)
    return manifest


def platform_image(layout, arch, layers):
    """One platform's manifest over the given layer contents (uncompressed tars stand in; digests are what count)."""
    diff_ids = [digest.of_bytes(content) for content in layers]
    config = put(layout, json.dumps({"architecture": arch, "os": "linux", "rootfs": {"type": "layers", "diff_ids": diff_ids}}).encode())
    descriptors = [dict(put(layout, content), mediaType="application/vnd.oci.image.layer.v1.tar") for content in layers]
    return put_manifest(layout, {"schemaVersion": 2, "mediaType": OCI_MANIFEST, "config": dict(config, mediaType="application/vnd.oci.image.config.v1+json"),
                                 "layers": descriptors}, OCI_MANIFEST)


@pytest.fixture
def bundle(tmp_path):
    """A layout with a two-platform image sharing a base layer with a single-platform one."""
    layout = Layout(str(tmp_path / "bundle"), create=True)
    base = b"base layer" * 1000
    amd = platform_image(layout, "amd64", [base, b"app amd64" * 500])
    arm = platform_image(layout, "arm64", [base + b"arm", b"app arm64" * 500])
    index = put_manifest(layout, {"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": [
        {"mediaType": OCI_MANIFEST, "digest": amd.digest, "size": len(amd.raw), "platform": {"os": "linux", "architecture": "amd64"}},
        {"mediaType": OCI_MANIFEST, "digest": arm.digest, "size": len(arm.raw),
         "platform": {"os": "linux", "architecture": "arm64", "variant": "v8"}}]}, OCI_INDEX)
    layout.tag(index, "docker.io/library/app:1")
    tool = platform_image(layout, "amd64", [base, b"tool" * 700])
    layout.tag(tool, "quay.io/org/tool:2")
    return {"path": layout.root, "layout": layout, "index": index, "amd": amd, "arm": arm, "tool": tool}


def test_names_cover_original_and_mirror_by_tag_and_digest():
    ref = reference.parse("redis:7")
    names = images.node_names(ref, "sha256:" + "a" * 64, "registry.enclave:5000/mirror")
    assert names == ["docker.io/library/redis:7", "docker.io/library/redis@sha256:" + "a" * 64,
                     "registry.enclave:5000/mirror/library/redis:7", "registry.enclave:5000/mirror/library/redis@sha256:" + "a" * 64]
    assert images.node_names(reference.parse("ghcr.io/o/a@sha256:" + "b" * 64), "sha256:" + "b" * 64) == ["ghcr.io/o/a@sha256:" + "b" * 64]


def test_chain_ids_follow_dockers_definition():
    first, second = "sha256:" + "1" * 64, "sha256:" + "2" * 64
    expected = "sha256:" + hashlib.sha256(f"{first} {second}".encode()).hexdigest()
    assert images.chain_ids([first, second]) == [first, expected]
    assert images.chain_ids([]) == []


def test_resolve_takes_the_node_platform_and_refuses_what_the_source_lacks(bundle):
    (app,) = images.resolve(f"oci:{bundle['path']}", ["docker.io/library/app:1"], ARM64)
    assert app.digest == bundle["index"].digest and app.manifest.digest == bundle["arm"].digest
    with pytest.raises(PlatformMissing, match="linux/arm64/v8"):
        images.resolve(f"oci:{bundle['path']}", ["quay.io/org/tool:2"], ARM64)
    with pytest.raises(OciError, match="not in"):
        images.resolve(f"oci:{bundle['path']}", ["docker.io/library/other:1"], AMD64)
    with pytest.raises(OciError, match="not the sha256:" + "0" * 64):
        images.resolve(f"oci:{bundle['path']}", [{"name": "docker.io/library/app:1", "digest": "sha256:" + "0" * 64}], AMD64)
    assert len(images.resolve(f"oci:{bundle['path']}", [], AMD64)) == 2


def test_a_platform_the_image_lacks_is_named_with_a_way_out_that_preload_accepts(bundle):
    s390x = platforms.parse("linux/s390x")
    with pytest.raises(PlatformMissing) as refused:
        images.resolve(f"oci:{bundle['path']}", ["docker.io/library/app:1"], s390x)
    message = str(refused.value)
    assert "has no linux/s390x image" in message and "linux/amd64" in message and "image_copy platforms" in message
    assert "or 'all'" not in message, "preload refuses platform: all; it must not be suggested"


def members(stream):
    archive = tarfile.open(fileobj=io.BytesIO(b"".join(stream)), mode="r:")
    return {member.name: archive.extractfile(member).read() for member in archive.getmembers()}


def test_oci_stream_holds_each_missing_blob_once_and_names_images_for_staging(bundle, tmp_path):
    wanted = images.resolve(f"oci:{bundle['path']}", [], AMD64)
    app = next(i for i in wanted if i.digest == bundle["index"].digest)
    held = {app.layers[0]["digest"]}  # the shared base layer is on the node already
    progress_file = tmp_path / "progress.json"
    counter = feed.Feed(Progress(str(progress_file), interval=0))
    stream, sent = feed.oci_archive(wanted, held, feed.staging_annotations(staging_name), counter), []
    while not progress_file.exists():
        sent.append(next(stream))
    first = json.loads(progress_file.read_text(encoding="utf-8"))
    files = members(sent + list(stream))
    blobs = {name.split("/")[-1] for name in files if name.startswith("blobs/")}
    assert app.layers[0]["digest"].split(":")[1] not in blobs
    assert bundle["arm"].digest.split(":")[1] not in blobs, "another platform's manifest never travels"
    assert {bundle["index"].digest.split(":")[1], bundle["amd"].digest.split(":")[1], bundle["tool"].digest.split(":")[1]} <= blobs
    index = json.loads(files["index.json"])
    entries = {e["digest"]: e["annotations"] for e in index["manifests"]}
    assert entries[app.digest]["io.containerd.image.name"] == staging_name(app.digest)
    assert counter.blobs == len(blobs) and counter.bytes == sum(len(d) for n, d in files.items() if n.startswith("blobs/"))
    assert first["bytes_done"] < first["bytes_total"] == counter.bytes, "the stream announces its blobs before it sends the first"
    last = json.loads(progress_file.read_text(encoding="utf-8"))
    assert (last["bytes_done"], last["files_done"]) == (last["bytes_total"], last["files_total"]) == (counter.bytes, counter.blobs)
    for name, data in files.items():
        if name.startswith("blobs/"):
            assert digest.of_bytes(data).split(":")[1] == name.split("/")[-1]


def test_a_corrupt_blob_stops_the_stream_before_it_ends(bundle):
    wanted = images.resolve(f"oci:{bundle['path']}", ["quay.io/org/tool:2"], AMD64)
    path = bundle["layout"].blob_path(wanted[0].layers[1]["digest"])
    with open(path, "r+b") as handle:
        handle.write(b"X")
    with pytest.raises(digest.DigestMismatch, match=wanted[0].layers[1]["digest"]):
        for _chunk in feed.oci_archive(wanted, set(), feed.staging_annotations(staging_name), feed.Feed()):
            pass


def test_docker_stream_leaves_out_layers_whose_chain_docker_holds(bundle):
    (tool,) = images.resolve(f"oci:{bundle['path']}", ["quay.io/org/tool:2"], AMD64, mirror="registry.enclave:5000")
    held = {images.chain_ids(tool.diff_ids)[0]}
    files = members(feed.docker_archive([tool], held, feed.Feed()))
    (entry,) = json.loads(files["manifest.json"])
    assert entry["RepoTags"] == ["quay.io/org/tool:2", "registry.enclave:5000/org/tool:2"]
    assert entry["Layers"][0] not in files and entry["Layers"][1] in files and entry["Config"] in files


def test_export_writes_only_what_the_node_record_lacks(bundle, tmp_path):
    wanted = images.resolve(f"oci:{bundle['path']}", [], AMD64)
    app = next(i for i in wanted if i.digest == bundle["index"].digest)
    tool = next(i for i in wanted if i is not app)
    record = inventory.recorded({"kind": "containerd", "socket": "/run/x.sock",
                                 "targets": {n: app.digest for n in app.names},
                                 "blobs": [app.root.digest, app.manifest.digest, app.config_digest, *(d["digest"] for d in app.layers)],
                                 "snapshots": [images.chain_ids(app.diff_ids)[-1]]})
    report = export.export(wanted, record, AMD64, str(tmp_path / "sparse"))
    assert report["needed"] == 1 and {i["name"]: i["action"] for i in report["images"]} == {
        "docker.io/library/app:1": "unchanged", "quay.io/org/tool:2": "imported"}
    sparse = Layout(str(tmp_path / "sparse"))
    assert sparse.ref_names() == ["quay.io/org/tool:2"]
    assert sparse.blob_size(tool.layers[0]["digest"]) is None, "the base layer the node holds is not shipped"
    assert sparse.blob_size(tool.layers[1]["digest"]) == tool.layers[1]["size"]
    (again,) = images.resolve(f"oci:{sparse.root}", [], AMD64)
    assert again.digest == tool.digest, "the sparse layout reads back as the same image"
    sparse.tag(app.root, "docker.io/library/planted:1")  # left by an interrupted run, or planted by another user
    again_report = export.export(wanted, record, AMD64, str(tmp_path / "sparse"))
    assert again_report["changed"] and Layout(str(tmp_path / "sparse")).ref_names() == ["quay.io/org/tool:2"]
    assert not [p for p in os.listdir(tmp_path) if p.startswith(".export-")], "no half-built export is left"
    (tmp_path / "not-an-export").mkdir()
    with pytest.raises(export.ExportError, match="not an earlier export"):
        export.export(wanted, record, AMD64, str(tmp_path / "not-an-export"))
    nothing_needed = inventory.recorded(dict(record.data, targets=dict(record.data["targets"], **{n: tool.digest for n in tool.names}),
                                             blobs=record.data["blobs"] + [tool.root.digest, tool.config_digest] + [d["digest"] for d in tool.layers],
                                             snapshots=record.data["snapshots"] + [images.chain_ids(tool.diff_ids)[-1]]))
    assert export.export(wanted, nothing_needed, AMD64, str(tmp_path / "unused")) == dict(
        export.export(wanted, nothing_needed, AMD64, str(tmp_path / "unused")), changed=False, needed=0, bytes_written=0)
    assert not (tmp_path / "unused").exists()


def test_records_answer_as_the_runtimes_do():
    docker_record = inventory.recorded({"kind": "docker", "socket": "/var/run/docker.sock", "tags": {"docker.io/library/redis:7": "sha256:c"},
                                        "ids": ["sha256:c"], "chains": ["sha256:d"]})
    assert docker_record.image_id("redis:7") == "sha256:c" and docker_record.image_id("sha256:c") == "sha256:c"
    assert docker_record.image_id("redis:8") is None and docker_record.chains() == {"sha256:d"}
    with pytest.raises(RuntimeFailure, match="state=inventory"):
        inventory.recorded({"nothing": True})


@pytest.mark.parametrize("machine,expected", [("x86_64", "linux/amd64"), ("aarch64", "linux/arm64/v8"), ("armv7l", "linux/arm/v7")])
def test_node_platform_from_the_machine(machine, expected):
    assert str(machines.node_platform(machine)) == expected


def test_unknown_machine_asks_for_the_platform():
    with pytest.raises(RuntimeFailure, match="set platform"):
        machines.node_platform("pdp11")


def test_a_docker_socket_is_told_from_a_containerd_one_by_its_http(tmp_path):
    path = str(tmp_path / "d.sock")
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    server.bind(path)
    server.listen(1)

    def answer():
        connection, _address = server.accept()
        connection.recv(100)
        connection.sendall(b"HTTP/1.0 200 OK\r\n\r\nOK")
        connection.close()

    thread = threading.Thread(target=answer)
    thread.start()
    try:
        assert detect._detect(path, "k8s.io", None) == ("docker", path)  # pylint: disable=protected-access
    finally:
        thread.join(5)
        server.close()
    os.unlink(path)
    with pytest.raises(RuntimeFailure, match="does not exist"):
        detect.runtime("containerd", path, ctr_path="/bin/true")


def test_docker_with_the_containerd_image_store_is_recognised():
    from ansible_collections.airlock.airgap.plugins.module_utils.runtime.docker import uses_containerd_image_store  # pylint: disable=import-outside-toplevel
    assert uses_containerd_image_store({"DriverStatus": [["driver-type", "io.containerd.snapshotter.v1"]]})
    assert not uses_containerd_image_store({"DriverStatus": [["Backing Filesystem", "extfs"], ["Supports d_type", "true"]]})
    assert not uses_containerd_image_store({})


def test_staging_names_are_per_process_and_stale_once_it_is_gone():
    from ansible_collections.airlock.airgap.plugins.module_utils.runtime.containerd import is_stale_staging  # pylint: disable=import-outside-toplevel
    mine = staging_name("sha256:" + "a" * 64)
    assert f"/run-{os.getpid()}:" in mine and not is_stale_staging(mine)
    gone = next(pid for pid in range(4_000_000, 4_100_000) if not os.path.exists(f"/proc/{pid}"))
    assert is_stale_staging(mine.replace(f"run-{os.getpid()}", f"run-{gone}"))
    assert not is_stale_staging("docker.io/library/redis:7")


def test_an_export_archive_ships_only_what_the_node_lacks_and_unpacks_verified(bundle, tmp_path):
    wanted = images.resolve(f"oci:{bundle['path']}", [], AMD64)
    tool = next(i for i in wanted if i.digest == bundle["tool"].digest)
    record = inventory.recorded({"kind": "containerd", "socket": "/run/x.sock", "targets": {}, "blobs": [tool.layers[0]["digest"]],
                                 "snapshots": []})
    archive = tmp_path / "node.tar"
    report = export.export(wanted, record, AMD64, str(archive), archive=True)
    assert report["needed"] == 2 and report["bytes_written"] > 0 and archive.is_file()
    assert not [p for p in os.listdir(tmp_path) if p.startswith(".export-")], "no half-written archive is left"
    shipped = members([archive.read_bytes()])
    assert tool.layers[0]["digest"].replace(":", "/") not in " ".join(shipped), "the layer the node holds is not shipped"

    received = receive.receive(str(archive), str(tmp_path / "on-node"))
    assert received["changed"] and received["blobs"] == len([n for n in shipped if n.startswith("blobs/")])
    assert sorted(Layout(received["path"]).ref_names()) == ["docker.io/library/app:1", "quay.io/org/tool:2"]
    again = images.resolve(f"oci:{received['path']}", ["quay.io/org/tool:2"], AMD64)
    assert again[0].digest == tool.digest and again[0].config_bytes == tool.config_bytes


def tar_of(path, entries):
    with tarfile.open(path, "w") as tar:
        for name, data in entries:
            info = tarfile.TarInfo(name)
            if data is None:
                info.type, info.linkname = tarfile.SYMTYPE, "/etc/passwd"
                tar.addfile(info)
            else:
                info.size = len(data)
                tar.addfile(info, io.BytesIO(data))


@pytest.mark.parametrize("entries,refused", [
    ([("blobs/sha256/" + "a" * 64, b"not what its name says")], digest.DigestMismatch),
    ([("../outside", b"x")], receive.ReceiveError),
    ([("blobs/sha256/" + "b" * 64, None)], receive.ReceiveError),
    ([("oci-layout", b"{}")], receive.ReceiveError),  # no index.json: nothing to name
    ([("index.json", b'{"manifests": [{"digest": "sha256:../../x"}]}')], receive.ReceiveError),
])
def test_a_hostile_archive_is_refused_and_leaves_nothing(tmp_path, entries, refused):
    archive = tmp_path / "hostile.tar"
    tar_of(archive, entries)
    with pytest.raises(refused):
        receive.receive(str(archive), str(tmp_path / "on-node"))
    assert sorted(os.listdir(tmp_path)) == ["hostile.tar"], "no layout, no half-built one, nothing outside"


def test_receiving_in_check_mode_writes_nothing(tmp_path):
    assert receive.receive(str(tmp_path / "still-on-the-controller.tar"), str(tmp_path / "on-node"), check_mode=True)["changed"]
    assert not os.listdir(tmp_path)


def test_parallel_streams_share_blobs_once_and_unpack_bases_first(bundle):
    wanted = images.resolve(f"oci:{bundle['path']}", [], AMD64)
    app = next(i for i in wanted if i.digest == bundle["index"].digest)
    held = {app.layers[0]["digest"]}
    shares = waves.blob_shares(wanted, held, 2)
    missing = {d["digest"] for image in wanted for d in image.content} - held
    carried = [missing - have for have in shares]
    assert len(shares) == 2 and all(held <= have for have in shares)
    assert set().union(*carried) == missing and not carried[0] & carried[1], "every missing blob in exactly one stream"
    first_wave, second_wave = waves.unpack_waves(wanted, 2)  # app and tool share their base layer
    assert [[image.digest for image in group] for group in first_wave] == [[wanted[0].digest]], "the shared base is unpacked once, first"
    assert [[image.digest for image in group] for group in second_wave] == [[wanted[1].digest]]
    assert waves.bin_pack([5, 1, 4, 2], 2, lambda n: n) == [[5, 1], [4, 2]]
