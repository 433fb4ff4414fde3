"""mirror_overrides and the image_mirror filter: every image of the fixtures moved to the mirror, proven by rendering."""

import json
import os
import shutil
import subprocess
import sys

import pytest
import yaml

from module_runner import run_module

from ansible_collections.airlock.airgap.plugins.module_utils.oci import reference

pytestmark = pytest.mark.testbed

FIXTURES = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "fixtures", "inventory")
PLATFORM = os.path.join(FIXTURES, "charts", "platform")
NIM = os.path.join(FIXTURES, "charts", "nim")
COMPOSE = os.path.join(FIXTURES, "compose")
MIRROR = "registry.enclave:5000"
NIM_IMAGE = "nvcr.io/nim/meta/llama3-8b-instruct:1.0.3-amd64-full"


def render(testbed, chart, *values_files, api_versions=("acme.io/v1",)):
    argv = [testbed.helm, "template", "release", chart, "--include-crds"]
    for version in api_versions:
        argv += ["--api-versions", version]
    for path in values_files:
        argv += ["--values", str(path)]
    return subprocess.run(argv, capture_output=True, text=True, check=True, timeout=120).stdout


def inventory_of(tmp_path, rendered):
    (tmp_path / "rendered.yaml").write_text(rendered)
    result = run_module("image_inventory", {"manifests": [str(tmp_path / "rendered.yaml")]})
    assert not result.get("failed"), result.get("msg")
    return [e["image"] for e in result["images"] + result["indirect"]]


def fake_digest(image):
    return "sha256:" + format(abs(hash(image)) % (16 ** 64), "064x")


def test_platform_override_moves_every_image_and_is_idempotent(testbed, tmp_path):
    before = inventory_of(tmp_path, render(testbed, PLATFORM))
    override = tmp_path / "values.airgap.yaml"
    args = {"registry": MIRROR, "prefix": "mirror", "pull_secrets": ["mirror-pull"], "helm_binary": testbed.helm,
            "charts": [{"chart": PLATFORM, "override": str(override)}]}
    checked = run_module("mirror_overrides", args, check_mode=True)
    assert checked["changed"] and not override.exists() and checked["overrides"][0]["unmapped"] == []
    result = run_module("mirror_overrides", args)
    assert not result.get("failed"), result.get("msg")
    assert result["changed"] and result["overrides"][0]["unmapped"] == []
    values = yaml.safe_load(override.read_text())
    assert values["image"] == {"registry": MIRROR, "repository": "mirror/acme/api", "pullPolicy": "IfNotPresent"}
    assert values["imagePullSecrets"] == [{"name": "mirror-pull"}]
    after = inventory_of(tmp_path, render(testbed, PLATFORM, override))
    assert len(after) == len(before) == 11
    assert sorted(after) == sorted(f"{MIRROR}/mirror/{reference.parse(i).repository}" + i[len(reference.parse(i).name):] for i in before)
    assert run_module("mirror_overrides", args)["changed"] is False


def test_pin_by_digest_through_split_values_and_strings(testbed, tmp_path):
    before = inventory_of(tmp_path, render(testbed, PLATFORM))
    lock = tmp_path / "airlock.lock.json"
    lock.write_text(json.dumps({"version": 1, "images": [], "inventory": {"images": [
        {"image": image, "digest": fake_digest(image), "confidence": "direct"} for image in before]}}))
    override = tmp_path / "pinned.yaml"
    result = run_module("mirror_overrides", {"registry": MIRROR, "pin": "digest", "lock_file": str(lock), "helm_binary": testbed.helm,
                                             "charts": [{"chart": PLATFORM, "override": str(override)}]})
    assert not result.get("failed"), result.get("msg")
    after = inventory_of(tmp_path, render(testbed, PLATFORM, override))
    assert all("@sha256:" in image and image.startswith(MIRROR + "/") for image in after), after
    assert f"{MIRROR}/acme/api:2.3.1@{fake_digest('quay.io/acme/api:2.3.1')}" in after


def test_a_tag_assembled_from_three_values(testbed, tmp_path):
    override = tmp_path / "nim.yaml"
    chart = {"chart": NIM, "override": str(override)}
    kept = run_module("mirror_overrides", {"registry": MIRROR, "helm_binary": testbed.helm, "charts": [chart]})
    assert not kept.get("failed"), kept.get("msg")
    assert inventory_of(tmp_path, render(testbed, NIM, override)) == [f"{MIRROR}/nim/meta/llama3-8b-instruct:1.0.3-amd64-full"]

    digest = fake_digest(NIM_IMAGE)
    pinned = {"registry": MIRROR, "pin": "digest", "digests": {NIM_IMAGE: digest}, "helm_binary": testbed.helm, "charts": [chart]}
    refused = run_module("mirror_overrides", pinned)
    assert refused["failed"] and "not pinned by digest" in refused["msg"]
    assert refused["overrides"][0]["unpinned"][0]["path"] == "spec.template.spec.containers[0].image"
    mapped = run_module("mirror_overrides", dict(pinned, charts=[dict(chart, value_map=[
        {"path": "image.digest", "image": NIM_IMAGE, "part": "digest"}])]))
    assert not mapped.get("failed"), mapped.get("msg")
    assert inventory_of(tmp_path, render(testbed, NIM, override)) == [f"{MIRROR}/nim/meta/llama3-8b-instruct@{digest}"]


