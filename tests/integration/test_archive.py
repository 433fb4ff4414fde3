"""docker-archives: written from layouts and registries for the real dockerd and containerd, read back as a copy source."""

import contextlib
import gzip
import hashlib
import io
import json
import os
import re
import shutil
import subprocess
import tarfile
import uuid

import docker
import pytest

from corruption import corrupt_blob
from ansible_collections.airlock.airgap.plugins.module_utils.integrity import digest as digests
from ansible_collections.airlock.airgap.plugins.module_utils.oci import archive, copy, endpoints, image, layout as layouts, platforms, reference, registry
from ansible_collections.airlock.airgap.plugins.module_utils.oci import manifest as manifests
from ansible_collections.airlock.airgap.plugins.module_utils.oci.errors import NotFound, PlatformMissing

pytestmark = pytest.mark.testbed

AMD64 = platforms.parse("linux/amd64")
ARM64 = platforms.parse("linux/arm64")
OCI_LAYER_TAR = "application/vnd.oci.image.layer.v1.tar"


# --- helpers -----------------------------------------------------------------------------


def platform_image(layout, ref, platform):
    """(manifest digest, manifest, config) of ref for platform, read straight from the layout."""
    top = layout.read_manifest(layout.find(ref)["digest"])
    manifest = top
    if "manifests" in top.parsed():
        chosen = next(d for d in top.parsed()["manifests"] if platform.matches(platforms.of_descriptor(d)))
        manifest = layout.read_manifest(chosen["digest"])
    parsed = manifest.parsed()
    return manifest.digest, parsed, json.loads(b"".join(layout.blob_chunks(parsed["config"]["digest"])))


def sharing_pair(layout, refs):
    """Two images whose amd64 layers overlap: an index and a lone manifest when the set has both."""
    diff_ids = {ref: set(platform_image(layout, ref, AMD64)[2]["rootfs"]["diff_ids"]) for ref in refs}
    is_index = {ref: "manifests" in layout.read_manifest(layout.find(ref)["digest"]).parsed() for ref in refs}
    pairs = [(a, b) for a in refs for b in refs if a < b and diff_ids[a] & diff_ids[b]]
    return max(pairs, key=lambda pair: is_index[pair[0]] != is_index[pair[1]])


def members(path):
    with tarfile.open(path) as tar:
        return {member.name: member for member in tar}


def member_bytes(path, name):
    with tarfile.open(path) as tar:
        return tar.extractfile(name).read()


def write_tar(path, files, symlinks=None):
    """A tar of name -> bytes, plus name -> target symlinks."""
    with tarfile.open(path, "w") as tar:
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
        for name, target in (symlinks or {}).items():
            info = tarfile.TarInfo(name)
            info.type, info.linkname = tarfile.SYMTYPE, target
            tar.addfile(info)


def sha256(data):
    return "sha256:" + hashlib.sha256(data).hexdigest()


def blob_path(digest):
    return "blobs/sha256/" + digest.split(":")[1]


def copy_into_layout(source, root, name):
    """Copy with the engine, as image_copy does; returns (CopyResult, destination layout)."""
    destination = endpoints.LayoutEndpoint(layouts.Layout(root, create=True), name)
    copier = copy.Copier(concurrency=4)
    try:
        results, failures = copy.copy_many(copier, [(source, destination, None)])
    finally:
        copier.close()
    assert not failures, failures
    return results[0], destination.layout


def tiny_layout(root, layer_media_type, layer_blob, diff_id):
    """A one-image layout built by hand, for layers the image set does not have."""
    layout = layouts.Layout(root, create=True)
    config = json.dumps({"architecture": "amd64", "os": "linux", "rootfs": {"type": "layers", "diff_ids": [diff_id]}}).encode()
    for blob in (config, layer_blob):
        layout.write_blob(sha256(blob), [blob], len(blob))
    raw = json.dumps({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
                      "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": sha256(config), "size": len(config)},
                      "layers": [{"mediaType": layer_media_type, "digest": sha256(layer_blob), "size": len(layer_blob)}]}).encode()
    manifest = manifests.Manifest(raw, "application/vnd.oci.image.manifest.v1+json", sha256(raw))
    layout.write_manifest(manifest)
    layout.tag(manifest, "tiny/image:v1")
    return endpoints.LayoutEndpoint(layout, "tiny/image:v1")


def small_tar(text):
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        info = tarfile.TarInfo("hello.txt")
        info.size = len(text)
        tar.addfile(info, io.BytesIO(text))
    return buffer.getvalue()


