"""image_copy against the real registries: digest-exact, arch-safe, idempotent, fault-tolerant."""

import hashlib
import json
import os
import shutil
import subprocess
import signal
import sys
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor

import pytest

from corruption import corrupt_blob
from faulty_proxy import Fault, FaultyProxy
from module_runner import run_module
from ansible_collections.airlock.airgap.plugins.module_utils.oci import copy, endpoints, layout as layouts, manifest as manifests, transports
from ansible_collections.airlock.airgap.plugins.modules.image_copy import ARGUMENT_SPEC

pytestmark = pytest.mark.testbed


def skopeo_raw(testbed, image, *flags):
    return subprocess.run([testbed.skopeo, "inspect", "--raw", *flags, image], check=True, capture_output=True).stdout


def manifest_requests(registry_log, repository_prefix):
    """Manifest requests the registry logged for repositories under repository_prefix."""
    with open(registry_log, encoding="utf-8", errors="replace") as handle:
        return sum(1 for line in handle if f' /v2/{repository_prefix}/' in line and "/manifests/" in line and '" ' in line
                   and line.startswith("127.0.0.1 - "))


def layout_index(path):
    with open(os.path.join(path, "index.json"), encoding="utf-8") as handle:
        return json.load(handle)


def blob(path, digest):
    with open(os.path.join(path, "blobs", "sha256", digest.split(":")[1]), "rb") as handle:
        return handle.read()


def test_registry_copy_is_byte_identical_to_the_source_layout(testbed, image_set, public_images):
    index = {d["annotations"]["org.opencontainers.image.ref.name"]: d for d in layout_index(image_set["path"])["manifests"]}
    for image in public_images:
        ref_name = image.split("/", 1)[1]
        raw = skopeo_raw(testbed, f"docker://{image}", "--tls-verify=false")
        assert raw == blob(image_set["path"], index[ref_name]["digest"]), image


def test_public_to_layout_to_private_round_trip_then_noop(testbed, public_images, scratch_layout, private_registry_settings, tmp_path):
    public = {"host": testbed.public_registry, "insecure": True}
    mirror = f"mirror-{uuid.uuid4().hex[:8]}"  # the testbed may be reused: start from an empty path
    first = run_module("image_copy", {"images": public_images, "destination": f"oci:{scratch_layout}",
                                      "registries": [public], "lock_file": f"{scratch_layout}/../airlock.lock.json"})
    assert first["changed"] and not first.get("failed"), first.get("msg")
    pushed = run_module("image_copy", {"images": [f"oci:{scratch_layout}"], "destination": f"docker://{testbed.private_registry}/{mirror}",
                                       "registries": [private_registry_settings]})
    assert pushed["changed"] and not pushed.get("failed"), pushed.get("msg")
    bundled = {i["destination"].rsplit("/", 1)[1]: i["digest"] for i in first["images"]}
    mirrored = {i["destination"].rsplit("/", 1)[1]: i["digest"] for i in pushed["images"]}
    assert bundled == mirrored and len(mirrored) == len(public_images)
    assert all(i["destination"].startswith(f"{testbed.private_registry}/{mirror}/bench/img") for i in pushed["images"])
    # skopeo, with the generated CA, sees the same digests in the private registry
    image = pushed["images"][0]["destination"]
    cert_dir = tmp_path / "certs"  # skopeo reads every *.crt and *.key in it: the CA alone
    cert_dir.mkdir()
    shutil.copy(testbed.private_ca, cert_dir / "ca.crt")
    raw = skopeo_raw(testbed, f"docker://{image}", "--cert-dir", str(cert_dir),
                     "--creds", f"{testbed.private_user}:{testbed.private_password}")
    assert "sha256:" + hashlib.sha256(raw).hexdigest() == pushed["images"][0]["digest"]

    log = os.path.join(testbed.state_dir, "private-registry", "registry.log")
    before = manifest_requests(log, mirror)
    again = run_module("image_copy", {"images": [f"oci:{scratch_layout}"], "destination": f"docker://{testbed.private_registry}/{mirror}",
                                      "registries": [private_registry_settings]})
    assert again["changed"] is False
    assert again["bytes_copied"] == 0
    # the no-op costs exactly one manifest request per image at the destination, and one ping
    assert manifest_requests(log, mirror) - before == len(pushed["images"])
    assert again["requests"] == len(pushed["images"]) + 1

    with open(f"{scratch_layout}/../airlock.lock.json", encoding="utf-8") as handle:
        lock = json.load(handle)
    assert sorted(e["digest"] for e in lock["images"]) == sorted(i["digest"] for i in first["images"])


