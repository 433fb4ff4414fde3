"""The checksum module on a real bundle-shaped tree, checked against coreutils' sha256sum."""

import json
import os
import subprocess

import pytest

from module_runner import run_module


@pytest.fixture
def bundle(image_set, tmp_path):
    """A bundle-shaped tree: the image set as images/, plus a lock and a file with an awkward name."""
    root = tmp_path / "bundle"
    root.mkdir()
    subprocess.run(["cp", "-r", image_set["path"], str(root / "images")], check=True)
    (root / "airlock.lock.json").write_text(json.dumps({"version": 1, "images": []}))
    (root / "files").mkdir()
    (root / "files" / "client wheel\\v1.whl").write_bytes(os.urandom(3000))
    return root


def test_present_writes_what_sha256sum_checks_and_is_idempotent(bundle):
    first = run_module("checksum", {"path": str(bundle), "state": "present"})
    assert first["changed"] and first["files"] > 10
    checked = subprocess.run(["sha256sum", "--strict", "-c", "SHA256SUMS"], cwd=bundle, capture_output=True, text=True, check=False)
    assert checked.returncode == 0, checked.stdout[-2000:] + checked.stderr
    assert checked.stdout.count(": OK") == first["files"]
    mtime = (bundle / "SHA256SUMS").stat().st_mtime_ns
    again = run_module("checksum", {"path": str(bundle), "state": "present"})
    assert again["changed"] is False and (bundle / "SHA256SUMS").stat().st_mtime_ns == mtime


def test_our_verify_accepts_what_sha256sum_wrote(bundle):
    listing = subprocess.run("find . -type f ! -name SHA256SUMS -print0 | sort -z | xargs -0 sha256sum", shell=True, cwd=bundle,
                             capture_output=True, check=True).stdout
    (bundle / "SHA256SUMS").write_bytes(listing)
    result = run_module("checksum", {"path": str(bundle)})
    assert not result.get("failed"), result.get("msg")
    assert result["ok"] and result["files"] == listing.count(b"\n")


def test_a_flipped_byte_fails_naming_the_file_and_the_report_says_so(bundle, tmp_path):
    run_module("checksum", {"path": str(bundle), "state": "present"})
    blobs = bundle / "images" / "blobs" / "sha256"
    victim = max(blobs.iterdir(), key=lambda p: p.stat().st_size)
    data = bytearray(victim.read_bytes())
    data[len(data) // 3] ^= 0x01
    victim.write_bytes(bytes(data))
    (bundle / "airlock.lock.json").unlink()
    report = tmp_path / "evidence.json"
    result = run_module("checksum", {"path": str(bundle), "report": str(report)})
    assert result["failed"]
    assert "1 missing" in result["msg"] and "1 mismatched" in result["msg"] and victim.name in result["msg"]
    evidence = json.loads(report.read_text())
    assert evidence["result"] == "FAILED" and evidence["missing"] == ["airlock.lock.json"]
    assert evidence["sums_file_sha256"].startswith("sha256:") and evidence["checked_at"].endswith("Z")
    by_name = run_module("checksum", {"path": str(bundle / "images"), "by_name": True})
    assert by_name["failed"] and by_name["mismatched"] == [f"blobs/sha256/{victim.name}"]


def test_check_mode_writes_nothing(bundle):
    result = run_module("checksum", {"path": str(bundle), "state": "present"}, check_mode=True)
    assert result["changed"] and not (bundle / "SHA256SUMS").exists()


def test_a_clean_verify_writes_a_report_of_every_digest(bundle, tmp_path):
    run_module("checksum", {"path": str(bundle), "state": "present"})
    report = tmp_path / "evidence.json"
    result = run_module("checksum", {"path": str(bundle), "report": str(report), "progress_file": str(tmp_path / "progress.json")})
    assert result["ok"] and not result.get("failed")
    evidence = json.loads(report.read_text())
    assert evidence["result"] == "verified" and len(evidence["files"]) == result["files"]
    assert json.loads((tmp_path / "progress.json").read_text())["files_done"] == result["files"]
