"""bench/imageset.py writes valid, deterministic, realistically shared OCI image layouts that skopeo accepts."""

import gzip
import hashlib
import json
import shutil
import subprocess
import sys
import tarfile
from pathlib import Path
from typing import NamedTuple

import pytest

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "bench"))
import imageset  # noqa: E402  (bench/ is not a package)

SKOPEO = shutil.which("skopeo") or "/usr/bin/skopeo"


class TinySet(NamedTuple):
    layout: Path
    summary: dict


def generate_tiny(out_dir, seed=1, jobs=2):
    return imageset.generate(out_dir, **imageset.PRESETS["tiny"], seed=seed, jobs=jobs)


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    """One tiny set shared by the module's tests, which only read it."""
    out_dir = tmp_path_factory.mktemp("tiny")
    return TinySet(out_dir, generate_tiny(out_dir))


def blob(layout, digest):
    return (layout / "blobs" / "sha256" / digest.removeprefix("sha256:")).read_bytes()


def document(layout, digest):
    return json.loads(blob(layout, digest))


def index_entries(layout):
    return json.loads((layout / "index.json").read_text())["manifests"]


def platform_manifests(layout, entry):
    """The (platform, manifest descriptor) pairs behind one index.json entry."""
    if entry["mediaType"] == imageset.INDEX_TYPE:
        return [(child["platform"], child) for child in document(layout, entry["digest"])["manifests"]]
    return [(entry.get("platform"), entry)]


def platform_images(layout, entry):
    """(platform, manifest, config) for each platform of one image."""
    found = []
    for platform, descriptor in platform_manifests(layout, entry):
        manifest = document(layout, descriptor["digest"])
        found.append((platform, manifest, document(layout, manifest["config"]["digest"])))
    return found


def all_layer_descriptors(layout):
    return [layer for entry in index_entries(layout) for platform, manifest, config in platform_images(layout, entry) for layer in manifest["layers"]]


def reachable_descriptors(layout, descriptors):
    """Every descriptor under the given ones: indexes, manifests, configs and layers."""
    found = []
    for descriptor in descriptors:
        found.append(descriptor)
        if descriptor["mediaType"] in (imageset.INDEX_TYPE, imageset.MANIFEST_TYPE):
            content = document(layout, descriptor["digest"])
            children = content.get("manifests", []) + content.get("layers", []) + ([content["config"]] if "config" in content else [])
            found += reachable_descriptors(layout, children)
    return found


def test_layout_files_and_every_blob_named_by_its_sha256(tiny):
    layout = tiny.layout
    assert json.loads((layout / "oci-layout").read_text()) == {"imageLayoutVersion": "1.0.0"}
    blobs = list((layout / "blobs" / "sha256").iterdir())
    assert blobs
    for path in blobs:
        assert hashlib.sha256(path.read_bytes()).hexdigest() == path.name


def test_every_descriptor_matches_its_blob(tiny):
    layout = tiny.layout
    descriptors = reachable_descriptors(layout, index_entries(layout))
    for descriptor in descriptors:
        content = blob(layout, descriptor["digest"])
        assert len(content) == descriptor["size"]
        assert "sha256:" + hashlib.sha256(content).hexdigest() == descriptor["digest"]
    on_disk = {path.name for path in (layout / "blobs" / "sha256").iterdir()}
    assert on_disk == {descriptor["digest"].removeprefix("sha256:") for descriptor in descriptors}


def test_index_entries_carry_ref_names(tiny):
    layout = tiny.layout
    expected = [f"bench/img{number:02d}:v1" for number in range(4)]
    assert [entry["annotations"][imageset.REF_NAME] for entry in index_entries(layout)] == expected
    assert imageset.ref_names(layout) == expected


def test_multiarch_images_are_indexes_of_amd64_and_arm64_v8(tiny):
    layout, summary = tiny.layout, tiny.summary
    entries = index_entries(layout)
    indexes = [entry for entry in entries if entry["mediaType"] == imageset.INDEX_TYPE]
    assert len(indexes) == summary["multiarch_images"] == 2
    for entry in indexes:
        platforms = [platform for platform, descriptor in platform_manifests(layout, entry)]
        assert platforms == [{"architecture": "amd64", "os": "linux"}, {"architecture": "arm64", "os": "linux", "variant": "v8"}]
    for entry in entries:
        if entry not in indexes:
            assert entry["mediaType"] == imageset.MANIFEST_TYPE
            assert document(layout, entry["digest"])["config"]["mediaType"] == imageset.CONFIG_TYPE


def test_configs_describe_platform_and_uncompressed_layers(tiny):
    layout = tiny.layout
    for entry in index_entries(layout):
        for platform, manifest, config in platform_images(layout, entry):
            layers = manifest["layers"]
            assert {key: config.get(key) for key in platform} == platform
            assert config["created"] and config["config"]["Env"] and config["config"]["Cmd"]
            assert all(layer["mediaType"] == imageset.LAYER_TYPE for layer in layers)
            uncompressed = [gzip.decompress(blob(layout, layer["digest"])) for layer in layers]
            assert config["rootfs"] == {"type": "layers", "diff_ids": ["sha256:" + hashlib.sha256(tar).hexdigest() for tar in uncompressed]}
            assert len(config["history"]) == len(layers)


