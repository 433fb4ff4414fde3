"""Class 6: images an operator derives at run time, from the shipped rules and a user's rules file, against the naive grep."""

import os

import pytest

from inventory_baseline import FIXTURES, classes, counts, naive_grep, score
from module_runner import run_module

from ansible_collections.airlock.airgap.plugins.module_utils.inventory import inventory, operators

RULES = os.path.join(FIXTURES, "operators", "rules")
MODEL_SERVER = os.path.join(RULES, "model-server.yaml")
SITE_RULES = os.path.join(RULES, "site-rules.yml")
CLUSTER_POLICY = os.path.join(FIXTURES, "operators", "gpu-operator")
DERIVED = {"nvcr.io/nvidia/driver:550.90.07-ubuntu22.04", "nvcr.io/nvidia/driver:550.90.07-rhel9.4",
           "ghcr.io/acme/model-runtime:0.9.1-cuda12", "ghcr.io/acme/model-runtime:0.9.1-cpu"}


def test_derived_images_from_the_shipped_and_a_users_rules_with_their_inputs():
    result = run_module("image_inventory", {"manifests": [CLUSTER_POLICY, MODEL_SERVER], "rules_files": [SITE_RULES],
                                            "rule_inputs": {"node_os": ["ubuntu22.04", "rhel9.4"], "accelerator": ["cuda12", "cpu"]}})
    assert not result.get("failed"), result.get("msg")
    found = classes(result)
    assert found["derived"] == DERIVED
    assert {s["via"] for e in result["derived"] for s in e["sources"]} == {"rule gpu-operator-driver", "rule acme-model-server-runtime"}
    assert "nvcr.io/nvidia/driver:550.90.07" not in found["images"], "the assembled driver reference names no image that exists"
    assert "ghcr.io/acme/model-runtime:0.9.1" not in found["images"]
    assert counts(found) == {"images": 7, "indirect": 0, "candidates": 3, "derived": 4, "invalid": 2}

    grep = naive_grep("operators/gpu-operator", "operators/rules/model-server.yaml")
    assert score(found["images"] | DERIVED, set(found["candidates"]), grep) == {"found": 1, "missed": 10, "invented": 12}


def test_a_missing_input_is_named_and_a_malformed_rules_file_is_refused(tmp_path):
    scanned = inventory.Inventory()
    inventory.add_manifests(scanned, MODEL_SERVER)
    lacking = inventory.images(scanned, operators.load([SITE_RULES]))
    assert lacking["derived"] == [] and lacking["images"] == []
    assert [(e["written"], e["confidence"]) for e in lacking["invalid"]] == [("ghcr.io/acme/model-runtime:0.9.1-{accelerator}", "derived")]
    assert "give rule_inputs.accelerator" in lacking["invalid"][0]["error"]
    (tmp_path / "bad.yml").write_text("derive:\n  - name: x\n    kind: Y\n    image: '{a}'\n")
    with pytest.raises(operators.RulesError) as refused:
        operators.load([str(tmp_path / "bad.yml")])
    assert str(refused.value) == f"{tmp_path / 'bad.yml'}: derive[0] lacks component"
