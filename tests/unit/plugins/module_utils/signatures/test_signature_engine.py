"""The signature engine's pieces on their own: encodings from the specs, keys, bundles, trusted roots, Rekor SETs, rules."""

import base64
import datetime
import hashlib
import json

import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec

from ansible_collections.airlock.airgap.plugins.module_utils.signatures import (
    dsse, keys, policy, sigstore_bundle, simplesigning, trusted_root)
from ansible_collections.airlock.airgap.plugins.module_utils.signatures.errors import SignatureError

DIGEST = "sha256:" + "ab" * 32


def _pem(private_key):
    return private_key.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo).decode()


@pytest.fixture(name="signer")
def signer_fixture():
    return keys.Signer(ec.generate_private_key(ec.SECP256R1()), "test key")


def test_the_pre_authentication_encoding_is_the_dsse_spec_s():
    assert dsse.pre_authentication_encoding("http://example.com/HelloWorld", b"hello world") == \
        b"DSSEv1 29 http://example.com/HelloWorld 11 hello world"


def test_a_key_verifies_its_signatures_and_names_itself_by_its_der_fingerprint(signer):
    public = keys.load_public_key(signer.public_key.pem)
    signature = signer.sign(b"payload")
    assert public.verifies(signature, b"payload") and not public.verifies(signature, b"payloaD")
    assert public.verifies_digest(signature, hashlib.sha256(b"payload").digest())
    assert public.fingerprint == "SHA256:" + hashlib.sha256(public.der).hexdigest()


def test_a_key_that_is_not_pem_is_refused_by_name(tmp_path):
    with pytest.raises(SignatureError, match="keys\\[0\\].*cannot be read"):
        keys.load_public_keys([str(tmp_path / "absent.pub")], "keys")
    with pytest.raises(SignatureError, match="is not a PEM public key"):
        keys.load_public_key("-----BEGIN PUBLIC KEY-----\nnot a key\n-----END PUBLIC KEY-----\n")


def test_only_a_p256_private_key_signs_bundles(tmp_path):
    other = ec.generate_private_key(ec.SECP384R1())
    with pytest.raises(SignatureError, match="not an ECDSA P-256 private key"):
        keys.Signer(other, "k")
    path = tmp_path / "encrypted.key"
    path.write_bytes(ec.generate_private_key(ec.SECP256R1()).private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.BestAvailableEncryption(b"right")))
    assert keys.load_signer(str(path), "right").public_key.fingerprint.startswith("SHA256:")
    with pytest.raises(SignatureError, match="check the password"):
        keys.load_signer(str(path), "wrong")
    with pytest.raises(SignatureError, match="is encrypted and no password"):
        keys.load_signer(str(path), None)


def test_a_bundle_we_build_verifies_for_its_file_and_for_no_other(signer):
    bundle = sigstore_bundle.build(signer, b"index")
    assert bundle["mediaType"] == sigstore_bundle.MEDIA_TYPE_V03
    allowed = [signer.public_key]
    assert sigstore_bundle.verify_for_file(bundle, allowed, hashlib.sha256(b"index").digest(), "f") == (signer.public_key.fingerprint, None)
    _signer, problem = sigstore_bundle.verify_for_file(bundle, allowed, hashlib.sha256(b"other").digest(), "f")
    assert "signs another message" in problem


def test_a_keyless_bundle_is_said_to_be_unverifiable_offline(signer):
    bundle = dict(sigstore_bundle.build(signer, b"x"), verificationMaterial={"certificate": {"rawBytes": "AA=="}})
    assert sigstore_bundle.verify_for_image(bundle, [signer.public_key], DIGEST) == (None, simplesigning.KEYLESS_NOT_OFFLINE)


def test_a_simple_signing_payload_must_name_the_image():
    payload = json.dumps({"critical": {"image": {"docker-manifest-digest": DIGEST}}}).encode()
    assert simplesigning.payload_problem(payload, DIGEST) is None
    assert "another image" in simplesigning.payload_problem(payload, "sha256:" + "cd" * 32)
    assert "not simple-signing JSON" in simplesigning.payload_problem(b"[]", DIGEST)


def _root(tmp_path, log_key, end=None):
    der = log_key.public_key().public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    validity = {"start": "2020-01-01T00:00:00Z", **({"end": end} if end else {})}
    path = tmp_path / "trusted_root.json"
    path.write_text(json.dumps({"mediaType": "application/vnd.dev.sigstore.trustedroot+json;version=0.1",
                                "tlogs": [{"publicKey": {"rawBytes": base64.b64encode(der).decode(), "validFor": validity}}]}))
    return str(path), hashlib.sha256(der).hexdigest()


def test_a_trusted_root_that_is_missing_expired_or_foreign_is_refused(tmp_path):
    with pytest.raises(SignatureError, match="is missing"):
        trusted_root.load(str(tmp_path / "absent.json"))
    path, _log_id = _root(tmp_path, ec.generate_private_key(ec.SECP256R1()), end="2021-01-01T00:00:00Z")
    with pytest.raises(SignatureError, match="has expired"):
        trusted_root.load(path)
    (tmp_path / "other.json").write_text('{"mediaType": "application/json"}')
    with pytest.raises(SignatureError, match="not a sigstore trusted root"):
        trusted_root.load(str(tmp_path / "other.json"))


def test_a_rekor_set_verifies_with_the_roots_log_key_for_its_own_signature_only(tmp_path):
    log_key = ec.generate_private_key(ec.SECP256R1())
    path, log_id = _root(tmp_path, log_key)
    root = trusted_root.load(path, now=datetime.datetime(2026, 1, 1, tzinfo=datetime.timezone.utc))
    payload, signature = b"payload", b"signature bytes"
    body = {"spec": {"data": {"hash": {"value": hashlib.sha256(payload).hexdigest()}},
                     "signature": {"content": base64.b64encode(signature).decode()}}}
    entry = {"body": base64.b64encode(json.dumps(body).encode()).decode(), "integratedTime": 1767225600, "logIndex": 1, "logID": log_id}
    canonical = json.dumps(entry, sort_keys=True, separators=(",", ":")).encode()
    annotation = json.dumps({"SignedEntryTimestamp": base64.b64encode(log_key.sign(canonical, ec.ECDSA(hashes.SHA256()))).decode(),
                             "Payload": entry})
    assert trusted_root.verify_set(root, annotation, signature, payload) is None
    assert "another signature or payload" in trusted_root.verify_set(root, annotation, b"other", payload)
    forged = json.dumps({"SignedEntryTimestamp": base64.b64encode(b"0" * 70).decode(), "Payload": entry})
    assert "does not verify with the log key" in trusted_root.verify_set(root, forged, signature, payload)


def test_the_first_matching_rule_decides_and_a_required_rule_needs_keys(signer):
    rules = policy.load_rules([{"match": "ghcr.io/org/*", "require": "signed", "keys": [signer.public_key.pem]},
                               {"match": "*", "require": "optional", "keys": []}])
    assert policy.rule_for(rules, "ghcr.io/org/app", "ghcr.io/org/app:1").require == "signed"
    assert policy.rule_for(rules, "docker.io/library/nats", "docker.io/library/nats:2").require == "optional"
    with pytest.raises(SignatureError, match="lists no keys"):
        policy.load_rules([{"match": "*", "require": "signed", "keys": []}])
