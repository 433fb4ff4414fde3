# Copyright (c) 2026, airlock.airgap contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Operator rules: their shape checked with the file and field named; derivations, requirements and selections applied."""

from __future__ import annotations

import re

import pytest

from ansible_collections.airlock.airgap.plugins.module_utils.inventory import manifests, operators

POLICY = {"apiVersion": "nvidia.com/v1", "kind": "ClusterPolicy", "metadata": {"name": "p"},
          "spec": {"driver": {"repository": "nvcr.io/nvidia", "image": "driver", "version": "550.90.07"},
                   "sandboxWorkloads": {"enabled": True},
                   "kataManager": {"repository": "nvcr.io/nvidia/cloud-native", "image": "k8s-kata-manager", "version": "v0.2.1"}}}


def applied(obj, inputs=None):
    resource = operators.Resource("f", manifests.object_label(obj), obj)
    return operators.apply(manifests.scan_object(obj, "f"), [resource], operators.load(), inputs or {})


def test_the_builtin_rules_are_valid_and_a_users_rules_are_added(tmp_path):
    (tmp_path / "site.yml").write_text("select:\n  - {name: s, setting: 'ACME_*_IMAGES', kind: Acme, field: spec.version}\n")
    rules = operators.load([str(tmp_path / "site.yml")])
    assert rules["select"][-1]["name"] == "s" and len(rules["derive"]) == len(operators.load()["derive"])


@pytest.mark.parametrize("text, message", [
    ("- a\n", "must be a mapping of derive, requires, select"),
    ("derive: {}\n", "derive must be a list of rules"),
    ("requires:\n  - {name: r, kind: K, components: spec.a, when: spec.b}\n", "requires[0].components must be a list of strings"),
    ("select:\n  - {name: s, setting: X, kind: K, field: f, extra: 1}\n", "select[0] must be a mapping of name, setting, kind, field"),
])
def test_a_malformed_rules_file_is_refused_naming_the_rule(tmp_path, text, message):
    (tmp_path / "bad.yml").write_text(text)
    with pytest.raises(operators.RulesError, match=re.escape(message)):
        operators.load([str(tmp_path / "bad.yml")])


def test_the_driver_is_derived_per_node_os_and_sandbox_components_apply_when_sandboxes_are_on():
    kept, derived, lacking = applied(POLICY, {"node_os": ["ubuntu22.04", "rhel9.4"]})
    assert sorted(d.image for d in derived) == ["nvcr.io/nvidia/driver:550.90.07-rhel9.4", "nvcr.io/nvidia/driver:550.90.07-ubuntu22.04"]
    assert lacking == [] and [(f.image, f.condition) for f in kept] == [("nvcr.io/nvidia/cloud-native/k8s-kata-manager:v0.2.1", None)]
    off = dict(POLICY, spec=dict(POLICY["spec"], sandboxWorkloads={"enabled": False}))
    kept, _derived, lacking = applied(off)
    assert [f.condition for f in kept] == ["spec.sandboxWorkloads.enabled is true"]
    assert [d.written for d in lacking] == ["nvcr.io/nvidia/driver:550.90.07-{node_os}"]


def test_a_driver_pinned_by_digest_is_pulled_as_written():
    pinned = dict(POLICY, spec=dict(POLICY["spec"], driver=dict(POLICY["spec"]["driver"], version="sha256:" + "a" * 64)))
    kept, derived, lacking = applied(pinned)
    assert derived == [] and lacking == [] and "nvcr.io/nvidia/driver@sha256:" + "a" * 64 in {f.image for f in kept}


def test_eck_runs_the_image_of_its_version_unless_it_names_one():
    elastic = {"apiVersion": "elasticsearch.k8s.elastic.co/v1", "kind": "Elasticsearch", "metadata": {"name": "e"}, "spec": {"version": "8.15.0"}}
    assert [d.image for d in applied(elastic)[1]] == ["docker.elastic.co/elasticsearch/elasticsearch:8.15.0"]
    named = dict(elastic, spec={"version": "8.15.0", "image": "registry.local/es:8.15.0"})
    kept, derived, _lacking = applied(named)
    assert derived == [] and [f.image for f in kept] == ["registry.local/es:8.15.0"]
