"""file_mirror for real: HTTP downloads cut midway resume, a wrong sha256 leaves nothing, S3 round trip."""

import hashlib
import json
import os

import pytest

from module_runner import run_module
from range_http import RangeFileServer
from s3_bucket import client_for, settings_for, temporary_bucket

PAYLOAD = os.urandom(3 * 1024 * 1024 + 17)
PAYLOAD_SHA256 = hashlib.sha256(PAYLOAD).hexdigest()


def leftovers(folder):
    return sorted(name for name in os.listdir(folder) if name.startswith(".")) if os.path.isdir(folder) else []


def test_a_download_cut_midway_resumes_with_range_and_verifies(tmp_path):
    folder = tmp_path / "files"
    with RangeFileServer({"model.bin": PAYLOAD}, cut_responses=2, cut_at=1024 * 1024) as server:
        result = run_module("file_mirror", {"path": str(folder), "files": [{"src": server.url("model.bin"), "sha256": PAYLOAD_SHA256}]})
        assert not result.get("failed"), result.get("msg")
        assert server.ranges == [None, "bytes=1048576-", "bytes=2097152-"]
        again = run_module("file_mirror", {"path": str(folder), "files": [{"src": server.url("model.bin"), "sha256": PAYLOAD_SHA256}]})
        assert len(server.ranges) == 3, "a file already in place is verified on disk, not fetched again"
    assert result["changed"] and result["files"][0]["bytes_moved"] == len(PAYLOAD)
    assert (folder / "model.bin").read_bytes() == PAYLOAD
    assert not again["changed"] and again["bytes_moved"] == 0
    assert leftovers(folder) == []


def test_a_wrong_sha256_is_refused_and_nothing_keeps_the_name(tmp_path):
    folder = tmp_path / "files"
    wrong = hashlib.sha256(b"something else").hexdigest()
    with RangeFileServer({"model.bin": PAYLOAD}, cut_responses=1) as server:
        result = run_module("file_mirror", {"path": str(folder), "files": [{"src": server.url("model.bin"), "sha256": wrong}]})
    assert result.get("failed")
    assert wrong in result["msg"] and PAYLOAD_SHA256 in result["msg"]
    assert not (folder / "model.bin").exists() and leftovers(folder) == []


def test_a_learned_sha256_is_recorded_and_then_pins_the_source(tmp_path):
    folder, lock = tmp_path / "files", tmp_path / "airlock.lock.json"
    args = {"path": str(folder), "lock_file": str(lock)}
    with RangeFileServer({"tool": b"version one\n"}) as server:
        first = run_module("file_mirror", dict(args, files=[server.url("tool")]))
        assert not first.get("failed"), first.get("msg")
        assert not run_module("file_mirror", dict(args, files=[server.url("tool")]))["changed"]
        server.files["tool"] = b"version two, served under the same URL\n"
        (folder / "tool").unlink()
        refused = run_module("file_mirror", dict(args, files=[server.url("tool")]))
    recorded = json.loads(lock.read_text())["files"]
    assert recorded == [{"name": "tool", "source": server.url("tool"), "sha256": hashlib.sha256(b"version one\n").hexdigest(), "size": 12}]
    assert refused.get("failed") and recorded[0]["sha256"] in refused["msg"]
    assert not (folder / "tool").exists()
    unpinned = run_module("file_mirror", {"path": str(folder), "files": ["http://127.0.0.1:9/x"]})
    assert unpinned.get("failed") and "lock_file" in unpinned["msg"]


@pytest.mark.testbed
def test_s3_round_trip_through_the_bundle(testbed, tmp_path):
    source = tmp_path / "weights.tar"
    source.write_bytes(PAYLOAD)
    bundle, lock = tmp_path / "bundle-files", tmp_path / "airlock.lock.json"
    staged = run_module("file_mirror", {"path": str(bundle), "lock_file": str(lock), "files": [str(source)]})
    assert not staged.get("failed"), staged.get("msg")
    client = client_for(testbed)
    with temporary_bucket(client, "w14-files") as bucket:
        s3 = settings_for(testbed, bucket)
        publish = {"state": "published", "path": str(bundle), "lock_file": str(lock), "s3": s3}
        would = run_module("file_mirror", publish, check_mode=True)
        assert would["changed"] and "Contents" not in client.list_objects_v2(Bucket=bucket)
        pushed = run_module("file_mirror", publish)
        assert not pushed.get("failed"), pushed.get("msg")
        assert not run_module("file_mirror", publish)["changed"]
        key = f"{s3['prefix']}/weights.tar"
        assert client.head_object(Bucket=bucket, Key=key)["Metadata"]["sha256"] == PAYLOAD_SHA256
        back = tmp_path / "enclave-files"
        fetched = run_module("file_mirror", {"path": str(back), "s3": {k: s3[k] for k in ("endpoint_url", "access_key", "secret_key")},
                                             "files": [{"src": f"s3://{bucket}/{key}", "sha256": PAYLOAD_SHA256}]})
        assert not fetched.get("failed"), fetched.get("msg")
    assert (back / "weights.tar").read_bytes() == PAYLOAD
    (bundle / "weights.tar").write_bytes(PAYLOAD[:-1] + b"x")
    damaged = run_module("file_mirror", {"state": "published", "path": str(bundle), "lock_file": str(lock), "dest": str(tmp_path / "out")})
    assert damaged.get("failed") and "corrupted content" in damaged["msg"]
    assert not (tmp_path / "out" / "weights.tar").exists()
