# Copyright (c) 2026, airlock.airgap contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Rendered YAML that PyYAML's strict loader refuses must still be read, one bad document never hiding the rest."""

from __future__ import annotations

import pytest
import yaml

from ansible_collections.airlock.airgap.plugins.module_utils.inventory import yamlload

RENDERED = """---
# Source: chart/templates/cm.yaml
apiVersion: v1
kind: ConfigMap
data:
  separator: =
  when: 2026-01-01
  tagged: !custom value
---
# Source: chart/templates/broken.yaml
kind: Pod
spec: [unclosed
---
# Source: chart/templates/pod.yaml
kind: Pod
spec: {containers: [{image: 'alpine:3.20'}]}
"""


def test_strict_loader_refuses_what_helm_renders():
    with pytest.raises(yaml.YAMLError):
        list(yaml.safe_load_all(RENDERED))


def test_lenient_loader_reads_bare_equals_timestamps_and_custom_tags():
    documents = yamlload.load_all(RENDERED)
    assert [d.template for d in documents] == ["chart/templates/cm.yaml", "chart/templates/broken.yaml", "chart/templates/pod.yaml"]
    assert documents[0].data["data"] == {"separator": "=", "when": "2026-01-01", "tagged": "value"}
    assert documents[1].error and "unclosed" in documents[1].text
    assert documents[2].data["spec"]["containers"][0]["image"] == "alpine:3.20"


def test_empty_documents_are_dropped():
    assert yamlload.load_all("---\n---\n# only a comment\n") == []


@pytest.mark.parametrize("text", [
    "kind: Pod\nspec: {containers: [{image: 'alpine:3'}]}\n...\n",
    "kind: Pod\nspec: {containers: [{image: 'alpine:3'}]}\n... # end\nkind: Job\n",
    "---\nkind: Pod\nspec: {containers: [{image: 'alpine:3'}]}\n...\n---\nkind: Job\n...\n",
])
def test_a_document_end_marker_ends_the_document_it_does_not_drop_it(text):
    documents = yamlload.load_all(text)
    assert not [d.error for d in documents if d.error]
    assert documents[0].data["spec"]["containers"][0]["image"] == "alpine:3"
    assert [d.data["kind"] for d in documents] == ["Pod", "Job"][:len(documents)]
    assert len(documents) == (1 if text.count("kind") == 1 else 2)


def test_directives_stay_with_their_document():
    documents = yamlload.load_all("%YAML 1.1\n---\nkind: Pod\n...\n%YAML 1.1\n--- \nkind: Job\n")
    assert [(d.data, d.error) for d in documents] == [({"kind": "Pod"}, None), ({"kind": "Job"}, None)]
