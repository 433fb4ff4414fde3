"""Class 2: operator env values and arguments that hold version=image maps (a Strimzi-like operator), against the naive grep."""

import os

from inventory_baseline import FIXTURES, classes, counts, naive_grep, score
from module_runner import run_module

from ansible_collections.airlock.airgap.plugins.module_utils.inventory import inventory

OPERATOR = os.path.join(FIXTURES, "operators", "kafka-operator")
CLUSTER = os.path.join(FIXTURES, "operators", "kafka-cluster")
KAFKA_370, KAFKA_371, KAFKA_380 = (f"quay.io/strimzi/kafka:0.42.0-kafka-{v}" for v in ("3.7.0", "3.7.1", "3.8.0"))
BRIDGE_029, BRIDGE_030 = "quay.io/strimzi/kafka-bridge:0.29.0", "quay.io/strimzi/kafka-bridge:0.30.0"
OPERATOR_IMAGE = "quay.io/strimzi/operator:0.42.0"
ALWAYS = {KAFKA_380, "quay.io/strimzi/maven-builder:0.42.0"}   # the default sidecar images; a JSON map keyed by component


def test_the_version_a_cluster_resource_selects_is_pulled_the_others_are_candidates():
    result = run_module("image_inventory", {"manifests": [OPERATOR, CLUSTER]})
    assert not result.get("failed"), result.get("msg")
    found = classes(result)
    assert found["images"] == {OPERATOR_IMAGE}
    assert found["indirect"] == ALWAYS | {KAFKA_371, BRIDGE_030}, "Kafka asks 3.7.1; the bridge's version field names 0.30.0"
    assert {e["image"]: e["conditions"] for e in result["candidates"]} == {
        KAFKA_370: ["a Kafka resource sets spec.kafka.version: 3.7.0", "a KafkaConnect resource sets spec.version: 3.7.0"],
        BRIDGE_029: ["a resource selects version 0.29.0 of --bridge-images"]}
    assert not any(image.startswith("docker.io/library/3.") for images in found.values() for image in images), "a key is never an image"
    assert counts(found) == {"images": 1, "indirect": 4, "candidates": 2, "derived": 0, "invalid": 0}

    grep = naive_grep("operators/kafka-operator", "operators/kafka-cluster")
    assert grep == {OPERATOR_IMAGE}
    assert score(found["images"] | found["indirect"], set(), grep) == {"found": 1, "missed": 4, "invented": 0}


def test_without_the_cluster_resource_every_version_is_a_candidate():
    scanned = inventory.Inventory()
    inventory.add_manifests(scanned, OPERATOR)
    found = inventory.images(scanned)
    assert {e["image"] for e in found["indirect"]} == ALWAYS
    assert {e["image"] for e in found["candidates"]} == {KAFKA_370, KAFKA_371, BRIDGE_029, BRIDGE_030}
