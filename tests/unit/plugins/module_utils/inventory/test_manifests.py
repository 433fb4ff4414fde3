# Copyright (c) 2026, airlock.airgap contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Images from every pod-spec-bearing kind, custom resources and ConfigMaps; never from metadata."""

from __future__ import annotations

import pytest

from ansible_collections.airlock.airgap.plugins.module_utils.inventory import manifests

CONTAINERS = {"containers": [{"name": "a", "image": "a/main:1"}], "initContainers": [{"name": "i", "image": "a/init:1"}],
              "ephemeralContainers": [{"name": "e", "image": "a/debug:1"}]}


@pytest.mark.parametrize("kind, wrap, path", [
    ("Pod", lambda s: {"spec": s}, "spec"),
    ("Deployment", lambda s: {"spec": {"template": {"spec": s}}}, "spec.template.spec"),
    ("Job", lambda s: {"spec": {"template": {"spec": s}}}, "spec.template.spec"),
    ("CronJob", lambda s: {"spec": {"jobTemplate": {"spec": {"template": {"spec": s}}}}}, "spec.jobTemplate.spec.template.spec"),
])
def test_pod_spec_kinds(kind, wrap, path):
    obj = dict(wrap(CONTAINERS), apiVersion="v1", kind=kind, metadata={"name": "x", "annotations": {"image": "ghcr.io/not/this:1"}})
    found = manifests.scan_object(obj, "f")
    assert [(f.image, f.path, f.via) for f in found] == [
        ("docker.io/a/main:1", f"{path}.containers[0].image", "container"),
        ("docker.io/a/init:1", f"{path}.initContainers[0].image", "init-container"),
        ("docker.io/a/debug:1", f"{path}.ephemeralContainers[0].image", "ephemeral-container"),
    ]


def test_custom_resource_split_and_named_images():
    obj = {"apiVersion": "acme.io/v1", "kind": "Agent", "metadata": {"name": "x"},
           "spec": {"agent": {"image": {"registry": "quay.io", "repository": "acme/agent", "tag": "3"}},
                    "sidecarImage": "envoyproxy/envoy:v1", "source": {"repository": "https://github.com/acme/x"},
                    "extraArgs": ["--log=acme/log:1"]}}
    found = {(f.image, f.path, f.confidence) for f in manifests.scan_object(obj, "f")}
    assert found == {("quay.io/acme/agent:3", "spec.agent.image", "direct"),
                     ("docker.io/envoyproxy/envoy:v1", "spec.sidecarImage", "direct"),
                     ("docker.io/acme/log:1", "spec.extraArgs[0]", "indirect")}


def test_config_map_json_yaml_and_lines():
    obj = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"},
           "data": {"a.json": '{"runner": {"image": "busybox:1"}}', "b.yaml": "images:\n  - alpine:3\n", "c": "WORKER_IMAGE=acme/w:2\nPORT=8080",
                    "d": "redis:6379"}}
    found = {(f.image, f.path) for f in manifests.scan_object(obj, "f")}
    assert found == {("docker.io/library/busybox:1", "data.a.json.runner.image"), ("docker.io/library/alpine:3", "data.b.yaml.images[0]"),
                     ("docker.io/acme/w:2", "data.c")}


def test_arguments_flag_forms():
    found = manifests.scan_arguments(["--image", "busybox:1", "--init-image=alpine", "--port=8080", "plain"], "args", "f", "o")
    assert [(f.image, f.path) for f in found] == [("docker.io/library/busybox:1", "args[1]"), ("docker.io/library/alpine:latest", "args[2]")]


def test_a_repository_key_alone_is_not_an_image():
    obj = {"apiVersion": "acme.io/v1", "kind": "Backup", "metadata": {"name": "x"},
           "spec": {"backup": {"repository": "s3-backups", "schedule": "@daily"}, "restic": {"repository": "b2:bucket"}}}
    assert manifests.scan_object(obj, "f") == []


