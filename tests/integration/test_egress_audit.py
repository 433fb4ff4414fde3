"""egress_audit before and after rewriting the fixtures to the mirror, and what it must and must not flag."""

import os
import subprocess

import pytest

from module_runner import run_module

pytestmark = pytest.mark.testbed

FIXTURES = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "fixtures", "inventory")
PLATFORM = os.path.join(FIXTURES, "charts", "platform")
COMPOSE = os.path.join(FIXTURES, "compose")
MIRROR = "registry.enclave:5000"
ENDPOINTS = {"https://huggingface.co": "http://hf-mirror.airlock.svc:8080",
             "https://integrate.api.nvidia.com/v1": "http://nim.airlock.svc:8000/v1",
             "https://api.ngc.nvidia.com": "http://ngc-proxy.airlock.svc"}


def audit(**args):
    return run_module("egress_audit", dict(args, allowed_registries=[MIRROR]))


def rendered(testbed, tmp_path, name, *values_files):
    argv = [testbed.helm, "template", "release", PLATFORM, "--include-crds", "--api-versions", "acme.io/v1"]
    for path in values_files:
        argv += ["--values", str(path)]
    target = tmp_path / f"{name}.yaml"
    target.write_text(subprocess.run(argv, capture_output=True, text=True, check=True, timeout=120).stdout)
    return str(target)


def where(result):
    return sorted((v["object"], v["path"]) for v in result["violations"])


def test_platform_chart_before_and_after_rewriting(testbed, tmp_path):
    before = audit(paths=[rendered(testbed, tmp_path, "before")])
    assert before["failed"] and before["msg"].startswith("13 references point outside the enclave")
    containers = "spec.template.spec.containers[0]"
    assert where(before) == [
        ("Agent/release-agent", "spec.agent.image"),
        ("ConfigMap/release-operator-config", "data.runner.json"),
        ("ConfigMap/release-operator-config", "data.runner.json.image"),
        ("CronJob/release-cleanup", "spec.jobTemplate.spec.template.spec.containers[0].image"),
        ("Deployment/release-api", f"{containers}.image"),
        ("Deployment/release-api", "spec.template.spec.initContainers[0].image"),
        ("Deployment/release-lib", f"{containers}.image"),
        ("Deployment/release-lib", "spec.template.spec.containers[1].image"),
        ("Deployment/release-operator", f"{containers}.args[0]"),
        ("Deployment/release-operator", f"{containers}.env[0].value"),
        ("Deployment/release-operator", f"{containers}.image"),
        ("StatefulSet/release-worker", f"{containers}.env[0].value"),
        ("StatefulSet/release-worker", f"{containers}.image"),
    ]
    hosted = {v["value"]: v["reason"] for v in before["violations"] if "deny list" in v["reason"]}
    # What points outside, never the ConfigMap blob it was found in.
    assert set(hosted) == {"https://huggingface.co", "https://integrate.api.nvidia.com/v1"}
    assert ("Deployment/release-api", f"{containers}.imagePullPolicy") in {(w["object"], w["path"]) for w in before["pull_warnings"]}

    override = tmp_path / "values.airgap.yaml"
    written = run_module("mirror_overrides", {"registry": MIRROR, "pull_secrets": ["mirror-pull"], "endpoints": ENDPOINTS,
                                              "helm_binary": testbed.helm, "charts": [{"chart": PLATFORM, "override": str(override)}]})
    assert not written.get("failed"), written.get("msg")
    after = audit(paths=[rendered(testbed, tmp_path, "after", override)])
    assert not after.get("failed"), after.get("msg")
    assert after["violations"] == []
    assert sorted(w["object"] for w in after["pull_warnings"]) == ["CronJob/release-cleanup", "Deployment/release-lib", "StatefulSet/release-worker"]


def test_compose_project_before_and_after_rewriting(tmp_path):
    project = {"files": [os.path.join(COMPOSE, "docker-compose.yml")], "scripts": [os.path.join(COMPOSE, "start.sh")]}
    before = audit(compose=[project])
    assert before["failed"]
    assert sorted((v["object"], v["path"].rsplit(".", 1)[-1]) for v in before["violations"]) == [
        ("service/api", "HF_ENDPOINT"), ("service/api", "SANDBOX_IMAGE"), ("service/api", "image"), ("service/cache", "image"),
        ("service/debug", "image"), ("service/gpu-worker", "FETCHER_IMAGE"), ("service/gpu-worker", "NGC_API_URL"),
        ("service/gpu-worker", "image")]
    assert [w["object"] for w in before["pull_warnings"]] == ["service/api"]
    override = tmp_path / "docker-compose.airgap.yml"
    run_module("mirror_overrides", {"registry": MIRROR, "endpoints": ENDPOINTS, "compose": [dict(project, override=str(override))]})
    after = audit(compose=[dict(project, files=project["files"] + [str(override)])])
    assert not after.get("failed"), after.get("msg")
    assert after["violations"] == [] and after["pull_warnings"] == []