# --- an archive of two images sharing layers, for the runtimes --------------------------


@pytest.fixture(name="shared_archive", scope="module")
def shared_archive_fixture(image_set, tmp_path_factory):
    layout = layouts.Layout(image_set["path"])
    refs = sharing_pair(layout, image_set["refs"])
    prefix = f"example.invalid/airlock-archive-{uuid.uuid4().hex[:8]}"
    images = {f"{prefix}/{ref}": platform_image(layout, ref, AMD64) for ref in refs}
    path = str(tmp_path_factory.mktemp("archive") / "two-images.tar")
    summary = archive.write_archive(path, [(endpoints.LayoutEndpoint(layout, ref), [f"{prefix}/{ref}"]) for ref in refs],
                                    f"oci:{image_set['path']}", AMD64)
    return {"path": path, "summary": summary, "refs": refs, "images": images, "layout": layout}


def test_two_images_share_their_common_layers_once(shared_archive):
    images = shared_archive["images"].values()
    distinct = {d for _digest, _manifest, config in images for d in config["rootfs"]["diff_ids"]}
    referenced = sum(len(config["rootfs"]["diff_ids"]) for _digest, _manifest, config in images)
    found = members(shared_archive["path"])
    layer_members = [name for name in found if name.endswith("/layer.tar")]
    assert len(distinct) < referenced, "the chosen images share layers"
    assert sorted(layer_members) == sorted(d.split(":")[1] + "/layer.tar" for d in distinct)
    assert shared_archive["summary"]["layers"] == len(distinct)
    assert shared_archive["summary"]["layers_shared"] == referenced - len(distinct)
    assert shared_archive["summary"]["bytes"] == os.path.getsize(shared_archive["path"])
    for name in layer_members:  # stored uncompressed, each the diff its directory names
        assert sha256(member_bytes(shared_archive["path"], name)) == "sha256:" + name.split("/")[0]
    per_image = sum(layer["size"] for _digest, manifest, _config in images for layer in manifest["layers"])
    unique = sum({layer["digest"]: layer["size"] for _digest, manifest, _config in images for layer in manifest["layers"]}.values())
    print(f"\narchive {os.path.getsize(shared_archive['path'])} bytes; compressed layers: {unique} unique, {per_image} summed per image")


def test_dockerd_loads_both_images_with_their_config_digests_as_ids(testbed, shared_archive):
    client = docker.DockerClient(base_url=testbed.docker_host, timeout=120)
    try:
        with open(shared_archive["path"], "rb") as handle:
            client.images.load(handle)
        for tag, (_digest, manifest, _config) in shared_archive["images"].items():
            assert client.images.get(tag).id == manifest["config"]["digest"]
    finally:
        for tag in shared_archive["images"]:
            with contextlib.suppress(docker.errors.ImageNotFound):
                client.images.remove(tag)
        client.close()


def test_containerd_imports_both_images(testbed, shared_archive):
    ctr = [testbed.ctr, "--address", testbed.containerd_socket, "--namespace", "k8s.io"]
    subprocess.run([*ctr, "images", "import", shared_archive["path"]], check=True, capture_output=True)
    try:
        listed = subprocess.run([*ctr, "images", "list", "-q"], check=True, capture_output=True, text=True).stdout.split()
        assert set(shared_archive["images"]) <= set(listed)
    finally:
        subprocess.run([*ctr, "images", "remove", *shared_archive["images"]], check=False, capture_output=True)


def test_the_same_images_make_the_same_archive_from_a_registry(testbed, public_images, shared_archive, tmp_path):
    client = registry.RegistryClient(testbed.public_registry, insecure=True)
    by_ref = {image.split("/", 1)[1]: image for image in public_images}
    tags = {ref: tag for tag in shared_archive["images"] for ref in shared_archive["refs"] if tag.endswith("/" + ref)}
    images = [(endpoints.RegistryEndpoint(client, reference.parse(by_ref[ref])), [tags[ref]]) for ref in shared_archive["refs"]]
    archive.write_archive(str(tmp_path / "from-registry.tar"), images, testbed.public_registry, AMD64)
    assert digests.of_file(str(tmp_path / "from-registry.tar")) == digests.of_file(shared_archive["path"])


# --- platforms and failures -------------------------------------------------------------


