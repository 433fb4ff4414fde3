"""bundle: pack into verified volumes, verify, and unpack safely and resumably, on real trees."""

import hashlib
import io
import json
import os
import subprocess
import tarfile

import pytest

from module_runner import run_module


@pytest.fixture
def sealed_bundle(image_set, tmp_path):
    """A bundle-shaped tree with a symlink and a SHA256SUMS written by the checksum module."""
    root = tmp_path / "bundle"
    root.mkdir()
    subprocess.run(["cp", "-r", image_set["path"], str(root / "images")], check=True)
    (root / "airlock.lock.json").write_text(json.dumps({"version": 1, "images": []}))
    (root / "models").mkdir()
    (root / "models" / "weights.bin").write_bytes(os.urandom(200_000))
    (root / "models" / "current").symlink_to("weights.bin")
    assert not run_module("checksum", {"path": str(root), "state": "present"}).get("failed")
    return root


def pack(root, volumes, size=256 * 1024, **extra):
    return run_module("bundle", dict({"path": str(root), "volumes_dir": str(volumes), "name": "rel", "state": "packed", "volume_size": size},
                                     **extra))


def test_pack_writes_volumes_plain_tar_can_read_and_is_idempotent(sealed_bundle, tmp_path):
    volumes = tmp_path / "usb"
    first = pack(sealed_bundle, volumes)
    assert first["changed"] and len(first["volumes"]) > 3
    assert all(v["size"] <= 256 * 1024 for v in first["volumes"])
    for volume in first["volumes"]:
        subprocess.run(["sha256sum", "--strict", "-c", volume["name"] + ".sha256"], cwd=volumes, check=True, capture_output=True)
    names = sorted(v["name"] for v in first["volumes"])
    listed = subprocess.run(f"cat {' '.join(names)} | tar -tf -", shell=True, cwd=volumes, capture_output=True, text=True, check=True)
    assert "models/current" in listed.stdout and "SHA256SUMS" in listed.stdout
    index = json.loads((volumes / "rel.index.json").read_text())
    assert index["lock_sha256"] == "sha256:" + hashlib.sha256((sealed_bundle / "airlock.lock.json").read_bytes()).hexdigest()
    assert pack(sealed_bundle, volumes)["changed"] is False


def test_unpack_rebuilds_the_bundle_verifies_it_and_is_idempotent(sealed_bundle, tmp_path):
    volumes, target = tmp_path / "usb", tmp_path / "enclave"
    pack(sealed_bundle, volumes)
    report = tmp_path / "evidence.json"
    first = run_module("bundle", {"path": str(target), "volumes_dir": str(volumes), "name": "rel", "state": "unpacked", "report": str(report)})
    assert not first.get("failed"), first.get("msg")
    assert first["changed"] and first["verification"]["ok"]
    assert os.readlink(target / "models" / "current") == "weights.bin"
    assert json.loads(report.read_text())["result"] == "verified"
    again = run_module("bundle", {"path": str(target), "volumes_dir": str(volumes), "name": "rel", "state": "unpacked"})
    assert again["changed"] is False and again["written"] == 0 and again["unchanged"] > 0


def test_remove_packed_empties_the_tree_into_volumes_that_unpack_whole(sealed_bundle, tmp_path):
    volumes, target = tmp_path / "usb", tmp_path / "enclave"
    packed = pack(sealed_bundle, volumes, remove_packed=True)
    assert packed["changed"] and not any(path.is_file() or path.is_symlink() for path in sealed_bundle.rglob("*"))
    assert pack(sealed_bundle, volumes, remove_packed=True)["changed"] is False
    unpacked = run_module("bundle", {"path": str(target), "volumes_dir": str(volumes), "name": "rel", "state": "unpacked"})
    assert not unpacked.get("failed"), unpacked.get("msg")
    assert unpacked["verification"]["ok"] and os.readlink(target / "models" / "current") == "weights.bin"