def test_env_files_values_bare_hosts_and_the_allow_list(tmp_path):
    (tmp_path / "app.env").write_text("HF_ENDPOINT=huggingface.co\nS3_URL=http://minio:9000\nAPI=https://api.example.com/v1\n"
                                      "WORKER_IMAGE=ghcr.io/acme/worker:1\nDATA=http://10.0.4.2:8080\n")
    (tmp_path / "values.yaml").write_text("model:\n  image:\n    registry: nvcr.io\n    repository: nim/llm\n    tag: '1'\n"
                                          "  source: hf://BAAI/bge-m3\n  url: https://files.enclave.lan/x\n")
    result = audit(paths=[str(tmp_path)], allowed_hosts=["*.enclave.lan"])
    assert result["failed"]
    assert sorted((os.path.basename(v["file"]), v["path"], v["reason"]) for v in result["violations"]) == [
        ("app.env", "API", "a URL outside the allow list"),
        ("app.env", "HF_ENDPOINT", "a hosted endpoint on the deny list"),
        ("app.env", "WORKER_IMAGE", "image named in configuration outside the allowed registries"),
        ("values.yaml", "model.image", "image outside the allowed registries"),
        ("values.yaml", "model.image.registry", "a hosted endpoint on the deny list"),
        ("values.yaml", "model.source", "a hosted endpoint on the deny list"),
    ]
    strict = audit(paths=[str(tmp_path / "app.env")], allowed_hosts=["api.example.com"], allow_cluster_internal=False)
    assert sorted(v["path"] for v in strict["violations"]) == ["DATA", "HF_ENDPOINT", "S3_URL", "WORKER_IMAGE"]


def test_labels_annotations_and_crds_are_not_configuration(tmp_path):
    (tmp_path / "objects.yaml").write_text(
        "apiVersion: v1\nkind: Pod\nmetadata:\n  name: p\n  labels: {tool: 'quay.io'}\n"
        "  annotations: {docs: 'https://huggingface.co/docs', image: 'ghcr.io/acme/x:1'}\n"
        "spec:\n  imagePullSecrets: [{name: m}]\n  containers: [{name: a, image: 'registry.enclave:5000/a:1'}]\n---\n"
        "apiVersion: apiextensions.k8s.io/v1\nkind: CustomResourceDefinition\nmetadata: {name: x.acme.io}\n"
        "spec: {versions: [{name: v1, schema: {openAPIV3Schema: {description: 'see https://docs.acme.io'}}}]}\n---\n"
        "apiVersion: v1\nkind: Secret\nmetadata: {name: s}\nstringData: {url: 'http://minio.storage.svc:9000'}\n")
    result = audit(paths=[str(tmp_path / "objects.yaml")])
    assert not result.get("failed"), result.get("msg")
    assert result["violations"] == [] and result["pull_warnings"] == []


def test_secrets_are_read_and_reported_by_key_only(tmp_path):
    (tmp_path / "secret.yaml").write_text(
        "apiVersion: v1\nkind: Secret\nmetadata: {name: app-env}\n"
        "data: {HF_ENDPOINT: aHR0cHM6Ly9odWdnaW5nZmFjZS5jbw==}\n"  # https://huggingface.co
        "stringData: {NGC_URL: 'https://u:nvapi-s3cret@api.ngc.nvidia.com/v2', PORT: '8080'}\n")
    result = audit(paths=[str(tmp_path / "secret.yaml")])
    assert result["failed"]
    assert sorted((v["object"], v["path"]) for v in result["violations"]) == [
        ("Secret/app-env", "data.HF_ENDPOINT"), ("Secret/app-env", "stringData.NGC_URL")]
    assert "nvapi-s3cret" not in str(result) and "huggingface.co" not in str(result)


