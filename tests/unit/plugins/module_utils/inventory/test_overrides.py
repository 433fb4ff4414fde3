# Copyright (c) 2026, airlock.airgap contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Values rewritten where they name an image the render runs; the override is the smallest tree Helm merges."""

from __future__ import annotations

import pytest

from ansible_collections.airlock.airgap.plugins.module_utils.inventory import overrides
from ansible_collections.airlock.airgap.plugins.module_utils.inventory.rewrite import Mirror, MirrorError

DIGEST = "sha256:" + "d" * 64
VALUES = {
    "image": {"registry": "quay.io", "repository": "acme/api", "tag": "2.3.1", "pullPolicy": "Always"},
    "nim": {"image": {"repository": "nvcr.io/nim/llm", "tag": "1.0"}, "platform": "amd64"},
    "operator": {"args": ["--leader-elect", "--sidecar-image=envoyproxy/envoy:v1"], "jobImage": "busybox:1.36"},
    "global": {"imageRegistry": "", "imagePullSecrets": []},
    "unrelated": {"repository": "https://github.com/acme/x", "note": "org/thing:1"},
}
KNOWN = {"quay.io/acme/api:2.3.1", "nvcr.io/nim/llm:1.0-amd64", "docker.io/envoyproxy/envoy:v1", "docker.io/library/busybox:1.36"}


def test_override_rewrites_split_assembled_and_string_images():
    settings = overrides.Settings(Mirror("r.lan", "m"), pull_secrets=["pull"])
    override, rewriter = overrides.helm_override(VALUES, KNOWN, settings)
    assert override == {
        "image": {"registry": "r.lan", "repository": "m/acme/api", "pullPolicy": "IfNotPresent"},
        "nim": {"image": {"repository": "r.lan/m/nim/llm"}},
        "operator": {"args": ["--leader-elect", "--sidecar-image=r.lan/m/envoyproxy/envoy:v1"], "jobImage": "r.lan/m/library/busybox:1.36"},
        "global": {"imagePullSecrets": [{"name": "pull"}]},
    }
    assert {m["path"] for m in rewriter.mapped} == {"image", "nim.image", "operator.args[1]", "operator.jobImage"}


def test_digest_pin_goes_into_the_tag_or_the_digest_key():
    mirror = Mirror("r.lan", pin="digest", digests={"quay.io/acme/api:2.3.1": DIGEST})
    override, _rewriter = overrides.helm_override({"a": VALUES["image"], "b": dict(VALUES["image"], digest="")},
                                                  {"quay.io/acme/api:2.3.1"}, overrides.Settings(mirror, pull_policy=None))
    assert override["a"] == {"registry": "r.lan", "tag": f"2.3.1@{DIGEST}"}
    assert override["b"] == {"registry": "r.lan", "digest": DIGEST}


def test_value_map_and_endpoints():
    settings = overrides.Settings(Mirror("r.lan", pin="digest", digests={"nvcr.io/nim/llm:1.0-amd64": DIGEST}),
                                  value_map=[{"path": "nim.image.digest", "image": "nvcr.io/nim/llm:1.0-amd64", "part": "digest"}],
                                  endpoints={"https://huggingface.co": "http://hf.airlock.svc"})
    override, _rewriter = overrides.helm_override({"nim": VALUES["nim"], "hf": "https://huggingface.co/api"}, KNOWN, settings)
    assert override["nim"]["image"] == {"repository": "r.lan/nim/llm", "digest": DIGEST}
    assert override["hf"] == "http://hf.airlock.svc/api"


def test_changes_is_what_helm_needs_to_merge():
    before = {"a": {"b": 1, "c": [1, 2]}, "d": "x"}
    after = {"a": {"b": 1, "c": [1, 3]}, "d": "x", "e": {"f": 1}}
    assert overrides.changes(before, after) == {"a": {"c": [1, 3]}, "e": {"f": 1}}


