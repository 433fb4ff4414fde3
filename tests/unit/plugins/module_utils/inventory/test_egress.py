# Copyright (c) 2026, airlock.airgap contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The audit's judgement of hosts and registries."""

from __future__ import annotations

import pytest
import yaml

from ansible_collections.airlock.airgap.plugins.module_utils.inventory import egress

POLICY = egress.Policy(("registry.enclave:5000", "*.mirror.lan", "shared.lan/airgap"), ("*.enclave.lan",), s3_endpoint="http://minio:9000")


@pytest.mark.parametrize("host, verdict", [
    ("huggingface.co", "a hosted endpoint on the deny list"), ("cdn-lfs.huggingface.co", "a hosted endpoint on the deny list"),
    ("integrate.api.nvidia.com", "a hosted endpoint on the deny list"), ("registry-1.docker.io:443", "a hosted endpoint on the deny list"),
    ("api.example.com", "a URL outside the allow list"), ("files.enclave.lan", None), ("minio:9000", None),
    ("minio.storage.svc.cluster.local", None), ("10.1.2.3:8080", None), ("[::1]:80", None), ("8.8.8.8", "a URL outside the allow list"),
    ("user:pw@registry.enclave:5000", None),
])
def test_host_verdict(host, verdict):
    assert POLICY.host_verdict(host) == verdict


@pytest.mark.parametrize("image, allowed", [
    ("registry.enclave:5000/acme/api:1", True), ("a.mirror.lan/x:1", True), ("shared.lan/airgap/x:1", True),
    ("shared.lan/other/x:1", False), ("registry.enclave/acme/api:1", False), ("redis", False),
])
def test_image_allowed(image, allowed):
    assert POLICY.image_allowed(image) is allowed


DENIED = "a hosted endpoint on the deny list"


def found(audit):
    return sorted((v["path"], v["value"], v["reason"]) for v in audit.violations)


@pytest.mark.parametrize("value, shown", [
    ("ghcr.io/org/sidecar", "ghcr.io/org/sidecar"),
    ("huggingface.co/BAAI/bge-m3", "huggingface.co/BAAI/bge-m3"),
    ("pull huggingface.co/BAAI/bge-m3?revision=main now", "huggingface.co/BAAI/bge-m3"),
    ("models from cdn-lfs.huggingface.co:443/repos/x, then", "cdn-lfs.huggingface.co:443/repos/x"),
    ("--model=nvcr.io/nim/meta/llama", "nvcr.io/nim/meta/llama"),
])
def test_a_denied_host_without_a_scheme_followed_by_a_path(value, shown):
    audit = egress.Audit(POLICY)
    audit.text(value, "f", "env", "MODEL")
    assert found(audit) == [("MODEL", shown, DENIED)]


@pytest.mark.parametrize("value", [
    "/data/huggingface.co/BAAI/bge-m3", "s3://bucket/huggingface.co/x", "https://files.enclave.lan/mirror/ghcr.io/org/x",
    "huggingface.com/x", "registry.enclave:5000/ghcr.io/org/x:1", "myghcr.io/x",
])
def test_a_denied_host_inside_a_path_or_a_longer_name_is_not_a_host(value):
    audit = egress.Audit(POLICY)
    audit.text(value, "f", "env", "MODEL")
    assert audit.violations == []


def test_an_allowed_host_wins_over_the_deny_list_without_a_scheme_too():
    audit = egress.Audit(egress.Policy(("registry.enclave:5000",), ("huggingface.co",)))
    audit.text("huggingface.co/BAAI/bge-m3 and https://huggingface.co/x", "f", "env", "MODEL")
    assert audit.violations == []


@pytest.mark.parametrize("value, shown, reason", [
    ("https://user:tok@huggingface.co/x", "https://huggingface.co/x", DENIED),
    ("postgres://u:pw@db.example.com", "postgres://db.example.com", "a URL outside the allow list"),
    ("https://api.example.com/v1/models?api_key=s3cr3t&x=1#frag", "https://api.example.com/v1/models", "a URL outside the allow list"),
    ("hf://BAAI/bge-m3?token=abc", "hf://BAAI/bge-m3", DENIED),
    ("git@github.com:org/x token=abc huggingface.co?token=abc", "huggingface.co", DENIED),
])
def test_a_violation_shows_where_never_credentials_or_queries(value, shown, reason):
    audit = egress.Audit(POLICY)
    audit.text(value, "f", "env", "URL")
    assert found(audit) == [("URL", shown, reason)]
    assert all(secret not in repr(audit.violations) for secret in ("tok", "pw", "s3cr3t", "token", "frag"))