def test_an_arm64_archive_holds_the_arm64_image(image_set, tmp_path):
    layout = layouts.Layout(image_set["path"])
    ref = next(r for r in image_set["refs"] if "manifests" in layout.read_manifest(layout.find(r)["digest"]).parsed())
    _digest, manifest, config = platform_image(layout, ref, ARM64)
    path = str(tmp_path / "arm64.tar")
    archive.write_archive(path, [(endpoints.LayoutEndpoint(layout, ref), [f"example.invalid/{ref}"])], "test", ARM64)
    entry, = json.loads(member_bytes(path, "manifest.json"))
    written = json.loads(member_bytes(path, entry["Config"]))
    assert written["architecture"] == "arm64" and written == config
    assert entry["Config"] == manifest["config"]["digest"].split(":")[1] + ".json"
    assert entry["RepoTags"] == [f"example.invalid/{ref}"]


def test_a_platform_the_image_lacks_names_what_it_has_and_writes_nothing(image_set, tmp_path):
    layout = layouts.Layout(image_set["path"])
    kinds = {"manifests" in layout.read_manifest(layout.find(r)["digest"]).parsed(): r for r in image_set["refs"]}
    target = tmp_path / "out"
    with pytest.raises(PlatformMissing) as missing:
        archive.write_archive(str(target / "s390x.tar"), [(endpoints.LayoutEndpoint(layout, kinds[True]), ["x/y:v1"])], "test",
                              platforms.parse("linux/s390x"))
    assert "linux/s390x" in str(missing.value) and "linux/amd64" in str(missing.value) and "linux/arm64/v8" in str(missing.value)
    with pytest.raises(PlatformMissing) as single:
        archive.write_archive(str(target / "arm64.tar"), [(endpoints.LayoutEndpoint(layout, kinds[False]), ["x/y:v1"])], "test", ARM64)
    assert "single-platform image for linux/amd64" in str(single.value)
    assert not target.exists() or not os.listdir(target)


def test_a_corrupted_layer_blob_fails_and_leaves_nothing_behind(image_set, tmp_path):
    corrupt = tmp_path / "corrupt"
    shutil.copytree(image_set["path"], corrupt)
    layout = layouts.Layout(str(corrupt))
    ref = image_set["refs"][0]
    layer = platform_image(layout, ref, AMD64)[1]["layers"][-1]["digest"]
    corrupt_blob(corrupt, layer)
    target = tmp_path / "out"
    target.mkdir()
    with pytest.raises(digests.DigestMismatch) as mismatch:
        archive.write_archive(str(target / "image.tar"), [(endpoints.LayoutEndpoint(layout, ref), ["x/y:v1"])], "test", AMD64)
    assert layer in str(mismatch.value) and "corrupted" in str(mismatch.value)
    assert os.listdir(target) == []


def test_a_layer_that_is_not_its_diff_id_fails_and_leaves_nothing_behind(tmp_path):
    tar = small_tar(b"hello\n")
    image = tiny_layout(str(tmp_path / "layout"), "application/vnd.oci.image.layer.v1.tar+gzip", gzip.compress(tar), sha256(tar + b"x"))
    with pytest.raises(digests.DigestMismatch) as mismatch:
        archive.write_archive(str(tmp_path / "out" / "image.tar"), [(image, ["x/y:v1"])], "test", AMD64)
    assert "diff_id" in str(mismatch.value) and sha256(tar) in str(mismatch.value)
    assert os.listdir(tmp_path / "out") == []


def test_a_zstd_layer_is_refused_by_name_before_anything_is_written(tmp_path):
    tar = small_tar(b"hello\n")
    image = tiny_layout(str(tmp_path / "layout"), "application/vnd.oci.image.layer.v1.tar+zstd", b"\x28\xb5\x2f\xfd not really zstd", sha256(tar))
    with pytest.raises(archive.ArchiveError) as refused:
        archive.write_archive(str(tmp_path / "out" / "image.tar"), [(image, ["x/y:v1"])], "test", AMD64)
    assert "zstd" in str(refused.value) and "tiny/image:v1" in str(refused.value)
    assert not (tmp_path / "out").exists()


# --- reading archives -------------------------------------------------------------------