@pytest.mark.parametrize("node, image", [
    ({"image": {"repository": "nginx"}}, "docker.io/library/nginx:latest"),           # the parent key names an image
    ({"images": [{"repository": "acme/a"}]}, "docker.io/acme/a:latest"),             # a list under a key naming images
    ({"sidecar": {"repository": "acme/side", "tag": "2"}}, "docker.io/acme/side:2"),  # a tag says it is one
    ({"proxy": {"registry": "quay.io", "repository": "acme/proxy"}}, "quay.io/acme/proxy:latest"),
    ({"proxy": {"repository": "acme/proxy", "digest": "sha256:" + "a" * 64}}, "docker.io/acme/proxy@sha256:" + "a" * 64),
])
def test_split_image_mappings_that_are_images(node, image):
    assert [(f.image, f.confidence) for f in manifests.walk_custom(node, "", "f", "values", "values")] == [(image, "direct")]


def test_split_image_needs_more_than_a_repository():
    assert manifests.split_image({"repository": "s3-backups"}) is None
    assert manifests.split_image({"repository": "s3-backups"}, hinted=True) == "s3-backups"
    assert manifests.split_image({"repository": "acme/x", "tag": "1"}) == "acme/x:1"


def test_config_map_key_naming_an_image_reads_its_whole_value():
    obj = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"},
           "data": {"SIDECAR_IMAGE": "ghcr.io/org/sidecar:1", "INIT_IMAGE": "busybox:1.36", "images": "WORKER_IMAGE=acme/w:2"}}
    found = sorted((f.image, f.path) for f in manifests.scan_object(obj, "f"))
    assert found == [("docker.io/acme/w:2", "data.images"), ("docker.io/library/busybox:1.36", "data.INIT_IMAGE"),
                     ("ghcr.io/org/sidecar:1", "data.SIDECAR_IMAGE")]


@pytest.mark.parametrize("node, outcome", [
    ({"repository": "nvcr.io/nvidia", "image": "driver", "version": "550"}, ("nvcr.io/nvidia/driver:550", None)),
    ({"registry": "quay.io", "image": "acme/a", "tag": "1"}, ("quay.io/acme/a:1", None)),
    ({"repo": "quay.io/strimzi", "name": "kafka", "tag": "0.42"}, ("quay.io/strimzi/kafka:0.42", None)),
    ({"repository": "nvcr.io/nvidia", "image": "plugin", "version": "sha256:" + "b" * 64}, ("nvcr.io/nvidia/plugin@sha256:" + "b" * 64, None)),
    ({"image": "docker.elastic.co/es:8.15.0", "version": "8.15.0"}, ("docker.elastic.co/es:8.15.0", None)),
    ({"image": "nginx", "tag": "1.25"}, ("nginx:1.25", None)),
    ({"repository": "nvcr.io/nvidia", "image": "driver", "version": ""}, (None, "image 'driver' without version")),
    ({"repository": "", "image": "vgpu-manager", "version": ""}, (None, "image 'vgpu-manager' without repository or version")),
    ({"name": "worker", "tag": "1"}, None),
    ({"repository": "acme/x", "tag": "1"}, None),
])
def test_component_image(node, outcome):
    assert manifests.component_image(node) == outcome


def test_a_component_turned_off_is_a_candidate_and_never_library_latest():
    obj = {"apiVersion": "acme.io/v1", "kind": "Stack", "metadata": {"name": "s"},
           "spec": {"exporter": {"enabled": False, "repository": "quay.io/acme", "image": "exporter", "version": "1.0"},
                    "agent": {"repository": "quay.io/acme", "image": "agent", "version": ""}}}
    found = manifests.scan_object(obj, "f")
    assert [(f.image, f.condition) for f in found if not f.error] == [("quay.io/acme/exporter:1.0", "spec.exporter.enabled is true")]
    assert [(f.written, f.path) for f in found if f.error] == [("agent", "spec.agent")]
