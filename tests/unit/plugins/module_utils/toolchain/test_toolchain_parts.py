"""The toolchain's parts that need no index: collection tarballs from an installed tree, the helm architecture check."""

import hashlib
import json
import tarfile

import pytest

from ansible_collections.airlock.airgap.plugins.module_utils.toolchain import assemble, collections


def installed_collection(root, files):
    """An installed collection as Galaxy leaves it, FILES.json listing one file more than is on disk (as the ansible package does)."""
    root.mkdir(parents=True)
    listing = [{"name": ".", "ftype": "dir", "chksum_type": None, "chksum_sha256": None, "format": 1}]
    for name, data in files.items():
        (root / name).write_bytes(data)
        listing.append({"name": name, "ftype": "file", "chksum_type": "sha256", "chksum_sha256": hashlib.sha256(data).hexdigest(), "format": 1})
    listing.append({"name": "tests/dropped.py", "ftype": "file", "chksum_type": "sha256", "chksum_sha256": "0" * 64, "format": 1})
    files_json = json.dumps({"files": listing, "format": 1}).encode()
    (root / "FILES.json").write_bytes(files_json)
    info = {"namespace": "acme", "name": "tools", "version": "1.2.0", "dependencies": {}}
    listed = {"name": "FILES.json", "ftype": "file", "chksum_type": "sha256", "chksum_sha256": hashlib.sha256(files_json).hexdigest(), "format": 1}
    (root / "MANIFEST.json").write_text(json.dumps({"collection_info": info, "file_manifest_file": listed, "format": 1}))
    return root


def test_an_installed_collection_packs_reproducibly_listing_only_what_is_there(tmp_path):
    root = installed_collection(tmp_path / "acme" / "tools", {"README.md": b"tools\n", "plugin.py": b"x = 1\n"})
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    first = collections.pack(str(root), str(tmp_path / "a"))
    second = collections.pack(str(root), str(tmp_path / "b"))
    assert first.endswith("acme-tools-1.2.0.tar.gz")
    assert open(first, "rb").read() == open(second, "rb").read()
    assert collections.same_content(first, second)
    with tarfile.open(first) as archive:
        listing = json.loads(archive.extractfile("FILES.json").read())
        manifest = json.loads(archive.extractfile("MANIFEST.json").read())
        assert sorted(archive.getnames()) == ["FILES.json", "MANIFEST.json", "README.md", "plugin.py"]
    assert [entry["name"] for entry in listing["files"]] == [".", "README.md", "plugin.py"]
    assert manifest["file_manifest_file"]["chksum_sha256"] == hashlib.sha256(json.dumps(listing, indent=4).encode()).hexdigest()


def test_a_changed_installed_file_is_refused(tmp_path):
    root = installed_collection(tmp_path / "acme" / "tools", {"plugin.py": b"x = 1\n"})
    (root / "plugin.py").write_bytes(b"x = 2\n")
    (tmp_path / "out").mkdir()
    with pytest.raises(collections.CollectionError, match="does not match its sha256"):
        collections.pack(str(root), str(tmp_path / "out"))


def test_helm_for_another_architecture_is_refused(tmp_path):
    arm64 = tmp_path / "helm"
    arm64.write_bytes(b"\x7fELF\x02\x01\x01" + b"\0" * 11 + (183).to_bytes(2, "little") + b"\0" * 40)
    assemble.check_elf(str(arm64), "aarch64")
    with pytest.raises(assemble.ToolchainError, match="helm for aarch64, not for the enclave's x86_64"):
        assemble.check_elf(str(arm64), "x86_64")
    assert assemble.architecture_of(("manylinux2014_aarch64", "manylinux_2_28_aarch64")) == "aarch64"
    with pytest.raises(assemble.ToolchainError):
        assemble.architecture_of(("manylinux2014_aarch64", "manylinux2014_x86_64"))
    with pytest.raises(assemble.ToolchainError):
        assemble.architecture_of(("win_amd64",))
