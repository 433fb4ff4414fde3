# Copyright (c) 2026, airlock.airgap contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The audit's judgement of hosts and registries."""

from __future__ import annotations

import pytest

from ansible_collections.airlock.airgap.plugins.module_utils.inventory import egress

POLICY = egress.Policy(("registry.enclave:5000", "*.mirror.lan", "shared.lan/airgap"), ("*.enclave.lan",))


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


def test_text_reports_urls_and_bare_denied_hosts_once():
    audit = egress.Audit(POLICY)
    audit.text("pull from https://huggingface.co/x or hf://org/m, mirror nvcr.io, image nvcr.io/nim/x:1", "f", "o", "p")
    assert [v["reason"] for v in audit.violations] == ["a hosted endpoint on the deny list"]
