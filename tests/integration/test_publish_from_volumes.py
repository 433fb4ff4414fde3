"""Publishing straight from a bundle's volumes (`volumes:DIR:BUNDLE`): images reach the registry with their
digests, nothing is unpacked, and a volume changed after its verification is caught as it is read."""

import json
import os
import shutil
import subprocess
import uuid

import pytest

import s3_bucket
from module_runner import run_module

from ansible_collections.airlock.airgap.plugins.module_utils.integrity.bundle_files import BundleFiles


@pytest.fixture(scope="module")
def packed(image_set, tmp_path_factory):
    """The tiny image set as a sealed bundle, packed zstd into small volumes so members straddle volumes."""
    work = tmp_path_factory.mktemp("from-volumes")
    root = work / "bundle"
    root.mkdir()
    shutil.copytree(image_set["path"], root / "images", symlinks=True)
    (root / "airlock.lock.json").write_text(json.dumps({"version": 1, "images": []}))
    (root / "models").mkdir()
    (root / "models" / "weights.bin").write_bytes(os.urandom(400_000))
    (root / "models" / "current").symlink_to("weights.bin")
    model = work / "tiny-model"
    model.mkdir()
    (model / "config.json").write_text(json.dumps({"architectures": ["Tiny"]}))
    (model / "model.safetensors").write_bytes(os.urandom(6 * 1024 * 1024))  # above the multipart threshold the tests set
    staged = run_module("model_cache", {"state": "staged", "path": str(root / "models"), "models": [{"path": str(model), "repo_id": MODEL}]})
    assert not staged.get("failed"), staged.get("msg")
    assert not run_module("checksum", {"path": str(root), "state": "present"}).get("failed")
    volumes = {}
    for compression in ("zstd", "none"):  # zstd members are decompressed as read, plain ones read in place
        volumes[compression] = work / f"usb-{compression}"
        packed_result = run_module("bundle", {"path": str(root), "volumes_dir": str(volumes[compression]), "name": "rel", "state": "packed",
                                              "volume_size": 1024 * 1024, "compression": compression})
        assert not packed_result.get("failed"), packed_result.get("msg")
        assert len(packed_result["volumes"]) > 3
    return {"root": root, "volumes": volumes["zstd"], "plain_volumes": volumes["none"], "model": model,
            "index": json.loads((root / "images" / "index.json").read_text())}


MODEL = "acme/tiny-from-volumes"


def push(testbed, source, prefix):
    return run_module("image_copy", {"images": [source], "destination": f"docker://{testbed.public_registry}/{prefix}",
                                     "registries": [{"host": testbed.public_registry, "insecure": True}]})


def copy_of(packed, tmp_path):
    """A copy of the volumes to damage."""
    copied = tmp_path / "usb"
    shutil.copytree(packed["volumes"], copied)
    return copied


def flip_byte_of(volumes, relative):
    """Change one byte of a file inside the volumes, where it lies (which volume, which offset)."""
    files = BundleFiles(str(volumes), "rel")
    position = files.members[relative].offset_data + 100
    for path in files.paths:
        size = os.path.getsize(path)
        if position < size:
            with open(path, "r+b") as handle:
                handle.seek(position)
                byte = handle.read(1)
                handle.seek(position)
                handle.write(bytes([byte[0] ^ 0xFF]))
            return
        position -= size


def test_images_go_from_the_volumes_to_the_registry_with_their_digests_then_nothing_changes(testbed, packed, tmp_path):
    before = sorted(os.listdir(packed["volumes"]))
    prefix = f"fromvolumes-{uuid.uuid4().hex[:8]}"
    first = push(testbed, f"volumes:{packed['volumes']}:rel", prefix)
    assert not first.get("failed"), first.get("msg")
    expected = {f"volumes:{packed['volumes']}:rel:" + d["annotations"]["org.opencontainers.image.ref.name"]: d["digest"]
                for d in packed["index"]["manifests"]}
    assert {i["source"]: i["digest"] for i in first["images"]} == expected
    assert first["changed"] and first["bytes_copied"] > 0
    for image in first["images"][:2]:
        listed = subprocess.run(["skopeo", "inspect", "--raw", "--tls-verify=false", f"docker://{image['destination']}"],
                                capture_output=True, check=True)
        assert listed.stdout  # the registry serves what was pushed
    again = push(testbed, f"volumes:{packed['volumes']}:rel", prefix)
    assert again["changed"] is False
    assert sorted(os.listdir(packed["volumes"])) == before  # nothing unpacked, nothing written beside the volumes


def test_one_image_by_name_from_the_volumes(testbed, packed):
    name = packed["index"]["manifests"][0]["annotations"]["org.opencontainers.image.ref.name"]
    result = push(testbed, f"volumes:{packed['volumes']}:rel:{name}", f"fromvolumes-{uuid.uuid4().hex[:8]}")
    assert not result.get("failed"), result.get("msg")
    assert [i["source"] for i in result["images"]] == [f"volumes:{packed['volumes']}:rel:{name}"]


