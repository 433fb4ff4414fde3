"""Class 5: a vendor wrapper script, read and never run: lines it cannot read are warnings naming file and line; an empty tag is invalid."""

import os

from inventory_baseline import FIXTURES, classes, counts, naive_grep, score
from module_runner import run_module

WRAPPER = os.path.join(FIXTURES, "wrapper")
SCRIPT = os.path.join(WRAPPER, "deploy.sh")
IMAGES = {
    "registry.acme.io/platform/gateway:2.8.0",      # GATEWAY_TAG from the file the script sources
    "registry.acme.io/platform/worker:3.2.1",       # : "${WORKER_TAG:=3.2.1}"
    "registry.acme.io/platform/scheduler:1.5.0",    # readonly SCHEDULER_TAG=1.5.0 beats the file's default
}


def test_unreadable_lines_are_warnings_and_an_empty_tag_is_invalid():
    result = run_module("image_inventory", {"compose": [{"files": [os.path.join(WRAPPER, "docker-compose.yml")], "scripts": [SCRIPT]}]})
    assert not result.get("failed"), result.get("msg")
    found = classes(result)
    assert found["images"] == IMAGES and found["indirect"] == set() and found["candidates"] == set()
    assert [(e["written"], e["confidence"]) for e in result["invalid"]] == [("registry.acme.io/platform/exporter:", "direct")]
    assert "the tag is missing after ':'" in result["invalid"][0]["error"]
    warnings = [w["event"]["msg"] for w in result["warnings"]]
    assert [w.split(" skipped")[0] for w in warnings] == [f"{SCRIPT} line {n}" for n in (8, 9, 10, 11)]
    assert "command substitution" in warnings[0] and "BUILD_TAG" in warnings[0]
    assert all("only when the script runs" in w for w in warnings[1:3]) and "not UTF-8" in warnings[3]
    assert result["unset_variables"] == ["BUILD_TAG"] and "Traceback" not in result["_stderr"]
    assert counts(found) == {"images": 3, "indirect": 0, "candidates": 0, "derived": 0, "invalid": 1}

    grep = naive_grep("wrapper")
    assert grep == {"${REGISTRY}/gateway:${GATEWAY_TAG}", "${REGISTRY}/worker:${WORKER_TAG}", "${REGISTRY}/scheduler:${SCHEDULER_TAG:-1.4.0}",
                    "${REGISTRY}/exporter:${BUILD_TAG}"}
    assert score(IMAGES, set(), grep) == {"found": 0, "missed": 3, "invented": 4}