def test_remove_packed_keeps_a_file_changed_since_the_seal_and_fails_naming_it(sealed_bundle, tmp_path):
    (sealed_bundle / "models" / "weights.bin").write_bytes(b"changed after the seal")
    failed = pack(sealed_bundle, tmp_path / "usb", remove_packed=True)
    assert failed.get("failed") and "models/weights.bin" in failed["msg"] and "SHA256SUMS" in failed["msg"]
    assert (sealed_bundle / "models" / "weights.bin").read_bytes() == b"changed after the seal"


@pytest.mark.parametrize("damage", ["flip", "missing", "truncate", "swap"])
def test_damaged_volumes_are_named_and_nothing_is_unpacked(sealed_bundle, tmp_path, damage):
    volumes, target = tmp_path / "usb", tmp_path / "enclave"
    names = [v["name"] for v in pack(sealed_bundle, volumes)["volumes"]]
    first, second = volumes / names[1], volumes / names[2]
    if damage == "flip":
        data = bytearray(first.read_bytes())
        data[100] ^= 0x01
        first.write_bytes(bytes(data))
    elif damage == "missing":
        first.unlink()
    elif damage == "truncate":
        first.write_bytes(first.read_bytes()[:-10])
    else:
        a, b = first.read_bytes(), second.read_bytes()
        first.write_bytes(b)
        second.write_bytes(a)
    result = run_module("bundle", {"path": str(target), "volumes_dir": str(volumes), "name": "rel", "state": "unpacked"})
    assert result["failed"] and names[1] in result["msg"] and "nothing was unpacked" in result["msg"]
    assert not target.exists()