def test_a_layer_changed_after_verification_fails_naming_the_blob(testbed, packed, tmp_path):
    volumes = copy_of(packed, tmp_path)
    files = BundleFiles(str(volumes), "rel")
    layer = max((m for m in files.members if m.startswith("images/blobs/")), key=files.size)
    flip_byte_of(volumes, layer)
    result = push(testbed, f"volumes:{volumes}:rel", f"fromvolumes-{uuid.uuid4().hex[:8]}")
    assert result.get("failed")
    assert layer.rsplit("/", 1)[1] in result["msg"]


def test_an_index_changed_after_verification_is_refused_by_the_sums(testbed, packed, tmp_path):
    volumes = copy_of(packed, tmp_path)
    flip_byte_of(volumes, "images/index.json")
    result = push(testbed, f"volumes:{volumes}:rel", f"fromvolumes-{uuid.uuid4().hex[:8]}")
    assert result.get("failed")
    assert "images/index.json" in result["msg"] and "SHA256SUMS" in result["msg"]


def test_volumes_are_a_source_only_and_a_missing_bundle_is_named(testbed, packed, tmp_path):
    into = run_module("image_copy", {"images": [f"docker://{testbed.public_registry}/bench/none:v1"],
                                     "destination": f"volumes:{packed['volumes']}:rel"})
    assert into.get("failed") and "source only" in into["msg"]
    missing = push(testbed, f"volumes:{tmp_path}:nothing", "fromvolumes-missing")
    assert missing.get("failed") and f"{tmp_path}/nothing.index.json does not exist" in missing["msg"]


def unpack_but_images(volumes, target):
    return run_module("bundle", {"path": str(target), "volumes_dir": str(volumes), "name": "rel", "state": "unpacked",
                                 "keep_in_volumes": ["images"]})


def test_all_but_the_images_is_unpacked_verified_and_a_second_run_changes_nothing(packed, tmp_path):
    target = tmp_path / "enclave"
    first = unpack_but_images(packed["volumes"], target)
    assert not first.get("failed"), first.get("msg")
    assert sorted(os.listdir(target)) == ["SHA256SUMS", "airlock.lock.json", "models"]
    assert (target / "models" / "weights.bin").read_bytes() == (packed["root"] / "models" / "weights.bin").read_bytes()
    assert os.readlink(target / "models" / "current") == "weights.bin"
    files = [os.path.join(folder, name) for folder, _dirs, names in os.walk(target) for name in names
             if not os.path.islink(os.path.join(folder, name))]
    links = [os.path.join(folder, name) for folder, dirs, names in os.walk(target) for name in dirs + names
             if os.path.islink(os.path.join(folder, name))]
    assert first["changed"] and first["bytes_written"] == sum(os.path.getsize(path) for path in files)
    assert first["verification"]["ok"] and first["verification"]["checked"] == len(files)
    assert first["verification"]["kept_in_volumes"] == ["images"]
    again = unpack_but_images(packed["volumes"], target)
    assert again["changed"] is False and again["unchanged"] == len(files) + len(links) and again["verification"]["checked"] == len(files)


def test_a_folder_file_changed_in_the_volumes_never_takes_its_name(packed, tmp_path):
    volumes, target = copy_of(packed, tmp_path), tmp_path / "enclave"
    flip_byte_of(volumes, "models/weights.bin")
    # The volume no longer matches its digest: the volumes are refused before anything is read.
    refused = unpack_but_images(volumes, target)
    assert refused.get("failed") and "does not match its sha256" in refused["msg"]
    files = BundleFiles(str(volumes), "rel")
    with pytest.raises(ValueError, match="SHA256SUMS"):
        files.extract(str(target), keep={"images"})
    assert not (target / "models" / "weights.bin").exists()


@pytest.mark.parametrize("which", ["volumes", "plain_volumes"])
def test_a_model_goes_from_the_volumes_to_s3_whole_then_nothing_changes(testbed, packed, tmp_path, which):
    client = s3_bucket.client_for(testbed)
    with s3_bucket.temporary_bucket(client, "fromvolumes") as bucket:
        s3 = dict(s3_bucket.settings_for(testbed, bucket), multipart_threshold=5 * 1024 * 1024, multipart_chunksize=5 * 1024 * 1024)
        arguments = {"state": "pushed", "volumes": f"{packed[which]}:rel", "models": [f"hf://{MODEL}"], "s3": s3}
        first = run_module("model_cache", arguments)
        assert not first.get("failed"), first.get("msg")
        assert first["changed"] and first["bytes_moved"] == sum(p.stat().st_size for p in packed["model"].iterdir())
        assert run_module("model_cache", arguments)["changed"] is False
        pulled = run_module("model_cache", {"state": "pulled", "path": str(tmp_path / "cache"), "models": [f"hf://{MODEL}"], "s3": s3})
        assert not pulled.get("failed"), pulled.get("msg")
        snapshot = next((tmp_path / "cache").glob("models--acme--tiny-from-volumes/snapshots/*"))
        assert (snapshot / "model.safetensors").read_bytes() == (packed["model"] / "model.safetensors").read_bytes()