def test_a_string_is_rebuilt_from_token_positions_never_rewriting_a_rewrite():
    rewriter = overrides.ValuesRewriter(overrides.Settings(Mirror("reg.enclave", "mirror")), set())
    assert rewriter.rewrite("quay.io/org/app:1 org/app:1", "p", True) == "reg.enclave/mirror/org/app:1 reg.enclave/mirror/org/app:1"
    assert rewriter.rewrite("org/app:1,org/app:1 x", "p", True) == "reg.enclave/mirror/org/app:1,reg.enclave/mirror/org/app:1 x"
    assert rewriter.rewrite("reg.enclave/mirror/org/app:1 org/app:1", "p", True) == "reg.enclave/mirror/org/app:1 reg.enclave/mirror/org/app:1"


def test_a_repository_key_alone_is_not_rewritten():
    values = {"backup": {"repository": "s3-backups"}, "image": {"repository": "s3-backups"}}
    override, rewriter = overrides.helm_override(values, {"docker.io/library/s3-backups:latest"},
                                                 overrides.Settings(Mirror("r.lan"), pull_policy=None))
    assert override == {"image": {"repository": "r.lan/library/s3-backups"}}
    assert [m["path"] for m in rewriter.mapped] == ["image"]


def test_a_filesystem_path_in_a_hinted_value_is_left_alone():
    rewriter = overrides.ValuesRewriter(overrides.Settings(Mirror("r.lan")), set())
    assert rewriter.rewrite("--volume /etc/config:ro", "p", True) == "--volume /etc/config:ro"


def test_a_hinted_value_with_an_empty_tag_is_left_as_written_not_mirrored_as_latest():
    rewriter = overrides.ValuesRewriter(overrides.Settings(Mirror("reg.enclave", "mirror")), set())
    assert rewriter.rewrite("repo:", "p", True) == "repo:"
    assert rewriter.mapped == []


def test_pull_secrets_go_into_every_key_subcharts_read_names_where_names_are_expected():
    values = {"imagePullSecrets": [], "nats": {"global": {"image": {"pullSecretNames": []}}, "natsBox": {"imagePullSecrets": ["old"]}}}
    override, _rewriter = overrides.helm_override(values, set(), overrides.Settings(Mirror("r.lan"), pull_secrets=["pull"]))
    assert override == {"imagePullSecrets": [{"name": "pull"}],
                        "nats": {"global": {"image": {"pullSecretNames": ["pull"]}}, "natsBox": {"imagePullSecrets": ["pull"]}}}


def test_a_per_repository_host_map_points_at_the_mirror_path_its_images_land_under():
    values = {"repositories": {"operator": {"hostname": "quay.io", "pathPrefix": "objstore"},
                               "hub": {"hostname": "docker.io", "pathPrefix": "objstore"},
                               "unused": {"hostname": "ghcr.io", "pathPrefix": "other"}},
              "ingress": {"hostname": "store.example.com"}}
    known = {"quay.io/objstore/operator:v6.0.4", "quay.io/objstore/tools/sidecar:v1", "docker.io/objstore/console:v2"}
    override, rewriter = overrides.helm_override(values, known, overrides.Settings(Mirror("r.lan:5000", "m"), pull_policy=None))
    assert override["repositories"] == {"operator": {"hostname": "r.lan:5000", "pathPrefix": "m/objstore"},
                                        "hub": {"hostname": "r.lan:5000", "pathPrefix": "m/objstore"}}
    assert "ingress" not in override
    assert {(m["path"], m["to"]) for m in rewriter.mapped if m["kind"] == "host_map"} == {
        ("repositories.operator", "r.lan:5000/m/objstore"), ("repositories.hub", "r.lan:5000/m/objstore")}
    again, _rewriter = overrides.helm_override(dict(values, repositories=override["repositories"]),
                                               {"r.lan:5000/m/objstore/operator:v6.0.4"}, overrides.Settings(Mirror("r.lan:5000", "m")))
    assert "repositories" not in again


def test_a_host_map_whose_images_flatten_apart_is_refused():
    values = {"repositories": {"quay": {"hostname": "quay.io", "pathPrefix": "objstore"}}}
    known = {"quay.io/objstore/operator:v1", "quay.io/objstore/tools/sidecar:v1"}
    with pytest.raises(MirrorError, match="repositories.quay .*path=keep"):
        overrides.helm_override(values, known, overrides.Settings(Mirror("r.lan", "m", path="flatten")))
