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