def test_an_image_no_value_controls_is_reported_unmapped(testbed, tmp_path):
    chart = tmp_path / "platform"
    shutil.copytree(PLATFORM, chart)
    cleanup = chart / "templates" / "cleanup.yaml"
    cleanup.write_text(cleanup.read_text().replace("{{ .Values.cleanup.image }}", "alpine:3.20"))
    result = run_module("mirror_overrides", {"registry": MIRROR, "helm_binary": testbed.helm,
                                             "charts": [{"chart": str(chart), "override": str(tmp_path / "o.yaml")}]})
    assert result["failed"] and "1 image references are still outside" in result["msg"]
    assert [(u["object"], u["path"], u["image"]) for u in result["overrides"][0]["unmapped"]] == [
        ("CronJob/release-cleanup", "spec.jobTemplate.spec.template.spec.containers[0].image", "docker.io/library/alpine:3.20")]


def test_compose_override_covers_every_profile_and_env_file(tmp_path):
    override = tmp_path / "docker-compose.airgap.yml"
    project = {"files": [os.path.join(COMPOSE, "docker-compose.yml")], "scripts": [os.path.join(COMPOSE, "start.sh")]}
    result = run_module("mirror_overrides", {"registry": MIRROR, "prefix": "mirror",
                                             "endpoints": {"https://api.ngc.nvidia.com": "http://ngc-proxy.airlock.svc"},
                                             "compose": [dict(project, override=str(override))]})
    assert not result.get("failed"), result.get("msg")
    services = yaml.safe_load(override.read_text())["services"]
    assert services["gpu-worker"] == {"image": f"{MIRROR}/mirror/nvidia/tritonserver:24.08-py3", "pull_policy": "missing",
                                      "environment": {"FETCHER_IMAGE": f"{MIRROR}/mirror/acme/fetcher:0.7",
                                                      "NGC_API_URL": "http://ngc-proxy.airlock.svc"}}
    # Every profile, as the override covers them (image_inventory alone follows COMPOSE_PROFILES, as docker compose up does).
    both = run_module("image_inventory", {"compose": [dict(project, files=project["files"] + [str(override)], profiles=["*"])]})
    assert all(e["image"].startswith(f"{MIRROR}/mirror/") for e in both["images"] + both["indirect"])
    assert len(both["images"]) == 4 and len(both["indirect"]) == 2


def test_flattening_two_repositories_onto_one_name_is_refused(tmp_path):
    (tmp_path / "compose.yml").write_text("services:\n  a: {image: redis:7}\n  b: {image: bitnami/redis:7}\n")
    result = run_module("mirror_overrides", {"registry": MIRROR, "path": "flatten",
                                             "compose": [{"files": [str(tmp_path / "compose.yml")], "override": str(tmp_path / "o.yml")}]})
    assert result["failed"] and "docker.io/bitnami/redis, docker.io/library/redis" in result["msg"]
    assert not (tmp_path / "o.yml").exists()


def test_the_filters_through_ansible(tmp_path):
    collections = os.path.dirname(reference.__file__).split(os.sep + "ansible_collections" + os.sep)[0]
    expression = ("{{ 'redis' | airlock.airgap.image_normalize }} "
                  "{{ 'quay.io/acme/api:2.3.1' | airlock.airgap.image_mirror('" + MIRROR + "', prefix='mirror', path='flatten') }}")
    completed = subprocess.run([os.path.join(os.path.dirname(sys.executable), "ansible"), "localhost", "-m", "debug",
                                "-a", f"msg=\"{expression}\""], capture_output=True, text=True, timeout=120, check=False,
                               env=dict(os.environ, ANSIBLE_COLLECTIONS_PATH=collections, ANSIBLE_LOCALHOST_WARNING="false"))
    assert f'"msg": "docker.io/library/redis:latest {MIRROR}/mirror/api:2.3.1"' in completed.stdout, completed.stdout + completed.stderr


UMBRELLA = os.path.join(os.path.dirname(FIXTURES), "charts", "umbrella")
NATS = os.path.join(UMBRELLA, "charts", "nats")
NATS_IMAGES = ("docker.io/library/nats:2.12.6-alpine", "docker.io/natsio/nats-server-config-reloader:0.16.0", "docker.io/natsio/nats-box:0.16.0")
SERVER_IMAGE = "ghcr.io/acme/sie-server:0.6.6-amd64-default"


def pushed_from_the_bundle(tmp_path):
    """A lock as image_copy writes it for a push from the bundle's layout: each source is `oci:DIR:CANONICAL-REFERENCE`."""
    lock = tmp_path / "airlock.lock.json"
    lock.write_text(json.dumps({"version": 1, "images": [
        {"source": f"oci:{tmp_path}/bundle/images:{image}", "destination": f"{MIRROR}/mirror/{reference.parse(image).repository}",
         "digest": fake_digest(image), "platforms": ["linux/amd64"]} for image in NATS_IMAGES]}))
    return str(lock)