def test_layout_stores_shared_blobs_once(testbed, public_images, scratch_layout, tmp_path):
    progress_file = tmp_path / "images.progress.json"
    result = run_module("image_copy", {"images": public_images, "destination": f"oci:{scratch_layout}", "progress_file": str(progress_file),
                                       "registries": [{"host": testbed.public_registry, "insecure": True}]})
    blobs_dir = os.path.join(scratch_layout, "blobs", "sha256")
    on_disk = sum(os.path.getsize(os.path.join(blobs_dir, name)) for name in os.listdir(blobs_dir))
    referenced = result["bytes_copied"] + result["bytes_skipped"]
    assert result["bytes_skipped"] > 0, "the image set shares layers; some must have been found in place"
    assert on_disk < referenced + 64 * 1024 * len(public_images)  # manifests and configs only on top
    assert not [n for n in os.listdir(blobs_dir) if n.startswith(".")], "no temporary files left behind"
    progress = json.loads(progress_file.read_text())
    assert progress["unsized"] == 0 and progress["bytes_done"] == progress["bytes_total"], progress
    assert result["bytes_copied"] <= progress["bytes_total"] < referenced, "every shared blob counts once in the progress"


def test_platform_subset_records_both_digests_and_copies_only_that_platform(testbed, public_images, scratch_layout):
    multiarch = [i for i in public_images if json.loads(skopeo_raw(testbed, f"docker://{i}", "--tls-verify=false")).get("manifests")]
    assert multiarch, "the image set has multi-arch images"
    result = run_module("image_copy", {"images": multiarch[:1], "destination": f"oci:{scratch_layout}", "platforms": ["linux/arm64"],
                                       "registries": [{"host": testbed.public_registry, "insecure": True}]})
    image = result["images"][0]
    assert image["platforms"] == ["linux/arm64/v8"]
    assert image["source_digest"] != image["digest"]
    written = json.loads(blob(scratch_layout, image["digest"]))
    assert [m["platform"]["architecture"] for m in written["manifests"]] == ["arm64"]
    again = run_module("image_copy", {"images": multiarch[:1], "destination": f"oci:{scratch_layout}", "platforms": ["linux/arm64"],
                                      "registries": [{"host": testbed.public_registry, "insecure": True}]})
    assert again["changed"] is False


def test_a_platform_the_source_lacks_is_an_error_listing_what_it_has(testbed, public_images, scratch_layout):
    result = run_module("image_copy", {"images": public_images[:1], "destination": f"oci:{scratch_layout}", "platforms": ["linux/s390x"],
                                       "registries": [{"host": testbed.public_registry, "insecure": True}]})
    assert result["failed"]
    assert "no linux/s390x image" in result["msg"] or "not linux/s390x" in result["msg"]
    assert "linux/amd64" in result["msg"]


def registry_writes(testbed, repository_prefix):
    """Requests that would change something (POST, PUT, PATCH, DELETE) the public registry logged under repository_prefix."""
    with open(os.path.join(testbed.state_dir, "public-registry", "registry.log"), encoding="utf-8", errors="replace") as handle:
        return [line for line in handle if any(f'"{method} /v2/{repository_prefix}/' in line for method in ("POST", "PUT", "PATCH", "DELETE"))]


def test_check_mode_writes_nothing_anywhere_even_when_a_source_fails(testbed, image_set, public_images, tmp_path):
    fresh = tmp_path / "fresh"
    fresh.mkdir()
    public = [{"host": testbed.public_registry, "insecure": True}]
    into_layout = {"images": public_images, "destination": f"oci:{fresh}/bundle/images", "lock_file": f"{fresh}/bundle/airlock.lock.json",
                   "registries": public, "progress_file": f"{fresh}/images.progress.json"}
    planned = run_module("image_copy", into_layout, check_mode=True)
    assert planned["changed"] and planned["bytes_copied"] > 0 and not planned.get("failed"), planned.get("msg")
    missing = public_images[0].rsplit(":", 1)[0] + ":no-such-tag"
    failing = run_module("image_copy", dict(into_layout, images=[missing]), check_mode=True)
    assert failing["failed"] and "no-such-tag" in failing["msg"]
    archived = run_module("image_copy", {"images": [f"oci:{image_set['path']}"], "destination": f"docker-archive:{fresh}/images.tar",
                                         "platforms": ["linux/amd64"]}, check_mode=True)
    assert archived["changed"] and not archived.get("failed"), archived.get("msg")
    prefix = f"check-{uuid.uuid4().hex[:8]}"
    pushed = run_module("image_copy", {"images": public_images, "destination": f"docker://{testbed.public_registry}/{prefix}",
                                       "registries": public}, check_mode=True)
    assert pushed["changed"] and not pushed.get("failed"), pushed.get("msg")
    assert not list(fresh.iterdir()), "check mode wrote to disk"
    assert not registry_writes(testbed, prefix), "check mode wrote to the registry"


def test_unknown_tag_names_the_image(testbed, public_images, scratch_layout):
    missing = public_images[0].rsplit(":", 1)[0] + ":no-such-tag"
    result = run_module("image_copy", {"images": [missing], "destination": f"oci:{scratch_layout}",
                                       "registries": [{"host": testbed.public_registry, "insecure": True}]})
    assert result["failed"] and "no-such-tag" in result["msg"] and "not found" in result["msg"]


