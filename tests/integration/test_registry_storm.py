"""image_copy through registry faults with default settings: an error storm, failed and cut uploads, a wrong scheme.

Every registry here is real (the testbed's), reached through the loopback fault proxy.
"""

import json
import os
import uuid

import imageset  # bench/, which conftest puts on the path
import pytest

from faulty_proxy import Fault, FaultyProxy, Storm
from module_runner import run_module

pytestmark = pytest.mark.testbed

STORM_FRACTION = 0.3
UPLOAD_PIECE = 65536


@pytest.fixture(scope="module")
def small_image_set(tmp_path_factory):
    """The small preset (8 images, 200 MiB) as an OCI layout: big enough that a storm meets every kind of request."""
    out = tmp_path_factory.mktemp("small") / "layout"
    imageset.generate(str(out), **imageset.PRESETS["small"])
    return str(out)


@pytest.fixture
def public_proxy(testbed):
    host, port = testbed.public_registry.split(":")
    with FaultyProxy(host, int(port)) as proxy:
        yield proxy


def push(proxy, source, prefix, **options):
    return run_module("image_copy", {"images": [source], "destination": f"docker://{proxy.address}/{prefix}-{uuid.uuid4().hex[:8]}",
                                     "registries": [{"host": proxy.address, "insecure": True}], **options})


def chunked_layer(layout):
    """(ref, layer digest) of a layer that needs at least two PATCHes of UPLOAD_PIECE bytes."""
    with open(os.path.join(layout, "index.json"), encoding="utf-8") as handle:
        entries = json.load(handle)["manifests"]
    for entry in entries:
        for manifest in manifests_under(layout, entry["digest"]):
            for layer in manifest["layers"]:
                if layer["size"] > 2 * UPLOAD_PIECE:
                    return entry["annotations"]["org.opencontainers.image.ref.name"], layer["digest"]
    raise AssertionError("the image set has no layer big enough for two upload pieces")


def manifests_under(layout, digest):
    with open(os.path.join(layout, "blobs", "sha256", digest.split(":")[1]), encoding="utf-8") as handle:
        top = json.load(handle)
    return [m for child in top["manifests"] for m in manifests_under(layout, child["digest"])] if "manifests" in top else [top]


def test_the_small_preset_gets_through_a_30_percent_storm_with_defaults_in_under_3x_the_clean_time(public_proxy, small_image_set):
    before = push(public_proxy, f"oci:{small_image_set}", "clean")
    public_proxy.storm = Storm(STORM_FRACTION, seed=11)
    stormy = push(public_proxy, f"oci:{small_image_set}", "storm")
    storm_hits, public_proxy.storm = public_proxy.storm.hits, None
    after = push(public_proxy, f"oci:{small_image_set}", "clean")
    for result in (before, stormy, after):
        assert not result.get("failed"), result.get("msg")

    assert storm_hits >= 0.2 * stormy["requests"], "the storm hardly struck"
    assert [i["digest"] for i in stormy["images"]] == [i["digest"] for i in before["images"]]
    assert stormy["bytes_copied"] == before["bytes_copied"]
    clean_seconds = (before["seconds"] + after["seconds"]) / 2  # before and after: a machine busy with something else evens out
    print(f"clean {before['seconds']} s and {after['seconds']} s, {before['requests']} requests; "
          f"30% storm {stormy['seconds']} s, {stormy['requests']} requests, {storm_hits} failed by the proxy")
    assert stormy["seconds"] < 3 * clean_seconds


def test_a_failed_patch_resumes_at_the_offset_the_registry_reports(public_proxy, image_set):
    ref, _layer = chunked_layer(image_set["path"])
    # one blob at a time: the second PATCH of the run is the second piece of the first chunked blob
    public_proxy.faults = [Fault("PATCH", "/blobs/uploads/", times=1, status=503, let_through=1)]
    result = push(public_proxy, f"oci:{image_set['path']}:{ref}", "resume", upload_chunk_size=UPLOAD_PIECE, concurrency=1, image_concurrency=1)
    assert not result.get("failed"), result.get("msg")
    assert public_proxy.faults[0].hits == 1

    failed = [n for n, (method, _path, _range) in enumerate(public_proxy.log) if method == "PATCH"][1]
    session = upload_session(public_proxy.log[failed][1])
    after = [(method, upload_session(path)) for method, path, _range in public_proxy.log[failed + 1:failed + 3]]
    assert after == [("GET", session), ("PATCH", session)], "asks where the registry's copy ends, then continues the same session"
    ranges = [content_range for method, path, content_range, _length in public_proxy.bodies if upload_session(path) == session]
    assert ranges[:3] == [f"0-{UPLOAD_PIECE - 1}", f"{UPLOAD_PIECE}-{2 * UPLOAD_PIECE - 1}", f"{UPLOAD_PIECE}-{2 * UPLOAD_PIECE - 1}"]
    assert not [r for r in ranges[1:] if r.startswith("0-")], "the upload restarted"


def upload_session(path):
    return path.split("?")[0].rsplit("/", 1)[1]


def test_an_upload_the_registry_dropped_after_a_cut_starts_a_new_session(public_proxy, image_set):
    ref = image_set["refs"][0]
    public_proxy.faults = [Fault("PUT", "/blobs/uploads/", times=1, status=502, forward_body_bytes=100)]
    result = push(public_proxy, f"oci:{image_set['path']}:{ref}", "cut", concurrency=1, image_concurrency=1)
    assert not result.get("failed"), result.get("msg")
    assert public_proxy.faults[0].hits == 1

    cut = next(n for n, (method, path, _range) in enumerate(public_proxy.log) if method == "PUT" and "/blobs/uploads/" in path)
    methods = [method for method, _path, _range in public_proxy.log[cut:cut + 4]]
    assert methods == ["PUT", "GET", "POST", "PUT"], "asks the session, finds it gone, opens a new one and sends the blob again"


def test_a_storm_that_outlasts_the_retries_says_how_long_it_tried_and_to_raise_retries(public_proxy, public_images, tmp_path):
    image = public_images[0].split("/", 1)[1]
    public_proxy.faults = [Fault("HEAD", "/manifests/", times=10**6, status=503)]
    result = run_module("image_copy", {"images": [f"{public_proxy.address}/{image}"], "destination": f"oci:{tmp_path}/layout",
                                       "retries": 1, "registries": [{"host": public_proxy.address, "insecure": True}]})
    assert result["failed"]
    attempts = public_proxy.faults[0].hits
    assert 1 < attempts <= 4, "503 is waited out, within 4 attempts per retry"
    assert "answered 503" in result["msg"] and f"{attempts} attempts over " in result["msg"] and "raise retries (now 1)" in result["msg"], result["msg"]


def test_insecure_against_a_tls_registry_says_to_drop_insecure_and_give_ca_file(testbed, image_set):
    ref = image_set["refs"][0]
    result = run_module("image_copy", {"images": [f"oci:{image_set['path']}:{ref}"], "destination": f"docker://{testbed.private_registry}/scheme",
                                       "registries": [{"host": testbed.private_registry, "username": testbed.private_user,
                                                       "password": testbed.private_password, "insecure": True}]})
    assert result["failed"]
    assert "speaks HTTPS" in result["msg"] and "drop insecure and give ca_file" in result["msg"], result["msg"]
    assert "Client sent an HTTP request" not in result["msg"]