def test_layers_are_tars_with_files_symlinks_and_whiteouts(tiny):
    layout = tiny.layout
    whiteouts = 0
    for layer in {layer["digest"]: layer for layer in all_layer_descriptors(layout)}.values():
        with tarfile.open(layout / "blobs" / "sha256" / layer["digest"].removeprefix("sha256:"), "r:gz") as tar:
            members = tar.getmembers()
            assert any(member.issym() for member in members)
            assert any(member.isfile() and member.size > 0 for member in members)
            for member in members:
                assert member.mtime == imageset.FIXED_MTIME and member.uid == member.gid == 0
                if member.isfile():
                    assert len(tar.extractfile(member).read()) == member.size
            whiteouts += sum(Path(member.name).name.startswith(".wh.") for member in members)
    assert whiteouts > 0


def test_same_seed_is_identical_whatever_the_jobs_and_another_seed_changes_every_blob(tiny, tmp_path):
    layout = tiny.layout
    generate_tiny(tmp_path / "again", jobs=1)
    generate_tiny(tmp_path / "other", seed=2)
    assert (tmp_path / "again" / "index.json").read_bytes() == (layout / "index.json").read_bytes()
    assert {path.name for path in (tmp_path / "again" / "blobs" / "sha256").iterdir()} == {path.name for path in (layout / "blobs" / "sha256").iterdir()}
    assert (tmp_path / "other" / "index.json").read_bytes() != (layout / "index.json").read_bytes()
    assert not {path.name for path in (tmp_path / "other" / "blobs" / "sha256").iterdir()} & {path.name for path in (layout / "blobs" / "sha256").iterdir()}


def test_base_and_runtime_layers_are_shared_between_images(tiny):
    layout, summary = tiny.layout, tiny.summary
    users, sizes = {}, {}
    for entry in index_entries(layout):
        for platform, manifest, config in platform_images(layout, entry):
            for layer in manifest["layers"]:
                users.setdefault(layer["digest"], set()).add(entry["annotations"][imageset.REF_NAME])
                sizes[layer["digest"]] = layer["size"]
    shared = [digest for digest, refs in users.items() if len(refs) >= 2]
    assert shared
    achieved = sum(sizes[digest] for digest in shared) / sum(sizes.values())
    assert achieved == pytest.approx(summary["shared_fraction"], abs=1e-3)
    assert achieved == pytest.approx(0.6, abs=0.05)


def test_summary_counts_the_bytes_on_disk(tiny):
    layout, summary = tiny.layout, tiny.summary
    on_disk = sum(path.stat().st_size for path in (layout / "blobs" / "sha256").iterdir())
    assert summary["unique_bytes"] == on_disk
    assert on_disk == pytest.approx(3 * imageset.MIB, rel=0.05)
    assert summary["images"] == 4 and summary["manifests"] == 6
    assert summary["sum_amd64_bytes"] < summary["sum_all_platforms_bytes"]


def test_complete_layout_is_reused_without_regenerating(tiny):
    layout, summary = tiny.layout, tiny.summary
    before = {path: path.stat().st_mtime_ns for path in layout.rglob("*")}
    again = generate_tiny(layout)
    assert (summary["reused"], again["reused"]) == (False, True)
    assert {**again, "reused": False} == summary
    assert {path: path.stat().st_mtime_ns for path in layout.rglob("*")} == before


def test_cli_applies_preset_overrides_prints_refs_and_says_when_nothing_changed(tmp_path):
    script = REPO / "bench" / "imageset.py"
    summary_file = tmp_path / "summary.json"
    subprocess.run([sys.executable, script, "--preset", "tiny", "--images", "3", "--out", tmp_path / "set", "--summary-json", summary_file], check=True)
    summary = json.loads(summary_file.read_text())
    assert (summary["images"], summary["options"]["total_mb"], summary["options"]["seed"]) == (3, 3, 1)
    refs = subprocess.run([sys.executable, script, "--print-refs", tmp_path / "set"], check=True, capture_output=True, text=True).stdout
    assert refs.splitlines() == ["bench/img00:v1", "bench/img01:v1", "bench/img02:v1"]
    rerun = subprocess.run([sys.executable, script, "--preset", "tiny", "--images", "3", "--out", tmp_path / "set"], check=True, capture_output=True, text=True)
    assert "already complete" in rerun.stderr


@pytest.mark.skipif(not Path(SKOPEO).exists(), reason="skopeo is not installed; it proves the layout interoperates with real tools")
def test_skopeo_reads_and_copies_the_layout(tiny, tmp_path):
    layout = tiny.layout
    first, second = index_entries(layout)[:2]
    raw = subprocess.run([SKOPEO, "inspect", "--raw", f"oci:{layout}:bench/img00:v1"], check=True, capture_output=True).stdout
    assert raw == blob(layout, first["digest"])
    copy = tmp_path / "copy"
    subprocess.run([SKOPEO, "--insecure-policy", "copy", "--quiet", "--all", f"oci:{layout}:bench/img01:v1", f"oci:{copy}:x"],
                   check=True, capture_output=True)
    (copied,) = index_entries(copy)
    assert (copied["digest"], copied["annotations"][imageset.REF_NAME]) == (second["digest"], "x")
    expected = {descriptor["digest"] for descriptor in reachable_descriptors(layout, [second])}
    assert {"sha256:" + path.name for path in (copy / "blobs" / "sha256").iterdir()} == expected