def malicious_volumes(volumes, members, **index_keys):
    """A one-volume 'bundle' whose tar holds the given (TarInfo, bytes) members, with a hand-written index
    (never written by the module under test) plus any index keys given."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.PAX_FORMAT) as archive:
        for info, data in members:
            archive.addfile(info, io.BytesIO(data) if data is not None else None)
    raw = buffer.getvalue()
    volumes.mkdir()
    (volumes / "evil.tar.000").write_bytes(raw)
    index = dict({"name": "evil", "format": "tar", "volumes": [{"name": "evil.tar.000", "size": len(raw), "sha256": hashlib.sha256(raw).hexdigest()}],
                  "bytes": len(raw)}, **index_keys)
    (volumes / "evil.index.json").write_text(json.dumps(index))


def entry(name, data=b"x", kind=tarfile.REGTYPE, link=""):
    info = tarfile.TarInfo(name)
    info.type, info.linkname = kind, link
    info.size = len(data) if kind == tarfile.REGTYPE else 0
    return info, data if kind == tarfile.REGTYPE else None


@pytest.mark.parametrize("members,reason", [
    ([entry("ok.txt"), entry("../escape.txt")], "outside"),
    ([entry("/etc/airlock-escape")], "outside"),
    ([entry("link", kind=tarfile.SYMTYPE, link="../../etc/passwd")], "points outside"),
    ([entry("abs", kind=tarfile.SYMTYPE, link="/etc/passwd")], "points outside"),
    ([entry("dev", kind=tarfile.CHRTYPE)], "device"),
    ([entry("pipe", kind=tarfile.FIFOTYPE)], "FIFO"),
    ([entry("hard", kind=tarfile.LNKTYPE, link="ok.txt")], "hard link"),
])
def test_unsafe_entries_are_refused(tmp_path, members, reason):
    volumes, target = tmp_path / "usb", tmp_path / "enclave"
    malicious_volumes(volumes, members)
    result = run_module("bundle", {"path": str(target), "volumes_dir": str(volumes), "name": "evil", "state": "unpacked"})
    assert result["failed"] and reason in result["msg"]
    assert not (tmp_path / "escape.txt").exists() and not os.path.exists("/etc/airlock-escape")


@pytest.mark.skipif(os.geteuid() != 0, reason="mounting a small tmpfs needs root")
def test_a_full_disk_is_reported_and_a_rerun_after_freeing_space_completes(sealed_bundle, tmp_path):
    volumes, target = tmp_path / "usb", tmp_path / "small-disk"
    pack(sealed_bundle, volumes)
    target.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(target)], check=True)
    try:
        full = run_module("bundle", {"path": str(target), "volumes_dir": str(volumes), "name": "rel", "state": "unpacked"})
        assert full["failed"] and "No space left" in full["msg"] and "(None)" not in full["msg"], full["msg"]
        assert "stopped at 'images/blobs/sha256/" in full["msg"], "the entry being written is named"
        assert "need up to" in full["msg"] and "is free there" in full["msg"] and "Free at least" in full["msg"], full["msg"]
        assert not list(target.rglob(".airlock-partial-*")), "no half-written file is left"
        subprocess.run(["mount", "-o", "remount,size=64m", str(target)], check=True)
        done = run_module("bundle", {"path": str(target), "volumes_dir": str(volumes), "name": "rel", "state": "unpacked"})
        assert not done.get("failed"), done.get("msg")
        assert done["verification"]["ok"] and done["unchanged"] > 0
    finally:
        subprocess.run(["umount", "-l", str(target)], check=False)


def test_a_differential_bundle_carries_only_the_change_and_rebuilds_the_whole(sealed_bundle, tmp_path):
    volumes, enclave = tmp_path / "usb-full", tmp_path / "enclave"
    full = pack(sealed_bundle, volumes, size=1024 * 1024)
    assert not run_module("bundle", {"path": str(enclave), "volumes_dir": str(volumes), "name": "rel", "state": "unpacked"}).get("failed")
    held = tmp_path / "held.SHA256SUMS"
    held.write_bytes((enclave / "SHA256SUMS").read_bytes())  # what the enclave reports it holds

    (sealed_bundle / "models" / "adapter.bin").write_bytes(os.urandom(50_000))
    (sealed_bundle / "airlock.lock.json").write_text(json.dumps({"version": 1, "images": [], "models": ["adapter"]}))
    (sealed_bundle / "models" / "weights.bin").unlink()
    (sealed_bundle / "models" / "current").unlink()
    (sealed_bundle / "models" / "current").symlink_to("adapter.bin")
    assert run_module("checksum", {"path": str(sealed_bundle), "state": "present"})["changed"]

    diff = pack(sealed_bundle, tmp_path / "usb-diff", size=1024 * 1024, base=str(held))
    assert diff["bytes"] < full["bytes"] / 10, (diff["bytes"], full["bytes"])
    applied = run_module("bundle", {"path": str(enclave), "volumes_dir": str(tmp_path / "usb-diff"), "name": "rel", "state": "unpacked"})
    assert not applied.get("failed"), applied.get("msg")
    assert applied["verification"]["ok"] and applied["removed"] == 1
    assert not (enclave / "models" / "weights.bin").exists() and os.readlink(enclave / "models" / "current") == "adapter.bin"
    again = run_module("bundle", {"path": str(enclave), "volumes_dir": str(tmp_path / "usb-diff"), "name": "rel", "state": "unpacked"})
    assert again["changed"] is False

    elsewhere = tmp_path / "other-enclave"
    refused = run_module("bundle", {"path": str(elsewhere), "volumes_dir": str(tmp_path / "usb-diff"), "name": "rel", "state": "unpacked"})
    assert refused["failed"] and "extends the bundle" in refused["msg"] and "nothing was unpacked" in refused["msg"]
    assert not elsewhere.exists()


def test_verified_volumes_leave_evidence_and_progress(sealed_bundle, tmp_path):
    volumes = tmp_path / "usb"
    names = [v["name"] for v in pack(sealed_bundle, volumes, progress_file=str(tmp_path / "pack.progress"))["volumes"]]
    assert json.loads((tmp_path / "pack.progress").read_text())["files_done"] > 0
    arguments = {"path": str(tmp_path / "unused"), "volumes_dir": str(volumes), "name": "rel", "state": "verified",
                 "report": str(tmp_path / "volumes.json"), "progress_file": str(tmp_path / "verify.progress")}
    result = run_module("bundle", arguments)
    assert not result.get("failed") and result["changed"] is False
    evidence = json.loads((tmp_path / "volumes.json").read_text())
    assert evidence["result"] == "verified" and [v["name"] for v in evidence["volumes"]] == names
    assert json.loads((tmp_path / "verify.progress").read_text())["files_done"] == len(names)
    (volumes / names[0]).write_bytes(b"garbage")
    failed = run_module("bundle", arguments)
    assert failed["failed"] and names[0] in failed["msg"]
    assert json.loads((tmp_path / "volumes.json").read_text())["result"] == "FAILED"


def test_zstd_compresses_what_is_not_compressed_yet_and_unpacks_identically(sealed_bundle, tmp_path):
    (sealed_bundle / "models" / "config.json").write_text(json.dumps({"layers": list(range(20000))}))
    assert run_module("checksum", {"path": str(sealed_bundle), "state": "present"})["changed"]
    plain = pack(sealed_bundle, tmp_path / "plain", size=64 * 1024 * 1024)
    packed = pack(sealed_bundle, tmp_path / "zstd", size=64 * 1024 * 1024, compression="zstd")
    assert packed["bytes"] < plain["bytes"] - 50_000, (packed["bytes"], plain["bytes"])
    target = tmp_path / "enclave"
    unpacked = run_module("bundle", {"path": str(target), "volumes_dir": str(tmp_path / "zstd"), "name": "rel", "state": "unpacked"})
    assert not unpacked.get("failed"), unpacked.get("msg")
    assert unpacked["verification"]["ok"]
    assert (target / "models" / "config.json").read_bytes() == (sealed_bundle / "models" / "config.json").read_bytes()
    again = run_module("bundle", {"path": str(target), "volumes_dir": str(tmp_path / "zstd"), "name": "rel", "state": "unpacked"})
    assert again["changed"] is False and again["written"] == 0


def test_a_differential_against_the_enclaves_lock_leaves_its_images_home(image_set, tmp_path):
    import sys  # pylint: disable=import-outside-toplevel
    sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))), "bench"))
    import imageset  # pylint: disable=import-outside-toplevel

    root = tmp_path / "bundle"
    lock = root / "airlock.lock.json"
    copied = run_module("image_copy", {"images": [f"oci:{image_set['path']}"], "destination": f"oci:{root / 'images'}", "lock_file": str(lock)})
    assert not copied.get("failed"), copied.get("msg")
    assert run_module("checksum", {"path": str(root), "state": "present"})["changed"]
    full = pack(root, tmp_path / "usb-full", size=1024 * 1024)
    enclave = tmp_path / "enclave"
    assert not run_module("bundle", {"path": str(enclave), "volumes_dir": str(tmp_path / "usb-full"), "name": "rel", "state": "unpacked"}).get("failed")
    held_lock = tmp_path / "held.lock.json"
    held_lock.write_bytes((enclave / "airlock.lock.json").read_bytes())

    extra = tmp_path / "extra"
    imageset.generate(str(extra), images=1, total_mb=1, shared_fraction=0.0, multiarch_fraction=0.0, seed=42)
    assert not run_module("image_copy", {"images": [f"oci:{extra}"], "destination": f"oci:{root / 'images'}", "lock_file": str(lock)}).get("failed")
    assert run_module("checksum", {"path": str(root), "state": "present"})["changed"]
    diff = pack(root, tmp_path / "usb-diff", size=1024 * 1024, base=str(held_lock))
    new_image_bytes = sum(f.stat().st_size for f in (extra / "blobs" / "sha256").iterdir())
    assert diff["bytes"] < new_image_bytes + 200_000 < full["bytes"], (diff["bytes"], new_image_bytes, full["bytes"])
    applied = run_module("bundle", {"path": str(enclave), "volumes_dir": str(tmp_path / "usb-diff"), "name": "rel", "state": "unpacked"})
    assert not applied.get("failed"), applied.get("msg")
    assert applied["verification"]["ok"]


def unpack_evil(tmp_path, check_mode=False):
    return run_module("bundle", {"path": str(tmp_path / "enclave"), "volumes_dir": str(tmp_path / "usb"), "name": "evil", "state": "unpacked"},
                      check_mode=check_mode)


def test_a_symlink_chain_cannot_carry_a_write_outside_the_target(tmp_path):
    """foo -> ., then foo/bar -> .. (created through foo it would land as bar -> ..), then bar/outside/victim.txt."""
    (tmp_path / "outside").mkdir()
    victim = tmp_path / "outside" / "victim.txt"
    victim.write_text("precious")
    malicious_volumes(tmp_path / "usb", [entry("foo", kind=tarfile.SYMTYPE, link="."),
                                         entry("foo/bar", kind=tarfile.SYMTYPE, link=".."),
                                         entry("bar/outside/victim.txt", b"overwritten")])
    result = unpack_evil(tmp_path)
    assert result["failed"] and "beneath the link 'foo'" in result["msg"], result
    assert victim.read_text() == "precious"
    assert not (tmp_path / "enclave").exists(), "nothing is touched before the whole bundle is proven"


@pytest.mark.parametrize("links", [
    [("up", "..")],                               # climbs above the target at once
    [("sub/up", ".."), ("sub/x", "up/../..")],    # lexically inside, really the target's parent
    [("sub/deep", "../a/../../..")],              # '..' after a name
])
def test_links_that_resolve_outside_the_target_are_refused(tmp_path, links):
    members = [entry("sub", kind=tarfile.DIRTYPE)] + [entry(name, kind=tarfile.SYMTYPE, link=target) for name, target in links]
    malicious_volumes(tmp_path / "usb", members)
    result = unpack_evil(tmp_path)
    assert result["failed"] and "points outside" in result["msg"], result
    assert not (tmp_path / "enclave").exists()


def test_a_link_already_in_the_target_is_never_written_through(tmp_path):
    """The target holds a link to elsewhere (planted before, or by hand): a file beneath it is refused, not written there."""
    elsewhere, target = tmp_path / "elsewhere", tmp_path / "enclave"
    elsewhere.mkdir()
    target.mkdir()
    (target / "models").symlink_to(elsewhere)
    malicious_volumes(tmp_path / "usb", [entry("models/weights.bin", b"payload")])
    result = unpack_evil(tmp_path)
    assert result["failed"] and "is a link or a file, not a folder" in result["msg"], result
    assert not list(elsewhere.iterdir())
    checked = unpack_evil(tmp_path, check_mode=True)
    assert checked["failed"] and "is a link or a file" in checked["msg"]


def held_bundle(tmp_path):
    """An enclave that holds a bundle (a SHA256SUMS listing keep.txt and old.txt), and a file outside it."""
    target = tmp_path / "enclave"
    target.mkdir()
    for name in ("keep.txt", "old.txt"):
        (target / name).write_text(name)
    assert not run_module("checksum", {"path": str(target), "state": "present"}).get("failed")
    (tmp_path / "outside").mkdir()
    (tmp_path / "outside" / "x").write_text("precious")
    return target, "sha256:" + hashlib.sha256((target / "SHA256SUMS").read_bytes()).hexdigest()


@pytest.mark.parametrize("base", [
    {"file": "SHA256SUMS", "sha256": "sha256:" + "0" * 64, "removed": ["old.txt"], "result_sha256": None},  # a base the target does not hold
    {"file": "missing.txt", "sha256": None, "removed": ["../outside/x"], "result_sha256": None},           # null digests, a file that is not there
    {"file": "SHA256SUMS", "sha256": "HELD", "removed": ["../outside/x"], "result_sha256": None},           # climbs out
    {"file": "SHA256SUMS", "sha256": "HELD", "removed": ["OUTSIDE_ABSOLUTE"], "result_sha256": None},      # absolute
    {"file": "SHA256SUMS", "sha256": "HELD", "removed": ["./old.txt"], "result_sha256": None},             # not normalised
    {"file": "SHA256SUMS", "sha256": "HELD", "removed": ["never-listed.txt"], "result_sha256": None},      # not in the base
    {"file": "SHA256SUMS", "sha256": "HELD", "removed": [42], "result_sha256": None},                      # wrong type
    {"file": "SHA256SUMS", "sha256": "HELD", "removed": ["old.txt"]},                                      # a key missing
    ["not", "an", "object"],
])
def test_a_hostile_differential_index_deletes_nothing(tmp_path, base):
    target, held = held_bundle(tmp_path)
    if isinstance(base, dict):
        base = {key: (held if value == "HELD" else value) for key, value in base.items()}
        base["removed"] = [str(tmp_path / "outside" / "x") if path == "OUTSIDE_ABSOLUTE" else path for path in base.get("removed", [])]
        (target / "never-listed.txt").write_text("the enclave's own")
    malicious_volumes(tmp_path / "usb", [entry("new.txt", b"new")], base=base)
    result = unpack_evil(tmp_path)
    assert result["failed"] and ("base" in result["msg"] or "differential" in result["msg"]), result
    assert (tmp_path / "outside" / "x").read_text() == "precious"
    assert (target / "old.txt").exists() and not (target / "new.txt").exists()
    assert not (target / "never-listed.txt").exists() or (target / "never-listed.txt").read_text() == "the enclave's own"


def test_a_valid_differential_index_removes_only_what_its_base_lists(tmp_path):
    target, held = held_bundle(tmp_path)
    new_sums = "".join(f"{hashlib.sha256(data).hexdigest()}  {name}\n" for name, data in [("keep.txt", b"keep.txt"), ("new.txt", b"new")])
    malicious_volumes(tmp_path / "usb", [entry("new.txt", b"new"), entry("SHA256SUMS", new_sums.encode())],
                      base={"file": "SHA256SUMS", "sha256": held, "removed": ["old.txt"], "result_sha256": None})
    result = unpack_evil(tmp_path)
    assert not result.get("failed"), result.get("msg")
    assert result["removed"] == 1 and not (target / "old.txt").exists() and (target / "new.txt").read_text() == "new"


@pytest.mark.parametrize("index,key", [
    ({"volumes": [{"name": "../../etc/passwd", "size": 1, "sha256": "0" * 64}]}, "volumes[0].name"),
    ({"volumes": [{"name": "evil.tar.000", "size": "12", "sha256": "0" * 64}]}, "volumes[0].size"),
    ({"volumes": [{"name": "evil.tar.000", "size": 12, "sha256": "zz"}]}, "volumes[0].sha256"),
    ({"volumes": "evil.tar.000"}, "volumes"),
    ({"volumes": [], "surprise": 1}, "surprise"),
    ({"name": "other", "volumes": []}, "name"),
    ({"compression": "lzma", "volumes": []}, "compression"),
])
def test_an_index_that_does_not_fit_is_refused_naming_the_key(tmp_path, index, key):
    volumes = tmp_path / "usb"
    volumes.mkdir()
    (volumes / "evil.index.json").write_text(json.dumps(index))
    result = unpack_evil(tmp_path)
    assert result["failed"] and key in result["msg"] and "Traceback" not in result["msg"], result
    assert not (tmp_path / "enclave").exists()


def test_check_mode_reports_truthfully_and_writes_nothing(sealed_bundle, tmp_path):
    volumes, target = tmp_path / "usb", tmp_path / "enclave"
    pack(sealed_bundle, volumes)
    fresh = run_module("bundle", {"path": str(target), "volumes_dir": str(volumes), "name": "rel", "state": "unpacked"}, check_mode=True)
    assert fresh["changed"] and not target.exists()
    run_module("bundle", {"path": str(target), "volumes_dir": str(volumes), "name": "rel", "state": "unpacked"})
    settled = run_module("bundle", {"path": str(target), "volumes_dir": str(volumes), "name": "rel", "state": "unpacked"}, check_mode=True)
    assert settled["changed"] is False
