# Copyright (c) 2026, airlock.airgap contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""What counts as an image in free text: sure enough to mirror, never a host:port or a key:value."""

from __future__ import annotations

import pytest

from ansible_collections.airlock.airgap.plugins.module_utils.inventory import findings


@pytest.mark.parametrize("token, hinted, expected", [
    ("quay.io/acme/api:2.3.1", False, "quay.io/acme/api:2.3.1"),
    ("acme/seed-helper:1.2", False, "docker.io/acme/seed-helper:1.2"),
    ("busybox:1.36", True, "docker.io/library/busybox:1.36"),
    ("busybox", True, "docker.io/library/busybox:latest"),
    ("busybox:1.36", False, None),                    # no path, no hint: could be anything
    ("redis:6379", False, None),                      # a host and port
    ("redis:7", True, "docker.io/library/redis:7"),
    ("registry.example.com:5000/acme/op:v1", False, "registry.example.com:5000/acme/op:v1"),
    ("localhost:5000/a@sha256:" + "a" * 64, False, "localhost:5000/a@sha256:" + "a" * 64),
    ("docs/guide", False, None),                      # a path, no tag
    ("https://quay.io/acme/api:1", False, None),      # a URL is the audit's business
    ("Always", True, None),
])
def test_image_in_token(token, hinted, expected):
    assert findings.image_in_token(token, hinted) == expected


@pytest.mark.parametrize("name, hint", [
    ("SIDECAR_IMAGE", True), ("--init-image", True), ("defaultImage", True), ("images", True), ("imageName", True),
    ("imagePullPolicy", False), ("imageTag", False), ("imagePullSecrets", False), ("", False), (None, False),
])
def test_names_that_hint_an_image(name, hint):
    assert findings.is_hint(name) is hint


def test_indirect_finds_each_image_in_a_command_line():
    found = findings.indirect("run --from ghcr.io/a/b:1 then acme/c:2 on redis:6379", "f", "Job/x", "spec.args[0]", "args")
    assert [f.image for f in found] == ["ghcr.io/a/b:1", "docker.io/acme/c:2"]
    assert {f.confidence for f in found} == {findings.INDIRECT}


def test_an_invalid_direct_reference_is_kept_with_its_reason():
    finding = findings.direct("Acme/API:1", "f", "Pod/p", "spec.containers[0].image", "container")
    assert finding.image is None and "lowercase" in finding.error


@pytest.mark.parametrize("text", ["--volume /etc/config:ro", "mount /srv/data/cache:rw", "cp ./build/app:latest", "see ../org/app:1"])
def test_a_filesystem_path_is_not_an_image(text):
    assert findings.indirect(text, "f", "o", "p", "args") == []


def test_a_token_starts_after_a_separator_not_inside_a_path():
    found = findings.indirect("--volume=/etc/x:ro --image=ghcr.io/a/b:1 x=acme/c:2 /d/e@sha256:1", "f", "o", "p", "args", True)
    assert [f.image for f in found] == ["ghcr.io/a/b:1", "docker.io/acme/c:2"]


@pytest.mark.parametrize("text, written", [
    ("repo:", "repo:"),
    ("quay.io/org/app:", "quay.io/org/app:"),
    ("--init-image=busybox: --other", "busybox:"),
    ("repo:@" + "sha256:" + "a" * 64, "repo:@" + "sha256:" + "a" * 64),
])
def test_a_hinted_reference_with_an_empty_tag_is_invalid_not_latest(text, written):
    found = findings.indirect(text, "f", "o", "p", "env", True)
    assert [(f.written, f.image, f.confidence) for f in found] == [(written, None, findings.INDIRECT)]
    assert "the tag is missing after ':'" in found[0].error


@pytest.mark.parametrize("text", ["docs/readme: see there", "org/app: the api", "Note: quay.io/org/app:"])
def test_an_empty_tag_in_text_that_names_no_image_is_not_taken(text):
    assert findings.indirect(text, "f", "o", "p", "configmap") == []


@pytest.mark.parametrize("text, entries", [
    ("3.7.0=quay.io/a/k:1\n3.8.0=quay.io/a/k:2\n", [("3.7.0", "quay.io/a/k:1"), ("3.8.0", "quay.io/a/k:2")]),
    ("3.7.0=a/k:1, 3.8.0=a/k:2", [("3.7.0", "a/k:1"), ("3.8.0", "a/k:2")]),
    ('{"init": "a/i:1", "port": 8080}', [("init", "a/i:1")]),
    ('{"3.8.0": {"image": "a/k:2", "args": ["x"]}}', [("3.8.0", "a/k:2"), ("3.8.0", "x")]),
    ("quay.io/a/k:1", None),
    ("redis://cache:6379", None),
])
def test_map_entries(text, entries):
    assert findings.map_entries(text) == entries


def test_a_version_map_gives_its_images_never_its_keys_and_each_carries_its_choice():
    found = findings.indirect("4.2.0=acme/k:4.2\n4.3.0=acme/k:4.3", "f", "o", "p", "env", hinted=True, setting="KAFKA_IMAGES")
    assert [(f.image, f.choice) for f in found] == [("docker.io/acme/k:4.2", ("KAFKA_IMAGES", "4.2.0")),
                                                    ("docker.io/acme/k:4.3", ("KAFKA_IMAGES", "4.3.0"))]


@pytest.mark.parametrize("name, settings, condition", [
    ("BUILDS_KANIKO_IMAGE", {"ENABLE_BUILDS": "false"}, "ENABLE_BUILDS is true"),
    ("SIDECAR_IMAGE", {"SIDECAR_ENABLED": "0"}, "SIDECAR_ENABLED is true"),
    ("SIDECAR_IMAGE", {"SIDECAR_ENABLED": "true"}, None),
    ("WORKER_IMAGE", {}, None),
])
def test_feature_off(name, settings, condition):
    assert findings.feature_off(name, settings) == condition