def test_an_archive_copies_back_into_a_layout_with_the_original_config_and_diff_ids(shared_archive, tmp_path):
    tag, (_digest, _manifest, config) = next(iter(shared_archive["images"].items()))
    source = archive.ArchiveEndpoint(shared_archive["path"], tag)
    assert archive.ArchiveEndpoint(shared_archive["path"], tag).current_digest() == source.current_digest()  # derived the same each time
    result, layout = copy_into_layout(source, str(tmp_path / "copied"), tag)
    assert result.changed and result.digest == source.current_digest()
    copied = layout.read_manifest(layout.find(tag)["digest"]).parsed()
    assert copied["mediaType"] == "application/vnd.docker.distribution.manifest.v2+json"
    assert copied["config"]["digest"] == shared_archive["images"][tag][1]["config"]["digest"]
    assert json.loads(b"".join(layout.blob_chunks(copied["config"]["digest"]))) == config
    assert [layer["digest"] for layer in copied["layers"]] == config["rootfs"]["diff_ids"]
    again, _layout = copy_into_layout(archive.ArchiveEndpoint(shared_archive["path"], tag), str(tmp_path / "copied"), tag)
    assert again.changed is False
    assert isinstance(source, image.ImageSource) and not isinstance(source, image.ImageSink), "an archive is a copy source only"


def test_an_archive_of_several_images_needs_a_name_from_it(shared_archive):
    with pytest.raises(archive.ArchiveError) as unnamed:
        archive.ArchiveEndpoint(shared_archive["path"])
    with pytest.raises(NotFound) as unknown:
        archive.ArchiveEndpoint(shared_archive["path"], "example.invalid/other:v1")
    for error in (unnamed, unknown):
        assert all(tag in str(error.value) for tag in shared_archive["images"])


def docker_save(testbed, shared_archive, tag, saved):
    """Load the archive into the testbed's dockerd, `docker save` tag to saved, then remove what was loaded."""
    client = docker.DockerClient(base_url=testbed.docker_host, timeout=120)
    try:
        with open(shared_archive["path"], "rb") as handle:
            client.images.load(handle)
        with open(saved, "wb") as handle:
            for block in client.images.get(tag).save(named=tag):
                handle.write(block)
    finally:
        for name in shared_archive["images"]:
            with contextlib.suppress(docker.errors.ImageNotFound):
                client.images.remove(name)
        client.close()


def test_an_archive_written_by_dockerd_reads_back(testbed, shared_archive, tmp_path):
    tag, (_digest, manifest, config) = next(iter(shared_archive["images"].items()))
    saved = str(tmp_path / "saved-by-dockerd.tar")
    docker_save(testbed, shared_archive, tag, saved)
    assert any(name.endswith("/VERSION") for name in members(saved)), "dockerd 20.10 writes the classic form, v1 layer ids and all"
    source = archive.ArchiveEndpoint(saved, reference.parse(tag).familiar)
    _result, layout = copy_into_layout(source, str(tmp_path / "copied"), tag)
    copied = layout.read_manifest(layout.find(tag)["digest"]).parsed()
    assert copied["config"]["digest"] == manifest["config"]["digest"]
    assert [layer["digest"] for layer in copied["layers"]] == config["rootfs"]["diff_ids"]


def blob_layout_archive(classic, path, stored_manifest):
    """The Docker 25+ form of a classic archive: blobs/sha256/, legacy paths as symlinks, optionally an OCI index."""
    entry, = json.loads(member_bytes(classic, "manifest.json"))
    config = member_bytes(classic, entry["Config"])
    layers = {sha256(member_bytes(classic, name)): member_bytes(classic, name) for name in entry["Layers"]}
    files = {blob_path(sha256(config)): config, **{blob_path(d): data for d, data in layers.items()}}
    saved = dict(entry, Config=blob_path(sha256(config)))
    files["manifest.json"] = json.dumps([saved]).encode()
    links = {name: "../" + blob_path(sha256(member_bytes(classic, name))) for name in entry["Layers"]}
    manifest = {"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
                "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": sha256(config), "size": len(config)},
                "layers": [{"mediaType": OCI_LAYER_TAR, "digest": d, "size": len(data)} for d, data in layers.items()]}
    if stored_manifest == "without layers":  # as Docker 25.0.0 wrote it
        manifest["layers"] = []
    raw = json.dumps(manifest).encode()
    if stored_manifest != "none":
        files.update({"oci-layout": b'{"imageLayoutVersion":"1.0.0"}', blob_path(sha256(raw)): raw, "index.json": json.dumps({
            "schemaVersion": 2, "manifests": [{"mediaType": manifest["mediaType"], "digest": sha256(raw), "size": len(raw)}]}).encode()})
    write_tar(path, files, links)
    return sha256(raw)