def test_wrong_password_fails_clearly_and_never_shows_the_secret(testbed, scratch_layout, image_set):
    secret = "wrong-password-ABC123"
    result = run_module("image_copy", {"images": [f"oci:{image_set['path']}:{image_set['refs'][0]}"],
                                       "destination": f"docker://{testbed.private_registry}/mirror",
                                       "registries": [{"host": testbed.private_registry, "username": testbed.private_user,
                                                       "password": secret, "ca_file": testbed.private_ca}]})
    assert result["failed"]
    assert "refused the credentials" in result["msg"]
    assert secret not in result["_stdout"] + result["_stderr"]


def test_tls_without_the_ca_fails_with_the_fix(testbed, image_set, private_registry_settings):
    settings = dict(private_registry_settings, ca_file=None)
    result = run_module("image_copy", {"images": [f"oci:{image_set['path']}:{image_set['refs'][0]}"],
                                       "destination": f"docker://{testbed.private_registry}/mirror", "registries": [settings]})
    assert result["failed"] and "TLS verification" in result["msg"] and "ca_file" in result["msg"]


def test_corrupted_source_blob_commits_nothing(testbed, image_set, tmp_path):
    corrupt = tmp_path / "corrupt"
    subprocess.run(["cp", "-r", image_set["path"], str(corrupt)], check=True)
    ref = image_set["refs"][0]
    layer = image_manifests(str(corrupt), ref)[0]["layers"][-1]["digest"]
    corrupt_blob(corrupt, layer)
    target = f"{testbed.public_registry}/corrupt/test:v1"
    result = run_module("image_copy", {"images": [{"source": f"oci:{corrupt}:{ref}", "destination": f"docker://{target}"}],
                                       "registries": [{"host": testbed.public_registry, "insecure": True}]})
    assert result["failed"] and layer in result["msg"] and "corrupted" in result["msg"]
    head = subprocess.run(["curl", "-s", "-o", "/dev/null", "-w", "%{http_code}", "-I",
                           f"http://{testbed.public_registry}/v2/corrupt/test/blobs/{layer}"], capture_output=True, text=True, check=False)
    assert head.stdout == "404"


def test_registry_errors_are_retried_then_bounded(testbed, public_images, scratch_layout):
    host, port = testbed.public_registry.split(":")
    with FaultyProxy(host, int(port)) as proxy:
        image = public_images[0].replace(testbed.public_registry, proxy.address)
        proxy.faults = [Fault("GET", r"/manifests/", times=2, status=503), Fault("GET", r"/blobs/", times=1, status=429, retry_after="1")]
        result = run_module("image_copy", {"images": [image], "destination": f"oci:{scratch_layout}",
                                           "registries": [{"host": proxy.address, "insecure": True}]})
        assert not result.get("failed"), result.get("msg")
        assert all(f.hits == f.times for f in proxy.faults)

        proxy.faults = [Fault("HEAD", r"/manifests/", times=10**6, status=500)]
        failed = run_module("image_copy", {"images": [image], "destination": f"oci:{scratch_layout}-other",
                                           "retries": 3, "registries": [{"host": proxy.address, "insecure": True}]})
        assert failed["failed"] and "500" in failed["msg"]
        assert proxy.faults[0].hits == 3


def image_manifests(layout_path, ref=None):
    """The platform manifests of the image named ref in the layout (of every image without ref)."""
    entries = [d for d in layout_index(layout_path)["manifests"]
               if ref is None or d.get("annotations", {}).get("org.opencontainers.image.ref.name") == ref]
    manifests = []
    for entry in entries:
        top = json.loads(blob(layout_path, entry["digest"]))
        manifests += [json.loads(blob(layout_path, m["digest"])) for m in top["manifests"]] if "manifests" in top else [top]
    return manifests


def largest_layer(layout_path, refs):
    """(ref, digest, size) of the biggest layer blob in the layout, to cut its download."""
    best = (None, None, 0)
    for ref in refs:
        for manifest in image_manifests(layout_path, ref):
            for layer in manifest["layers"]:
                if layer["size"] > best[2]:
                    best = (ref, layer["digest"], layer["size"])
    return best


def test_cut_off_blob_download_resumes_with_range(testbed, image_set, public_images, scratch_layout):
    ref, layer, size = largest_layer(image_set["path"], image_set["refs"])
    cut = 2 * 65536
    assert size > 2 * cut, "the tiny set needs a layer big enough to cut midway"
    host, port = testbed.public_registry.split(":")
    with FaultyProxy(host, int(port)) as proxy:
        image = f"{proxy.address}/{ref}"
        proxy.faults = [Fault("GET", layer, times=1, cut_after_bytes=cut)]
        result = run_module("image_copy", {"images": [image], "destination": f"oci:{scratch_layout}", "concurrency": 1,
                                           "registries": [{"host": proxy.address, "insecure": True}]})
        assert not result.get("failed"), result.get("msg")
        fetches = [byte_range for method, path, byte_range in proxy.log if method == "GET" and layer in path]
        assert fetches == [None, f"bytes={cut}-"]
    assert os.path.getsize(os.path.join(scratch_layout, "blobs", "sha256", layer.split(":")[1])) == size


