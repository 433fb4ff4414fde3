"""The testbed's two registries speak the distribution API for real."""

import pytest
import requests

from distribution import Registry
from tiny_image import OCI_MANIFEST, build, sha256

pytestmark = pytest.mark.testbed


def test_public_registry_round_trips_a_blob_and_manifest(testbed):
    registry = Registry(testbed.public_registry)
    image = build("public\n")
    pushed = registry.push_image("smoke/public", "v1", image)
    assert pushed.headers["Docker-Content-Digest"] == image.manifest_digest
    assert registry.get_blob("smoke/public", sha256(image.layer_gzip)) == image.layer_gzip
    fetched = registry.get_manifest("smoke/public", "v1", OCI_MANIFEST)
    assert fetched.content == image.manifest
    assert fetched.headers["Docker-Content-Digest"] == image.manifest_digest


def test_private_registry_needs_credentials(testbed):
    anonymous = Registry(testbed.private_registry, scheme="https", verify=testbed.private_ca)
    response = anonymous.ping()
    assert response.status_code == 401
    assert "Basic" in response.headers["WWW-Authenticate"]


def test_private_registry_round_trips_over_tls_with_auth(testbed):
    registry = Registry(testbed.private_registry, scheme="https",
                        auth=(testbed.private_user, testbed.private_password), verify=testbed.private_ca)
    assert registry.ping().status_code == 200
    image = build("private\n")
    pushed = registry.push_image("mirror/smoke", "v1", image)
    assert pushed.headers["Docker-Content-Digest"] == image.manifest_digest
    assert registry.get_blob("mirror/smoke", image.config_digest) == image.config
    assert registry.get_manifest("mirror/smoke", image.manifest_digest, OCI_MANIFEST).content == image.manifest


def test_private_registry_rejects_wrong_password(testbed):
    registry = Registry(testbed.private_registry, scheme="https",
                        auth=(testbed.private_user, "not-the-password"), verify=testbed.private_ca)
    assert registry.ping().status_code == 401


def test_private_registry_tls_fails_without_the_generated_ca(testbed):
    registry = Registry(testbed.private_registry, scheme="https",
                        auth=(testbed.private_user, testbed.private_password), verify=True)
    with pytest.raises(requests.exceptions.SSLError):
        registry.ping()