def test_violations_show_where_never_credentials_or_whole_values(tmp_path):
    (tmp_path / "app.env").write_text("HF=https://user:hf_tok3n@huggingface.co/org/m?token=q5ecret\nDB=postgres://u:pw0rd@db.example.com/app\n"
                                      "SIDECAR=ghcr.io/org/sidecar\nMODEL=huggingface.co/BAAI/bge-m3\n")
    (tmp_path / "config.yaml").write_text(
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\n"
        "data:\n  settings.ini: |\n    password = hunter2\n    endpoint = https://integrate.api.nvidia.com/v1?key=hunter2\n")
    result = audit(paths=[str(tmp_path)])
    assert result["failed"]
    assert sorted((v["path"], v["value"]) for v in result["violations"]) == [
        ("DB", "postgres://db.example.com/app"), ("HF", "https://huggingface.co/org/m"), ("MODEL", "huggingface.co/BAAI/bge-m3"),
        ("SIDECAR", "ghcr.io/org/sidecar"), ("data.settings.ini", "https://integrate.api.nvidia.com/v1")]
    for secret in ("hf_tok3n", "q5ecret", "pw0rd", "hunter2"):
        assert secret not in str(result)


def test_a_document_that_cannot_be_read_cannot_pass(tmp_path):
    (tmp_path / "bad.yaml").write_text("apiVersion: v1\nkind: Pod\nspec:\n  containers:\n  - name: a\n   image: [x\n")
    result = audit(paths=[str(tmp_path / "bad.yaml")])
    assert result["failed"] and "cannot be read" in result["violations"][0]["reason"]


UMBRELLA = os.path.join(os.path.dirname(FIXTURES), "charts", "umbrella")


def test_a_release_is_rendered_by_helm_gated_custom_resources_included(testbed, tmp_path):
    """No api_versions are given: the NIMCache behind its gate is audited all the same, named by its template."""
    chart = {"chart": UMBRELLA, "release_name": "sie", "values": {"modelCache": {"source": "ngc"}, "workers.common.clusterCache.url": "s3://models/hf"}}
    before = audit(charts=[chart], helm_binary=testbed.helm)
    assert before["failed"]
    assert sorted((v["file"], v["object"], v["path"], v["value"], v["reason"]) for v in before["violations"] if "image" not in v["reason"]) == [
        ("umbrella/templates/modelcache.yaml", "NIMCache/sie-model", "spec.source.ngc", "ngc.nvidia.com", "a model source that downloads from NGC"),
        ("umbrella/templates/server.yaml", "Deployment/sie-server", "spec.template.spec.containers[0].env[0].value", "s3://models/hf",
         "an s3:// URL with no S3 endpoint configured, so AWS S3")]
    assert sorted(v["object"] for v in before["violations"] if "image" in v["reason"]) == [
        "Deployment/sie-nats-box", "Deployment/sie-server", "StatefulSet/sie-nats", "StatefulSet/sie-nats"]
    assert before["files"] == [UMBRELLA]

    override = tmp_path / "umbrella.airgap.yaml"
    written = run_module("mirror_overrides", {"registry": MIRROR, "pull_secrets": ["mirror-pull"], "helm_binary": testbed.helm,
                                              "charts": [dict(chart, override=str(override))]})
    assert not written.get("failed"), written.get("msg")
    mirrored = dict(chart, values_files=[str(override)], values={"workers.common.clusterCache.url": "s3://models/hf"})
    after = audit(charts=[mirrored], helm_binary=testbed.helm, s3_endpoint="http://seaweedfs.storage.svc:8333")
    assert not after.get("failed"), after.get("msg")
    assert after["violations"] == [] and after["pull_warnings"] == []
    on_aws = audit(charts=[mirrored], helm_binary=testbed.helm, allowed_hosts=["*.amazonaws.com"])
    assert not on_aws.get("failed"), on_aws.get("msg")


def test_the_hub_as_a_model_source_is_outside_unless_allowed(testbed):
    chart = {"chart": UMBRELLA, "values": {"modelCache": {"source": "hf"}}}
    refused = audit(charts=[chart], helm_binary=testbed.helm, s3_endpoint="http://minio:9000")
    assert ("NIMCache/release-model", "spec.source.hf", "huggingface.co") in {(v["object"], v["path"], v["value"]) for v in refused["violations"]}
    allowed = audit(charts=[chart], helm_binary=testbed.helm, allowed_hosts=["huggingface.co"])
    assert not any(v["object"] == "NIMCache/release-model" for v in allowed["violations"])


def test_the_compose_readers_warnings_reach_the_task(tmp_path):
    (tmp_path / "compose.yml").write_text(f"services:\n  app: {{image: '{MIRROR}/acme/app:1'}}\n")
    (tmp_path / "start.sh").write_text("#!/bin/sh\nexport STAMP=$(date +%s)\n")
    result = audit(compose=[{"files": [str(tmp_path / "compose.yml")], "scripts": [str(tmp_path / "start.sh")]}])
    assert not result.get("failed"), result.get("msg")
    assert [w for w in result.get("warnings", []) if "start.sh line 2 skipped" in w["event"]["msg"]], result.get("warnings")