def test_a_multi_line_value_is_never_echoed_whole():
    blob = "# settings\nsecret: hunter2\nendpoint: https://user:hunter2@integrate.api.nvidia.com/v1/chat?key=hunter2\n" * 3
    audit = egress.Audit(POLICY)
    audit.text(blob, "f", "ConfigMap/c", "data.settings")
    assert found(audit) == [("data.settings", "https://integrate.api.nvidia.com/v1/chat", DENIED)]
    assert "hunter2" not in repr(audit.violations)


def test_each_endpoint_of_a_value_is_its_own_violation():
    audit = egress.Audit(POLICY)
    audit.text("pull from https://huggingface.co/x or hf://org/m, mirror nvcr.io, api https://api.example.com", "f", "o", "p")
    assert found(audit) == [("p", "hf://org/m", DENIED), ("p", "https://api.example.com", "a URL outside the allow list"),
                            ("p", "https://huggingface.co/x", DENIED), ("p", "nvcr.io", DENIED)]


def test_an_image_outside_the_mirror_is_reported_once_not_again_as_a_host(tmp_path):
    manifest = tmp_path / "pod.yaml"
    manifest.write_text("apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  imagePullSecrets: [{name: m}]\n"
                        "  containers:\n  - name: a\n    image: nvcr.io/nim/llm:1\n    args: ['--image=ghcr.io/org/x:1']\n"
                        "    env: [{name: MODEL, value: huggingface.co/BAAI/bge-m3}]\n")
    audit = egress.Audit(POLICY)
    egress.audit_path(audit, str(manifest))
    assert found(audit) == [
        ("spec.containers[0].args[0]", "ghcr.io/org/x:1", "image named in configuration outside the allowed registries"),
        ("spec.containers[0].env[0].value", "huggingface.co/BAAI/bge-m3", DENIED),
        ("spec.containers[0].image", "nvcr.io/nim/llm:1", "image outside the allowed registries"),
    ]


def test_an_env_file_with_hosts_written_without_a_scheme(tmp_path):
    env = tmp_path / "app.env"
    env.write_text("SIDECAR=ghcr.io/org/sidecar\nMODEL=huggingface.co/BAAI/bge-m3\nDB=postgres://u:pw@db.example.com/app?sslmode=require\n")
    audit = egress.Audit(POLICY)
    egress.audit_path(audit, str(env))
    assert found(audit) == [("DB", "postgres://db.example.com/app", "a URL outside the allow list"),
                            ("MODEL", "huggingface.co/BAAI/bge-m3", DENIED), ("SIDECAR", "ghcr.io/org/sidecar", DENIED)]
    assert "pw" not in repr(audit.violations)


SECRET = """apiVersion: v1
kind: Secret
metadata: {name: app-env}
type: Opaque
data:
  HF_ENDPOINT: aHR0cHM6Ly9odWdnaW5nZmFjZS5jbw==
  TOKEN: aGZfc2VjcmV0dG9rZW4=
  BLOB: /w==
  BAD: '%%%'
stringData:
  NGC_URL: https://user:nvapi-secret@api.ngc.nvidia.com/v2
  SIDECAR_IMAGE: ghcr.io/org/sidecar:1
  LOCAL: http://minio:9000
"""


def test_secret_values_are_checked_and_only_their_key_is_reported(tmp_path):
    manifest = tmp_path / "secret.yaml"
    manifest.write_text(SECRET)
    audit = egress.Audit(POLICY)
    egress.audit_path(audit, str(manifest))
    assert sorted((v["object"], v["path"], v["reason"]) for v in audit.violations) == [
        ("Secret/app-env", "data.HF_ENDPOINT", DENIED),
        ("Secret/app-env", "stringData.NGC_URL", DENIED),
        ("Secret/app-env", "stringData.SIDECAR_IMAGE", "image named in configuration outside the allowed registries"),
    ]
    shown = repr(audit.violations)
    assert all(secret not in shown for secret in ("huggingface.co", "nvapi-secret", "api.ngc", "ghcr.io", "aHR0c"))
    assert {v["value"] for v in audit.violations} == {egress.SECRET_VALUE}


