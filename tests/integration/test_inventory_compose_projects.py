"""Class 4: a RAG-stack Compose project read as `docker compose config` reads it, run as `docker compose up` runs it.

include (short and long form, own env files), extends (another file, the same file), two -f files merged in order,
COMPOSE_PROFILES in .env built from another variable, a service with several profiles, ${VAR-default} and ${VAR:-default},
an image named only in .env, a build-only service, and a service that starts containers through the Docker socket.
The part docker-compose v1 reads (all but include) gives the same services, images and environment with `config`.
"""

import os

import pytest

from inventory_baseline import FIXTURES, classes, counts, naive_grep, score
from module_runner import run_module

from ansible_collections.airlock.airgap.plugins.module_utils.inventory import compose, inventory

RAG = os.path.join(FIXTURES, "rag-stack")
FILES = [os.path.join(RAG, "docker-compose.yaml"), os.path.join(RAG, "docker-compose.gpu.yaml")]
IMAGES = {
    "nvcr.io/nvidia/blueprint/rag-server:2.0.0-cuda",            # the second -f file wins
    "nvcr.io/nvidia/blueprint/ingestor-server:2.0.0",            # profile ingest (COMPOSE_PROFILES), ${INGEST_TAG:-} set empty
    "nvcr.io/nim/nvidia/llama-3.2-nv-rerankqa-1b-v2:1.3.0",      # profile gpu (${ACCELERATOR}); the image only in .env
    "ghcr.io/acme/sandbox-manager:0.5.2",
    "nvcr.io/nim/nvidia/nv-embedqa-e5-v5:1.1.0",                 # long-form include, its own env file
    "quay.io/coreos/etcd:v3.5.14",                               # short-form include, its folder's .env
    "docker.io/minio/minio:RELEASE.2024-05-28T17-19-04Z",        # the including project's variable wins
    "docker.io/milvusdb/milvus:v2.4.9-gpu",
}
INDIRECT = {
    "docker.io/library/python:3.12-slim",                        # the sandbox starts these through the Docker socket
    "docker.io/library/node:20-slim", "docker.io/library/bash:5.2",
    "nvcr.io/nvidia/nemo-guardrails:24.10",                      # env_file of an extended service, relative to its file
}
CANDIDATES = {
    "docker.io/otel/opentelemetry-collector-contrib:0.104.0": ["profile observability or debug is active"],
    "nvcr.io/nim/meta/llama-3.1-8b-instruct:1.3.3": ["profile local-llm is active"],   # ${LLM_TAG-1.3.3}, LLM_TAG unset
}


def test_the_project_as_compose_up_runs_it_and_what_grep_reports():
    result = run_module("image_inventory", {"compose": [{"files": FILES}]})
    assert not result.get("failed"), result.get("msg")
    found = classes(result)
    assert found["images"] == IMAGES and found["indirect"] == INDIRECT
    assert {e["image"]: e["conditions"] for e in result["candidates"]} == CANDIDATES
    assert result["builds"] == [{"service": "frontend", "file": FILES[0]}] and result["invalid"] == []
    assert [s["service"] for s in result["skipped_services"]] == ["nim-llm", "observability"]
    assert "docker.io/library/python:3.12" not in found["images"], "the base an extending service replaces is not run"
    assert counts(found) == {"images": 8, "indirect": 4, "candidates": 2, "derived": 0, "invalid": 0}

    grep = naive_grep("rag-stack")
    assert score(IMAGES | INDIRECT, set(CANDIDATES), grep) == {"found": 1, "missed": 11, "invented": 10}


def test_profiles_given_replace_compose_profiles_and_an_include_cycle_is_an_error(tmp_path):
    every = inventory.Inventory()
    inventory.add_compose(every, compose.ComposeSource(FILES, profiles=["*"]))
    assert {e["image"] for e in inventory.images(every)["images"]} == IMAGES | set(CANDIDATES)
    (tmp_path / "compose.yaml").write_text("include: [other.yaml]\nservices: {}\n")
    (tmp_path / "other.yaml").write_text("include: [compose.yaml]\nservices: {}\n")
    with pytest.raises(compose.ComposeError, match="includes itself"):
        compose.scan(compose.ComposeSource([str(tmp_path / "compose.yaml")]))