@pytest.mark.parametrize("stored_manifest", ["none", "without layers", "whole"])
def test_the_docker_25_blob_layout_reads_like_the_classic_one(image_set, tmp_path, stored_manifest):
    layout = layouts.Layout(image_set["path"])
    ref = image_set["refs"][-1]
    _digest, _manifest, config = platform_image(layout, ref, AMD64)
    classic = str(tmp_path / "classic.tar")
    archive.write_archive(classic, [(endpoints.LayoutEndpoint(layout, ref), ["example.invalid/blobs:v1"])], "test", AMD64)
    stored = blob_layout_archive(classic, str(tmp_path / "blobs.tar"), stored_manifest)
    source = archive.ArchiveEndpoint(str(tmp_path / "blobs.tar"))
    expected = stored if stored_manifest == "whole" else archive.ArchiveEndpoint(classic).current_digest()
    assert source.current_digest() == expected
    _result, copied = copy_into_layout(source, str(tmp_path / "copied"), "example.invalid/blobs:v1")
    parsed = copied.read_manifest(copied.find("example.invalid/blobs:v1")["digest"]).parsed()
    assert [layer["digest"] for layer in parsed["layers"]] == config["rootfs"]["diff_ids"]


def test_a_containerd_store_save_keeps_the_original_manifest_digest(image_set, tmp_path):
    """Docker 25+ on the containerd store saves the pulled blobs as they are: gzip layers under their own digests."""
    layout = layouts.Layout(image_set["path"])
    ref = next(r for r in image_set["refs"] if "manifests" in layout.read_manifest(layout.find(r)["digest"]).parsed())
    top = layout.find(ref)
    digest, manifest, _config = platform_image(layout, ref, AMD64)
    blobs = [top["digest"], digest, manifest["config"]["digest"], *(layer["digest"] for layer in manifest["layers"])]
    name = f"docker.io/library/{ref.split('/')[-1]}"
    write_tar(str(tmp_path / "saved.tar"), {
        **{blob_path(d): b"".join(layout.blob_chunks(d)) for d in blobs},  # the index's arm64 entries stay out
        "manifest.json": json.dumps([{"Config": blob_path(manifest["config"]["digest"]), "RepoTags": [name],
                                      "Layers": [blob_path(layer["digest"]) for layer in manifest["layers"]]}]).encode(),
        "index.json": json.dumps({"schemaVersion": 2, "manifests": [dict(top, annotations={"io.containerd.image.name": name})]}).encode(),
        "oci-layout": b'{"imageLayoutVersion":"1.0.0"}'})
    source = archive.ArchiveEndpoint(str(tmp_path / "saved.tar"), ref.split("/")[-1])
    assert source.current_digest() == digest
    result, _copied = copy_into_layout(source, str(tmp_path / "copied"), ref)
    assert result.digest == digest


@pytest.mark.parametrize("bad", ["../escape", "/etc/escape", "link"])
def test_members_pointing_outside_the_archive_are_refused(tmp_path, bad):
    manifest = json.dumps([{"Config": "config.json", "RepoTags": ["x/y:v1"], "Layers": ["link"]}]).encode()
    files = {"manifest.json": manifest, "config.json": b'{"rootfs":{"diff_ids":["sha256:' + b"0" * 64 + b'"]}}'}
    if bad != "link":
        files[bad] = b"escaped"
    write_tar(str(tmp_path / "bad.tar"), files, {"link": "../../etc/passwd"} if bad == "link" else {"link": "config.json"})
    with pytest.raises(archive.ArchiveError, match="absolute or contains '..'; refusing") as refused:
        archive.ArchiveEndpoint(str(tmp_path / "bad.tar"))
    assert ("../../etc/passwd" if bad == "link" else bad) in str(refused.value)


def test_a_compressed_archive_is_refused_with_the_fix(tmp_path):
    (tmp_path / "image.tar.gz").write_bytes(gzip.compress(small_tar(b"x")))
    with pytest.raises(archive.ArchiveError, match="decompress"):
        archive.ArchiveEndpoint(str(tmp_path / "image.tar.gz"))


@pytest.mark.parametrize("where", ["", "."])
def test_an_archive_path_that_names_no_file_is_refused_with_the_form_it_takes(where, image_set, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    form = "the docker-archive transport needs a file path: docker-archive:/path/file.tar[:NAME]"
    with pytest.raises(archive.ArchiveError, match=re.escape(form)):
        archive.ArchiveEndpoint(where)
    ref = image_set["refs"][0]
    source = endpoints.LayoutEndpoint(layouts.Layout(image_set["path"]), ref)
    with pytest.raises(archive.ArchiveError, match=re.escape(form)):
        archive.write_archive(where, [(source, [ref])], ref, AMD64)
    assert not list(tmp_path.iterdir())