def test_a_document_that_cannot_be_read_is_reported_without_its_lines(tmp_path):
    manifest = tmp_path / "broken.yaml"
    manifest.write_text("apiVersion: v1\nkind: Secret\nmetadata: {name: s}\nstringData:\n  a: pw1\n   token: [hunter2\n")
    audit = egress.Audit(POLICY)
    egress.audit_path(audit, str(manifest))
    assert [(v["object"], v["value"]) for v in audit.violations] == [("document/0", "")]
    assert "line 6, column 9" in audit.violations[0]["reason"] and "hunter2" not in repr(audit.violations)


@pytest.mark.parametrize("s3_endpoint, allowed_hosts, reason", [
    ("", (), egress.AWS_S3),
    ("", ("*.amazonaws.com",), None),
    ("http://seaweedfs.storage.svc:8333", (), None),
    ("s3.enclave.lan:9000", ("*.enclave.lan",), None),
    ("https://s3.us-west-2.amazonaws.com", (), "a URL outside the allow list"),
])
def test_an_s3_url_goes_where_the_endpoint_is_and_with_none_to_aws(s3_endpoint, allowed_hosts, reason):
    audit = egress.Audit(egress.Policy(("registry.enclave:5000",), allowed_hosts, s3_endpoint=s3_endpoint))
    audit.text("weights at s3://models/hf and s3a://lake/raw", "f", "values", "workers.common.clusterCache.url")
    expected = [("workers.common.clusterCache.url", "s3://models/hf", reason), ("workers.common.clusterCache.url", "s3a://lake/raw", reason)]
    assert found(audit) == ([] if reason is None else expected)


NIM_CACHE = {"spec": {"source": {"ngc": {"modelPuller": "registry.enclave:5000/nim/llm:1", "authSecret": "ngc-api"}},
                      "sources": [{"hf": {"namespace": "BAAI", "modelName": "bge-m3"}},
                                  {"hf": {"endpoint": "http://hf-mirror.enclave.lan", "modelName": "x"}}],
                      "storage": {"ngc": {"note": "not a source"}}}}


def test_model_sources_that_download_from_ngc_or_the_hub_are_found_under_source_keys_only():
    assert list(egress.hosted_model_sources(NIM_CACHE)) == [("spec.source.ngc", "ngc"), ("spec.sources[0].hf", "hf")]


def test_a_custom_resource_downloading_a_model_from_a_hosted_service_is_outside_unless_allowed(tmp_path):
    manifest = tmp_path / "cache.yaml"
    manifest.write_text(yaml.safe_dump(dict(NIM_CACHE, apiVersion="apps.nvidia.com/v1alpha1", kind="NIMCache", metadata={"name": "llm"})))
    audit = egress.Audit(POLICY)
    egress.audit_path(audit, str(manifest))
    assert sorted((v["object"], v["path"], v["value"], v["reason"]) for v in audit.violations) == [
        ("NIMCache/llm", "spec.source.ngc", "ngc.nvidia.com", "a model source that downloads from NGC"),
        ("NIMCache/llm", "spec.sources[0].hf", "huggingface.co", "a model source that downloads from the Hugging Face Hub")]
    allowed = egress.Audit(egress.Policy(("registry.enclave:5000",), ("*.enclave.lan", "ngc.nvidia.com", "huggingface.co")))
    egress.audit_path(allowed, str(manifest))
    assert allowed.violations == []


def test_a_core_object_with_an_ngc_key_is_not_a_model_source(tmp_path):
    manifest = tmp_path / "config.yaml"
    manifest.write_text("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\ndata: {source: 'ngc'}\n")
    audit = egress.Audit(POLICY)
    egress.audit_path(audit, str(manifest))
    assert audit.violations == []
