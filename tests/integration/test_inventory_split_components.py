"""Class 1: images split over fields of a custom resource (a GPU-operator-like ClusterPolicy), against the naive grep."""

import os

from inventory_baseline import FIXTURES, classes, counts, naive_grep, score
from module_runner import run_module

CLUSTER_POLICY = os.path.join(FIXTURES, "operators", "gpu-operator")
COMPONENTS = {
    "nvcr.io/nvidia/cuda:12.5.1-base-ubi8",                                      # repository + image + version
    "nvcr.io/nvidia/cloud-native/k8s-driver-manager:v0.6.10",                    # a component inside a component
    "nvcr.io/nvidia/k8s/container-toolkit:v1.16.1-ubuntu20.04",
    "nvcr.io/nvidia/k8s-device-plugin@sha256:0585da349f3cdca29747834e39ada56aed5e23ba7a3b26e3ad2c1e8a6fa2a9f8",  # a digest as version
    "nvcr.io/nvidia/k8s/dcgm-exporter:3.3.7-3.5.0-ubuntu22.04",                 # registry + image + tag
    "nvcr.io/nvidia/k8s-device-plugin:v0.16.1",                                  # repo + name + tag
    "nvcr.io/nvidia/cloud-native/gpu-operator-validator:v24.6.0",                # written whole
}
TURNED_OFF = {
    "nvcr.io/nvidia/cloud-native/k8s-mig-manager:v0.8.0-ubuntu20.04": ["spec.migManager.enabled is true"],
    "nvcr.io/nvidia/cloud-native/nvidia-fs:2.17.5": ["spec.gds.enabled is true"],
    "nvcr.io/nvidia/kubevirt-gpu-device-plugin:v1.2.9": ["spec.sandboxWorkloads.enabled is true"],  # not applicable, by a rule
}
DRIVERS = {"nvcr.io/nvidia/driver:550.90.07-ubuntu22.04"}


def test_components_assembled_never_completed_as_latest_and_what_grep_reports():
    result = run_module("image_inventory", {"manifests": [CLUSTER_POLICY], "rule_inputs": {"node_os": ["ubuntu22.04"]},
                                            "fail_on_unresolved": True})
    assert result["failed"] and result["msg"].startswith("1 image references are invalid"), "only the component that would be pulled"
    assert "incomplete component at spec.nodeStatusExporter: image 'gpu-operator-validator' without version" in result["msg"]
    found = classes(result)
    assert found["images"] == COMPONENTS and found["indirect"] == set() and found["derived"] == DRIVERS
    assert {e["image"]: e["conditions"] for e in result["candidates"]} == TURNED_OFF
    incomplete = {e["written"]: (e["sources"][0]["path"], e.get("conditions")) for e in result["invalid"]}
    assert incomplete == {"gpu-operator-validator": ("spec.nodeStatusExporter", None),
                          "vgpu-manager": ("spec.vgpuManager", ["spec.vgpuManager.enabled is true"])}
    assert "without version" in next(e["error"] for e in result["invalid"] if e["written"] == "gpu-operator-validator")
    assert not any("library/" in image for images in found.values() for image in images), "a bare image: driver is never library/driver"
    assert counts(found) == {"images": 7, "indirect": 0, "candidates": 3, "derived": 1, "invalid": 2}

    grep = naive_grep("operators/gpu-operator")
    assert "docker.io/library/driver:latest" in grep and "docker.io/library/cuda:latest" in grep
    assert score(COMPONENTS | DRIVERS, set(TURNED_OFF), grep) == {"found": 1, "missed": 7, "invented": 12}