def warning_messages(result):
    return [warning["event"]["msg"] for warning in result.get("warnings", [])]


def test_a_lock_written_by_a_push_from_the_bundle_layout_pins_by_the_canonical_reference(testbed, tmp_path):
    override = tmp_path / "nats.yaml"
    result = run_module("mirror_overrides", {"registry": MIRROR, "prefix": "mirror", "pin": "digest", "lock_file": pushed_from_the_bundle(tmp_path),
                                             "helm_binary": testbed.helm, "charts": [{"chart": NATS, "override": str(override)}]})
    assert not result.get("failed"), result.get("msg")
    assert sorted(inventory_of(tmp_path, render(testbed, NATS, override))) == sorted(
        f"{MIRROR}/mirror/{reference.parse(image).repository}:{reference.parse(image).tag}@{fake_digest(image)}" for image in NATS_IMAGES)


def test_a_failed_run_writes_no_override_and_the_next_good_run_does(testbed, tmp_path):
    override = tmp_path / "umbrella.yaml"
    args = {"registry": MIRROR, "prefix": "mirror", "pin": "digest", "digests": {image: fake_digest(image) for image in NATS_IMAGES},
            "helm_binary": testbed.helm, "charts": [{"chart": UMBRELLA, "override": str(override)}]}
    refused = run_module("mirror_overrides", args)
    assert refused["failed"] and not override.exists()
    assert "no override was written" in refused["msg"] and not refused["changed"]
    assert [u["image"] for u in refused["overrides"][0]["unpinned"]] == [f"{MIRROR}/mirror/acme/sie-server:0.6.6-amd64-default"]
    written = run_module("mirror_overrides", dict(args, pin_exceptions=[SERVER_IMAGE]))
    assert not written.get("failed"), written.get("msg")
    assert written["changed"] and override.exists()


def test_a_pin_exception_keeps_its_tag_and_is_listed_never_silent(testbed, tmp_path):
    override = tmp_path / "umbrella.yaml"
    result = run_module("mirror_overrides", {"registry": MIRROR, "prefix": "mirror", "pin": "digest", "lock_file": pushed_from_the_bundle(tmp_path),
                                             "pin_exceptions": [SERVER_IMAGE, "quay.io/acme/gone:1"], "helm_binary": testbed.helm,
                                             "charts": [{"chart": UMBRELLA, "override": str(override)}]})
    assert not result.get("failed"), result.get("msg")
    kept = f"{MIRROR}/mirror/acme/sie-server:0.6.6-amd64-default"
    assert [(e["object"], e["path"], e["image"]) for e in result["overrides"][0]["pin_exceptions"]] == [
        ("Deployment/release-server", "spec.template.spec.containers[0].image", kept)]
    assert f"1 images run by tag, not digest, as pin_exceptions allows: {kept}" in warning_messages(result)
    assert "pin_exceptions that match no image running by tag: quay.io/acme/gone:1" in warning_messages(result)
    after = inventory_of(tmp_path, render(testbed, UMBRELLA, override))
    assert kept in after and all("@sha256:" in image for image in after if image != kept)


def test_every_pod_of_every_subchart_gets_the_pull_secret_in_the_form_its_key_reads(testbed, tmp_path):
    override = tmp_path / "umbrella.yaml"
    result = run_module("mirror_overrides", {"registry": MIRROR, "pull_secrets": ["mirror-pull"], "helm_binary": testbed.helm,
                                             "charts": [{"chart": UMBRELLA, "override": str(override)}]})
    assert not result.get("failed"), result.get("msg")
    pods = [document for document in yaml.safe_load_all(render(testbed, UMBRELLA, override)) if document and document["kind"] != "NIMCache"]
    assert {pod["metadata"]["name"]: pod["spec"]["template"]["spec"]["imagePullSecrets"] for pod in pods} == {
        "release-server": [{"name": "mirror-pull"}], "release-nats": [{"name": "mirror-pull"}], "release-nats-box": [{"name": "mirror-pull"}]}


def test_the_compose_readers_warnings_reach_the_task(tmp_path):
    (tmp_path / "compose.yml").write_text("services:\n  app: {image: '${REGISTRY:-ghcr.io}/acme/app:1'}\n")
    (tmp_path / "start.sh").write_text("#!/bin/sh\nexport REGISTRY=quay.io\nexport STAMP=$(date +%s)\n")
    result = run_module("mirror_overrides", {"registry": MIRROR, "compose": [
        {"files": [str(tmp_path / "compose.yml")], "scripts": [str(tmp_path / "start.sh")], "override": str(tmp_path / "o.yml")}]})
    assert not result.get("failed"), result.get("msg")
    assert [m for m in warning_messages(result) if "start.sh line 3 skipped" in m], warning_messages(result)
