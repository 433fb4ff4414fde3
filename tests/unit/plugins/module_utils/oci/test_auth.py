"""Credentials from docker config.json and credential helpers; challenge parsing."""

import base64
import json
import subprocess

import pytest

from ansible_collections.airlock.airgap.plugins.module_utils.oci import auth


def write_config(tmp_path, config):
    path = tmp_path / "config.json"
    path.write_text(json.dumps(config))
    return str(path)


def test_auths_entry_with_base64_user_and_password(tmp_path):
    encoded = base64.b64encode(b"alice:s3:cret").decode()
    path = write_config(tmp_path, {"auths": {"registry.enclave:5000": {"auth": encoded}}})
    found = auth.from_docker_config("registry.enclave:5000", path)
    assert (found.username, found.secret) == ("alice", "s3:cret")
    assert "s3:cret" not in repr(found)


def test_docker_hub_is_found_under_its_legacy_key(tmp_path):
    encoded = base64.b64encode(b"bob:pw").decode()
    path = write_config(tmp_path, {"auths": {"https://index.docker.io/v1/": {"auth": encoded}}})
    assert auth.from_docker_config("docker.io", path).username == "bob"


def test_identity_token_is_kept_as_a_token(tmp_path):
    path = write_config(tmp_path, {"auths": {"ghcr.io": {"auth": "", "identitytoken": "tok"}}})
    found = auth.from_docker_config("ghcr.io", path)
    assert found.is_identity_token and found.secret == "tok"


def test_no_entry_means_anonymous(tmp_path):
    path = write_config(tmp_path, {"auths": {"other.example": {"auth": base64.b64encode(b"a:b").decode()}}})
    assert auth.from_docker_config("registry.enclave:5000", path) is None


def test_a_named_config_that_does_not_exist_is_an_error(tmp_path):
    with pytest.raises(auth.CredentialError, match="does not exist"):
        auth.from_docker_config("x.example", str(tmp_path / "missing.json"))


def test_bad_base64_is_named(tmp_path):
    path = write_config(tmp_path, {"auths": {"x.example": {"auth": "%%%"}}})
    with pytest.raises(auth.CredentialError, match="not base64"):
        auth.from_docker_config("x.example", path)


def test_credential_helper_is_asked_for_its_registry(tmp_path):
    path = write_config(tmp_path, {"credHelpers": {"x.example": "fake"}})
    asked = []

    def run(argv, **kwargs):
        asked.append((argv, kwargs["input"]))
        return subprocess.CompletedProcess(argv, 0, json.dumps({"Username": "carol", "Secret": "pw"}), "")

    found = auth.from_docker_config("x.example", path, run=run)
    assert asked == [(["docker-credential-fake", "get"], "x.example")]
    assert found.username == "carol"


def test_credential_helper_not_found_means_anonymous(tmp_path):
    path = write_config(tmp_path, {"credsStore": "fake"})

    def run(argv, **kwargs):
        return subprocess.CompletedProcess(argv, 1, "credentials not found in native keychain", "")

    assert auth.from_docker_config("x.example", path, run=run) is None


def test_missing_credential_helper_is_named(tmp_path):
    path = write_config(tmp_path, {"credHelpers": {"x.example": "surely-not-installed-helper"}})
    with pytest.raises(auth.CredentialError, match="docker-credential-surely-not-installed-helper"):
        auth.from_docker_config("x.example", path)


def test_bearer_challenge_is_parsed():
    scheme, params = auth.parse_challenge(
        'Bearer realm="https://auth.example/token",service="registry.example",scope="repository:a/b:pull"')
    assert scheme == "bearer"
    assert params == {"realm": "https://auth.example/token", "service": "registry.example", "scope": "repository:a/b:pull"}


def test_basic_challenge_is_parsed():
    assert auth.parse_challenge('Basic realm="airlock-private"') == ("basic", {"realm": "airlock-private"})
