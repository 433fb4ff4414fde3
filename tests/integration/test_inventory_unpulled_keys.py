"""Class 3: keys that look like images but are not pulled in the scenario (features, add-ons, sections off), against the naive grep."""

import os

from inventory_baseline import FIXTURES, classes, counts, naive_grep, score
from module_runner import run_module

FEATURES = os.path.join(FIXTURES, "operators", "feature-flags")
PULLED_IMAGES = {"ghcr.io/acme/platform-controller:1.8.0", "cr.fluentbit.io/fluent/fluent-bit:3.1.4"}
PULLED_INDIRECT = {"quay.io/prometheus/node-exporter:v1.8.2", "ghcr.io/acme/runner:2.1"}
NOT_PULLED = {
    "gcr.io/kaniko-project/executor:v1.23.2": ["ENABLE_BUILDS is true"],                     # builder of a build feature that is off
    "docker.io/istio/proxyv2:1.22.3": ["spec.addons.mesh.enabled is true"],                  # sidecar of an add-on not enabled
    "ghcr.io/acme/runner:1.9": ["data.config.yaml.runners.legacy.enabled is true"],         # a ConfigMap section no one reads
}


def test_images_of_features_that_are_off_are_candidates_with_the_condition():
    result = run_module("image_inventory", {"manifests": [FEATURES]})
    assert not result.get("failed"), result.get("msg")
    found = classes(result)
    assert found["images"] == PULLED_IMAGES and found["indirect"] == PULLED_INDIRECT
    assert {e["image"]: e["conditions"] for e in result["candidates"]} == NOT_PULLED
    kaniko = next(e for e in result["candidates"] if "kaniko" in e["image"])
    assert kaniko["sources"][0]["path"] == "spec.template.spec.containers[0].env[1].value"
    assert counts(found) == {"images": 2, "indirect": 2, "candidates": 3, "derived": 0, "invalid": 0}

    grep = naive_grep("operators/feature-flags")
    assert grep == {"ghcr.io/acme/platform-controller:1.8.0", "ghcr.io/acme/runner:2.1", "ghcr.io/acme/runner:1.9"}
    assert score(PULLED_IMAGES | PULLED_INDIRECT, set(NOT_PULLED), grep) == {"found": 2, "missed": 2, "invented": 0}