def test_two_copies_into_one_layout_keep_every_index_entry(testbed, public_images, scratch_layout):
    halves = [public_images[0::2], public_images[1::2]]
    results = [None, None]

    def copy(position):
        results[position] = run_module("image_copy", {"images": halves[position], "destination": f"oci:{scratch_layout}",
                                                      "registries": [{"host": testbed.public_registry, "insecure": True}]})

    threads = [threading.Thread(target=copy, args=(n,)) for n in (0, 1)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert all(not r.get("failed") for r in results), [r.get("msg") for r in results]
    names = [d["annotations"]["org.opencontainers.image.ref.name"] for d in layout_index(scratch_layout)["manifests"]]
    assert sorted(names) == sorted(public_images)


def test_copy_within_one_registry_mounts_blobs_instead_of_moving_them(testbed, public_images):
    target = f"docker://{testbed.public_registry}/mounted-{uuid.uuid4().hex[:8]}"
    result = run_module("image_copy", {"images": public_images[:1], "destination": target,
                                       "registries": [{"host": testbed.public_registry, "insecure": True}]})
    assert not result.get("failed"), result.get("msg")
    image = result["images"][0]
    assert image["blobs_mounted"] > 0 and image["blobs_copied"] == 0 and image["bytes_copied"] == 0
    assert skopeo_raw(testbed, f"docker://{image['destination']}", "--tls-verify=false") == \
        skopeo_raw(testbed, f"docker://{public_images[0]}", "--tls-verify=false")


def test_big_blobs_are_uploaded_in_chunks_that_stay_under_the_limit(testbed, image_set):
    ref, layer, size = largest_layer(image_set["path"], image_set["refs"])
    host, port = testbed.public_registry.split(":")
    with FaultyProxy(host, int(port)) as proxy:
        target = f"{proxy.address}/chunked-{uuid.uuid4().hex[:8]}/image:v1"
        result = run_module("image_copy", {"images": [{"source": f"oci:{image_set['path']}:{ref}", "destination": f"docker://{target}"}],
                                           "upload_chunk_size": 65536, "registries": [{"host": proxy.address, "insecure": True}]})
        assert not result.get("failed"), result.get("msg")
        patches = [path for method, path, _range in proxy.log if method == "PATCH"]
        assert len(patches) >= size // 65536
    pulled = subprocess.run(["curl", "-sf", f"http://{testbed.public_registry}/v2/{target.split('/', 1)[1].rsplit(':', 1)[0]}/blobs/{layer}"],
                            capture_output=True, check=True).stdout
    assert hashlib.sha256(pulled).hexdigest() == layer.split(":")[1]


def test_cosign_style_signature_tags_travel_with_the_image(testbed, public_images, scratch_layout):
    from distribution import Registry  # pylint: disable=import-outside-toplevel
    from tiny_image import build  # pylint: disable=import-outside-toplevel

    image = public_images[1]
    repository = image.split("/", 1)[1].rsplit(":", 1)[0]
    raw = skopeo_raw(testbed, f"docker://{image}", "--tls-verify=false")
    signature_tag = f"sha256-{hashlib.sha256(raw).hexdigest()}.sig"
    signature = build(f"signature of {image}\n")
    Registry(testbed.public_registry).push_image(repository, signature_tag, signature)

    settings = [{"host": testbed.public_registry, "insecure": True}]
    result = run_module("image_copy", {"images": [image], "destination": f"oci:{scratch_layout}", "include_signatures": True,
                                       "registries": settings})
    assert not result.get("failed"), result.get("msg")
    assert result["images"][0]["signatures"] == [{"tag": signature_tag, "digest": signature.manifest_digest, "changed": True}]
    names = [d["annotations"]["org.opencontainers.image.ref.name"] for d in layout_index(scratch_layout)["manifests"]]
    assert f"{testbed.public_registry}/{repository}:{signature_tag}" in names

    again = run_module("image_copy", {"images": [image], "destination": f"oci:{scratch_layout}", "include_signatures": True,
                                      "registries": settings})
    assert again["changed"] is False


def referenced_blob_bytes(layout_path, ref=None):
    """Sizes of the distinct configs and layers the image named ref (every image without ref) references."""
    return sum({d["digest"]: d["size"] for m in image_manifests(layout_path, ref) for d in [m["config"], *m["layers"]]}.values())


def test_shared_layers_cross_the_wire_once_into_a_registry(testbed, image_set, private_registry_settings):
    prefix = f"once-{uuid.uuid4().hex[:8]}"
    result = run_module("image_copy", {"images": [f"oci:{image_set['path']}"], "destination": f"docker://{testbed.private_registry}/{prefix}",
                                       "registries": [private_registry_settings]})
    assert not result.get("failed"), result.get("msg")
    # every image is its own repository; a blob shared between them is uploaded once, then mounted
    assert result["bytes_copied"] == referenced_blob_bytes(image_set["path"])
    assert sum(i["blobs_mounted"] for i in result["images"]) > 0


def test_bearer_token_registries_get_a_token_per_scope(testbed, public_images, scratch_layout):
    host, port = testbed.public_registry.split(":")
    with FaultyProxy(host, int(port), bearer=("robot", "token-secret")) as proxy:
        images = [image.replace(testbed.public_registry, proxy.address) for image in public_images[:2]]
        settings = [{"host": proxy.address, "insecure": True, "username": "robot", "password": "token-secret"}]
        result = run_module("image_copy", {"images": images, "destination": f"oci:{scratch_layout}", "registries": settings})
        assert not result.get("failed"), result.get("msg")
        scopes = sorted(scope[0] for _service, scope, _ok in proxy.token_requests)
        assert scopes == sorted(f"repository:{i.split('/', 1)[1].rsplit(':', 1)[0]}:pull" for i in images)
        assert all(ok for _service, _scope, ok in proxy.token_requests)

        refused = run_module("image_copy", {"images": images[:1], "destination": f"oci:{scratch_layout}-2",
                                            "registries": [dict(settings[0], password="wrong-token-secret")]})
        assert refused["failed"] and "refused the credentials" in refused["msg"]
        assert "wrong-token-secret" not in refused["_stdout"] + refused["_stderr"]


def test_docker_archive_destination_loads_in_dockerd_and_is_idempotent(testbed, image_set, tmp_path):
    import docker  # pylint: disable=import-outside-toplevel

    archive_path = tmp_path / "images.tar"
    arguments = {"images": [f"oci:{image_set['path']}"], "destination": f"docker-archive:{archive_path}", "platforms": ["linux/amd64"]}
    first = run_module("image_copy", arguments)
    assert first["changed"] and not first.get("failed"), first.get("msg")
    assert first["archive"]["images"] == len(image_set["refs"])
    mtime = archive_path.stat().st_mtime_ns
    again = run_module("image_copy", arguments)
    assert again["changed"] is False and archive_path.stat().st_mtime_ns == mtime

    client = docker.DockerClient(base_url=testbed.docker_host, timeout=120)
    try:
        with open(archive_path, "rb") as handle:
            loaded = client.images.load(handle)
        tags = sorted(tag for image in loaded for tag in image.tags)
        assert tags == sorted(image_set["refs"])
        for tag in tags:
            client.images.remove(tag)
    finally:
        client.close()

    both = run_module("image_copy", dict(arguments, platforms=["linux/amd64", "linux/arm64"]))
    assert both["failed"] and "one platform" in both["msg"]


def test_docker_archive_source_copies_into_a_layout(image_set, tmp_path):
    archive_path = tmp_path / "one.tar"
    ref = image_set["refs"][0]
    written = run_module("image_copy", {"images": [f"oci:{image_set['path']}:{ref}"], "destination": f"docker-archive:{archive_path}",
                                        "platforms": ["linux/arm64"]})
    assert not written.get("failed"), written.get("msg")
    layout = tmp_path / "from-archive"
    result = run_module("image_copy", {"images": [f"docker-archive:{archive_path}"], "destination": f"oci:{layout}"})
    assert not result.get("failed"), result.get("msg")
    assert result["images"][0]["platforms"] == ["linux/arm64/v8"]
    assert [d["annotations"]["org.opencontainers.image.ref.name"] for d in layout_index(str(layout))["manifests"]] == [f"docker.io/{ref}"]


def test_a_copy_killed_midway_is_completed_by_a_rerun_that_moves_only_what_is_missing(testbed, image_set, public_images, tmp_path):
    ref, layer, size = largest_layer(image_set["path"], image_set["refs"])
    public = {"host": testbed.public_registry, "insecure": True}
    host, port = testbed.public_registry.split(":")
    layout = tmp_path / "bundle"
    with FaultyProxy(host, int(port)) as proxy:
        image = f"{proxy.address}/{ref}"
        proxy.faults = [Fault("GET", layer, times=1, delay_seconds=30)]
        args_file = tmp_path / "args.json"
        arguments = {"images": [image], "destination": f"oci:{layout}", "registries": [{"host": proxy.address, "insecure": True}]}
        args_file.write_text(json.dumps({"ANSIBLE_MODULE_ARGS": arguments}))
        argv = [sys.executable, "-m", "ansible_collections.airlock.airgap.plugins.modules.image_copy", str(args_file)]
        copying = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # pylint: disable=consider-using-with
        deadline = time.monotonic() + 30
        while proxy.faults[0].hits == 0 and time.monotonic() < deadline:
            time.sleep(0.05)
        time.sleep(0.5)  # let the other blobs land
        copying.send_signal(signal.SIGKILL)
        copying.wait(timeout=30)
    assert proxy.faults[0].hits == 1, "the copy never reached the big layer"
    assert not (layout / "blobs" / "sha256" / layer.split(":")[1]).exists()

    total = referenced_blob_bytes(image_set["path"], ref)
    rerun = run_module("image_copy", {"images": [f"{testbed.public_registry}/{ref}"], "destination": f"oci:{layout}", "registries": [public]})
    assert not rerun.get("failed"), rerun.get("msg")
    assert 0 < rerun["bytes_copied"] < total and rerun["bytes_skipped"] > 0
    assert (layout / "blobs" / "sha256" / layer.split(":")[1]).stat().st_size == size
    assert not [n for n in os.listdir(layout / "blobs" / "sha256") if n.startswith(".partial-")], "a killed writer's temporary stayed"


def test_skopeo_reads_the_layout_we_write(testbed, public_images, scratch_layout, tmp_path):
    result = run_module("image_copy", {"images": public_images[:2], "destination": f"oci:{scratch_layout}",
                                       "registries": [{"host": testbed.public_registry, "insecure": True}]})
    assert not result.get("failed"), result.get("msg")
    for image in result["images"]:
        name = image["destination"].split(":", 2)[2]
        raw = skopeo_raw(testbed, f"oci:{scratch_layout}:{name}")
        assert "sha256:" + hashlib.sha256(raw).hexdigest() == image["digest"]
        subprocess.run([testbed.skopeo, "--insecure-policy", "copy", "-q", "--all", f"oci:{scratch_layout}:{name}",
                        f"oci:{tmp_path / 'skopeo-copy'}:x"], check=True, capture_output=True)


def test_a_malformed_platform_is_refused_before_anything_moves(image_set, scratch_layout):
    result = run_module("image_copy", {"images": [f"oci:{image_set['path']}"], "destination": f"oci:{scratch_layout}", "platforms": ["linux"]})
    assert result["failed"] and "os/architecture" in result["msg"]
    assert not os.path.exists(os.path.join(scratch_layout, "index.json"))


def test_two_images_that_would_land_on_one_name_are_refused(testbed, public_images, image_set, scratch_layout):
    same_path = f"oci:{image_set['path']}:{image_set['refs'][0]}"  # docker.io/bench/img00:v1 vs <public>/bench/img00:v1
    result = run_module("image_copy", {"images": [public_images[0], same_path], "destination": f"docker://{testbed.private_registry}/mirror",
                                       "registries": [{"host": testbed.public_registry, "insecure": True}]})
    assert result["failed"] and "would both be copied to" in result["msg"]


def test_oci_referrers_travel_with_the_image_into_a_layout_and_on(testbed, public_images, scratch_layout, private_registry_settings):
    from distribution import Registry  # pylint: disable=import-outside-toplevel
    from tiny_image import build  # pylint: disable=import-outside-toplevel

    image = public_images[2]
    repository = image.split("/", 1)[1].rsplit(":", 1)[0]
    subject = "sha256:" + hashlib.sha256(skopeo_raw(testbed, f"docker://{image}", "--tls-verify=false")).hexdigest()
    sbom = build(f"sbom of {image}\n")
    manifest = dict(json.loads(sbom.manifest), artifactType="application/spdx+json",
                    subject={"mediaType": "application/vnd.oci.image.index.v1+json", "digest": subject, "size": 1})
    raw = json.dumps(manifest, sort_keys=True).encode()
    registry = Registry(testbed.public_registry)
    registry.push_blob(repository, sbom.config_digest, sbom.config)
    registry.push_blob(repository, "sha256:" + hashlib.sha256(sbom.layer_gzip).hexdigest(), sbom.layer_gzip)
    digest = "sha256:" + hashlib.sha256(raw).hexdigest()
    registry.put_manifest(repository, digest, raw, "application/vnd.oci.image.manifest.v1+json")

    host, port = testbed.public_registry.split(":")
    with FaultyProxy(host, int(port)) as proxy:  # registry 2.8 has no referrers API: the proxy answers it
        proxy.referrers = {subject: [{"mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": digest, "size": len(raw),
                                      "artifactType": "application/spdx+json"}]}
        through = image.replace(testbed.public_registry, proxy.address)
        settings = [{"host": proxy.address, "insecure": True}]
        result = run_module("image_copy", {"images": [through], "destination": f"oci:{scratch_layout}", "include_signatures": True,
                                           "registries": settings})
        assert not result.get("failed"), result.get("msg")
        assert result["images"][0]["signatures"] == [{"referrer": digest, "artifact_type": "application/spdx+json", "changed": True}]
        entries = [d for d in layout_index(scratch_layout)["manifests"] if d["digest"] == digest]
        assert entries and entries[0]["annotations"] == {"io.airlock.referrer.of": subject}
        again = run_module("image_copy", {"images": [through], "destination": f"oci:{scratch_layout}", "include_signatures": True,
                                          "registries": settings})
        assert again["changed"] is False

    mirror = f"ref-{uuid.uuid4().hex[:8]}"
    pushed = run_module("image_copy", {"images": [f"oci:{scratch_layout}"], "destination": f"docker://{testbed.private_registry}/{mirror}",
                                       "include_signatures": True, "registries": [private_registry_settings]})
    assert not pushed.get("failed"), pushed.get("msg")
    assert pushed["images"][0]["signatures"][0]["referrer"] == digest
    head = subprocess.run(["curl", "-s", "-o", "/dev/null", "-w", "%{http_code}", "-I", "--cacert", testbed.private_ca,
                           "-u", f"{testbed.private_user}:{testbed.private_password}", "-H", "Accept: application/vnd.oci.image.manifest.v1+json",
                           f"https://{testbed.private_registry}/v2/{mirror}/{repository}/manifests/{digest}"],
                          capture_output=True, text=True, check=False)
    assert head.stdout == "200"


def test_the_lock_records_the_images_committed_when_another_fails(testbed, public_images, scratch_layout, tmp_path):
    missing = f"{testbed.public_registry}/bench/no-such-image:v1"
    lock_path = tmp_path / "airlock.lock.json"
    result = run_module("image_copy", {"images": [public_images[0], missing, public_images[1]], "destination": f"oci:{scratch_layout}",
                                       "lock_file": str(lock_path), "registries": [{"host": testbed.public_registry, "insecure": True}]})
    assert result["failed"] and result["msg"].startswith("1 of 3 images failed") and missing in result["msg"]
    assert result["lock_file"] == str(lock_path)
    committed = {f"oci:{scratch_layout}:{d['annotations']['org.opencontainers.image.ref.name']}": d["digest"]
                 for d in layout_index(scratch_layout)["manifests"]}
    locked = {entry["destination"]: entry["digest"] for entry in json.loads(lock_path.read_text())["images"]}
    assert locked == committed and len(locked) == 2


def layer_users(layout_path, refs):
    """layer digest -> the refs whose images use it."""
    users = {}
    for ref in refs:
        for manifest in image_manifests(layout_path, ref):
            for layer in manifest["layers"]:
                users.setdefault(layer["digest"], set()).add(ref)
    return users


def test_a_corrupt_blob_shared_by_several_images_is_reported_under_each_of_them(image_set, tmp_path):
    corrupt = tmp_path / "corrupt"
    shutil.copytree(image_set["path"], corrupt)
    layer, sharers = next((digest, refs) for digest, refs in layer_users(str(corrupt), image_set["refs"]).items() if len(refs) > 1)
    corrupt_blob(corrupt, layer)
    result = run_module("image_copy", {"images": [f"oci:{corrupt}"], "destination": f"oci:{tmp_path / 'copy'}"})
    assert result["failed"]
    reported = dict(line.split(": ", 1) for line in result["msg"].split(" images failed: ", 1)[1].split(" | "))
    assert {f"oci:{corrupt}:{ref}" for ref in sharers} <= set(reported)
    for source, error in reported.items():
        assert layer in error and "corrupted" in error
        assert not [ref for ref in image_set["refs"] if ref in error], f"{source} is reported with another image's name: {error}"


def test_a_bug_in_the_engine_is_raised_with_its_traceback_not_reported_as_an_image_failure(testbed, public_images, tmp_path):
    class Buggy(endpoints.RegistryEndpoint):
        def root_manifest(self):
            return {}["a programming error"]

    clients = transports.Clients({testbed.public_registry: transports.RegistrySettings(insecure=True)})
    (source, reference), = transports.expand_source(public_images[0], clients)
    destination = transports.destination_for(f"oci:{tmp_path / 'layout'}", reference, clients)
    copier = copy.Copier()
    try:
        with pytest.raises(KeyError, match="a programming error"):
            copy.copy_many(copier, [(Buggy(source.client, source.reference), destination, None)])
    finally:
        copier.close()


@pytest.mark.parametrize("entries, expected", [
    ([None], "images[0] must be a source string"),
    ([42], "not a number (42)"),
    ([True], "not a boolean (True)"),
    ([[]], "not a list ([])"),
    ([{}], "images[0] has no source"),
    ([{"destination": "oci:/tmp/x"}], "images[0] has no source"),
    ([{"source": "redis", "destination": 7}], "images[0].destination must be a destination string"),
    ([{"source": "redis", "destination": ""}], "images[0].destination must be a destination string"),
    (["redis", {"source": "redis", "tag": "v1"}], "images[1] has the unknown keys tag"),
    (["redis", ""], "images[1] must be a source string"),
    (["redis\x00"], "images[0] contains the control character U+0000"),
])
def test_a_malformed_images_entry_is_refused_by_position_without_a_traceback(entries, expected, tmp_path):
    result = run_module("image_copy", {"images": entries, "destination": f"oci:{tmp_path / 'layout'}"})
    assert result["failed"] and expected in result["msg"], result["msg"]
    assert "Traceback" not in result["_stderr"]
    assert not list(tmp_path.iterdir())


def test_locations_without_a_path_name_the_form_they_take(image_set, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # without the check, an empty path is the working directory
    source = f"oci:{image_set['path']}:{image_set['refs'][0]}"
    archive_form = "the docker-archive transport needs a file path: docker-archive:/path/file.tar[:NAME]"
    cases = [
        ({"images": [source], "destination": "docker-archive:", "platforms": ["linux/amd64"]}, archive_form),
        ({"images": [source], "destination": f"docker-archive:{tmp_path}", "platforms": ["linux/amd64"]}, f"{tmp_path} is a directory"),
        ({"images": ["docker-archive:"], "destination": f"oci:{tmp_path}/layout"}, archive_form),
        ({"images": [f"docker-archive:{tmp_path}"], "destination": f"oci:{tmp_path}/layout"}, archive_form),
        ({"images": [source], "destination": "oci:"}, "the oci transport needs one, oci:/path/layout[:NAME]"),
        ({"images": ["oci:"], "destination": f"oci:{tmp_path}/layout"}, "the oci transport needs one, oci:/path/layout[:NAME]"),
    ]
    for arguments, expected in cases:
        result = run_module("image_copy", arguments)
        assert result["failed"] and expected in result["msg"], (arguments, result["msg"])
    assert not list(tmp_path.iterdir())


HOSTILE_STRINGS = [None, 42, "", "x" * 100000, "ünïcödé ☃", "a\x00b", "\x1b[31mred"]
HOSTILE_VALUES = {"int": [0, 10**30, "ünïcödé ☃"], "bool": ["ünïcödé ☃", []]}  # wrong types of int and bool are Ansible's to refuse
# Ansible's own words for a string where a list of dictionaries goes: they name neither the option nor the value.
ANSIBLE_DICT_ERROR = "dictionary requested, could not parse JSON or key=value"


def fuzzed_arguments(base):
    """(option, value, arguments): each option, and each key of the list-of-dictionary ones, set to each hostile value."""
    for option, spec in sorted(ARGUMENT_SPEC.items()):
        for value in HOSTILE_VALUES.get(spec["type"], HOSTILE_STRINGS):
            yield option, value, dict(base, **{option: value})
    nested = {"images": {"source": base["images"][0], "destination": base["destination"]}, "registries": {"host": "registry.example:5000"}}
    for option, entry in nested.items():
        for key in entry:
            for value in HOSTILE_STRINGS:
                yield f"{option}[0].{key}", value, dict(base, **{option: [dict(entry, **{key: value})]})


def test_fuzzed_options_fail_with_a_short_message_naming_them_never_a_traceback(image_set, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # where a fuzzed relative path lands
    base = {"images": [f"oci:{image_set['path']}:{image_set['refs'][0]}"], "destination": f"oci:{tmp_path}/layout", "retries": 1,
            "lock_file": f"{tmp_path}/airlock.lock.json", "platforms": ["linux/amd64"]}
    cases = list(fuzzed_arguments(base))
    with ThreadPoolExecutor(max_workers=4) as pool:
        results = list(pool.map(lambda case: run_module("image_copy", case[2], timeout=120), cases))  # no JSON (a traceback) fails here
    unclear = []
    for (option, value, _arguments), result in zip(cases, results):
        label = f"{option}={value!r:.40}"
        assert "Traceback" not in result["_stderr"] and "exception" not in result, label
        msg = result.get("msg", "")
        named = option.split(".")[-1] in msg or str(value)[:20] in msg or msg == ANSIBLE_DICT_ERROR
        if result.get("failed") and (len(msg) > 600 or not named):
            unclear.append(f"{label}: {msg[:300]}")
    assert not unclear, "\n".join(unclear)


def test_a_blob_deleted_from_a_layout_is_copied_again_by_the_next_run(image_set, tmp_path):
    arguments = {"images": [f"oci:{image_set['path']}"], "destination": f"oci:{tmp_path / 'layout'}"}
    assert not run_module("image_copy", arguments).get("failed")
    layer, (owner,) = next((digest, refs) for digest, refs in layer_users(image_set["path"], image_set["refs"]).items() if len(refs) == 1)
    deleted = tmp_path / "layout" / "blobs" / "sha256" / layer.split(":")[1]
    deleted.unlink()
    repaired = run_module("image_copy", arguments)
    assert repaired["changed"] and not repaired.get("failed"), repaired.get("msg")
    assert [image["source"] for image in repaired["images"] if image["changed"]] == [f"oci:{image_set['path']}:{owner}"]
    assert deleted.exists()
    assert run_module("image_copy", arguments)["changed"] is False


def test_an_index_inside_an_index_is_refused_by_name_not_with_a_traceback(tmp_path):
    layout = layouts.Layout(str(tmp_path / "nested"), create=True)
    index_type = "application/vnd.oci.image.index.v1+json"

    def index_of(children):
        raw = json.dumps({"schemaVersion": 2, "mediaType": index_type, "manifests": children}).encode()
        return manifests.Manifest(raw, index_type, "sha256:" + hashlib.sha256(raw).hexdigest())

    inner = index_of([])
    outer = index_of([{"mediaType": index_type, "digest": inner.digest, "size": len(inner.raw)}])
    for item in (inner, outer):
        layout.write_manifest(item)
    layout.tag(outer, "docker.io/library/nested:1")
    result = run_module("image_copy", {"images": [f"oci:{tmp_path / 'nested'}"], "destination": f"oci:{tmp_path / 'copy'}"})
    assert result["failed"] and "an index inside an index" in result["msg"] and inner.digest in result["msg"], result["msg"]
