# Copyright (c) 2026, airlock.airgap contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The mirror mapping: image_copy's layout, idempotent, pinned only to digests that are known."""

from __future__ import annotations

import json

import pytest

from ansible_collections.airlock.airgap.plugins.module_utils.inventory.rewrite import Mirror, MirrorError, collisions, digests_from_lock

DIGEST = "sha256:" + "b" * 64


@pytest.mark.parametrize("source, mirror, expected", [
    ("redis", Mirror("r.lan:5000"), "r.lan:5000/library/redis:latest"),
    ("quay.io/acme/api:2.3.1", Mirror("r.lan:5000", "mirror"), "r.lan:5000/mirror/acme/api:2.3.1"),
    ("quay.io/acme/api:2.3.1", Mirror("r.lan", "/mirror/", path="flatten"), "r.lan/mirror/api:2.3.1"),
    ("reg.example.com:5000/acme/op:v1@" + DIGEST, Mirror("r.lan"), "r.lan/acme/op:v1@" + DIGEST),
    ("reg.example.com:5000/acme/op:v1@" + DIGEST, Mirror("r.lan", pin="tag"), "r.lan/acme/op:v1"),
    ("acme/api:1", Mirror("r.lan", pin="digest", digests={"docker.io/acme/api:1": DIGEST}), "r.lan/acme/api:1@" + DIGEST),
    ("r.lan/mirror/acme/api:1", Mirror("r.lan", "mirror"), "r.lan/mirror/acme/api:1"),
])
def test_map(source, mirror, expected):
    assert str(mirror.map(source)) == expected
    assert str(mirror.map(expected)) == expected, "mapping twice changes nothing"


def test_pins_that_cannot_be_honoured_say_why():
    with pytest.raises(MirrorError, match="no digest is known for docker.io/acme/api:1"):
        Mirror("r.lan", pin="digest").map("acme/api:1")
    with pytest.raises(MirrorError, match="only a digest"):
        Mirror("r.lan", pin="tag").map("acme/api@" + DIGEST)
    with pytest.raises(MirrorError, match="path must be"):
        Mirror("r.lan", path="squash")


def test_collisions_only_for_distinct_repositories():
    flat = Mirror("r.lan", path="flatten", pin="digest")
    assert collisions(["redis:7", "bitnami/redis:7", "redis:6"], flat) == {"r.lan/redis": ["docker.io/bitnami/redis", "docker.io/library/redis"]}
    assert collisions(["redis:7", "bitnami/redis:7"], Mirror("r.lan")) == {}


def test_digests_from_both_sections_of_the_lock(tmp_path):
    lock = tmp_path / "airlock.lock.json"
    lock.write_text(json.dumps({"images": [{"source": "redis:7", "destination": "x", "digest": DIGEST, "source_digest": "sha256:" + "c" * 64}],
                                "inventory": {"images": [{"image": "docker.io/acme/api:1", "digest": None},
                                                         {"image": "quay.io/a/b:2", "digest": DIGEST}]}}))
    assert digests_from_lock(str(lock)) == {"docker.io/library/redis:7": DIGEST, "quay.io/a/b:2": DIGEST}


def test_a_push_from_the_bundle_layout_is_read_by_the_image_its_source_names(tmp_path):
    lock = tmp_path / "airlock.lock.json"
    lock.write_text(json.dumps({"images": [
        {"source": "oci:/media/bundle/images:docker.io/library/nats:2.12.6-alpine", "destination": "r.lan/mirror/library/nats:2.12.6-alpine",
         "digest": DIGEST},
        {"source": "docker-archive:/tmp/app.tar:quay.io/a/app:1", "destination": "r.lan/a/app:1", "digest": DIGEST},
        {"source": "docker://ghcr.io/org/tool:v1", "destination": "oci:/media/bundle/images:ghcr.io/org/tool:v1", "digest": DIGEST},
        {"source": "oci:/media/bundle/images:not a reference", "destination": "r.lan/x", "digest": DIGEST}]}))
    assert digests_from_lock(str(lock)) == {"docker.io/library/nats:2.12.6-alpine": DIGEST, "quay.io/a/app:1": DIGEST,
                                            "ghcr.io/org/tool:v1": DIGEST}


def test_a_pin_exception_keeps_its_tag_named_as_discovered_or_as_mirrored():
    mirror = Mirror("r.lan", "m", pin="digest", digests={"docker.io/library/nats:2": DIGEST},
                    pin_exceptions=frozenset(["ghcr.io/acme/server:1-amd64"]))
    assert str(mirror.map("ghcr.io/acme/server:1-amd64")) == "r.lan/m/acme/server:1-amd64"
    assert str(mirror.map("nats:2")) == "r.lan/m/library/nats:2@" + DIGEST
    assert mirror.keeps_tag("r.lan/m/acme/server:1-amd64") and mirror.keeps_tag("ghcr.io/acme/server:1-amd64")
    assert not mirror.keeps_tag("r.lan/m/library/nats:2")
    assert mirror.exceptions_unused_by(["r.lan/m/acme/server:1-amd64"]) == []
    assert mirror.exceptions_unused_by(["r.lan/m/library/nats:2"]) == ["ghcr.io/acme/server:1-amd64"]
