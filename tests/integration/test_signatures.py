"""Image signatures verified offline, and the bundle signed: every signature made by a tool this collection did not write.

openssl signs cosign-style simple-signing payloads (.sig tags), securesystemslib signs DSSE envelopes (.att tags), the npm
@sigstore/sign package makes v0.3 bundles (OCI referrers). They travel the way prepare carries them: pushed to the testbed's
public registry, copied into a bundle layout by image_copy. Every verification runs in a network namespace with no network.
"""

import base64
import hashlib
import json
import os
import subprocess
import uuid

import pytest

import oci_artifacts
import signers
from module_runner import run_module
from offline_runner import network_namespace, run_module_offline, unreachable_from
from ansible_collections.airlock.airgap.plugins.module_utils.oci.auth import Credentials
from ansible_collections.airlock.airgap.plugins.module_utils.oci.layout import Layout
from ansible_collections.airlock.airgap.plugins.module_utils.oci.registry import RegistryClient

pytestmark = pytest.mark.testbed

CASES_SIGNED = {  # image -> (verdict, formats or the reason it is refused)
    "sig-valid": ("verified", ["cosign-sig"]),
    "sig-other-digest": ("refused", "the signature is for another image"),
    "sig-tampered": ("refused", "does not verify with any allowed key"),
    "sig-wrong-key": ("refused", "does not verify with any allowed key"),
    "unsigned": ("refused", None),
    "att-valid": ("verified", ["dsse"]),
    "att-other-digest": ("refused", "the statement is about another image"),
    "bundle-valid": ("verified", ["sigstore-bundle"]),
    "bundle-wrong-key": ("refused", "no envelope signature verifies with an allowed key"),
    "bundle-tampered": ("refused", "no envelope signature verifies with an allowed key"),
    "keyless": ("refused", "keyless signatures are not verified offline"),
    "rekor-valid": ("verified", ["cosign-sig"]),
    "rekor-forged": ("refused", "signed entry timestamp does not verify with the log key"),
}


@pytest.fixture(scope="module")
def material(tmp_path_factory):
    """Keys from openssl: the release key the policy allows, a stranger's key, and a transparency log's key."""
    root = tmp_path_factory.mktemp("keys")
    keys = {name: signers.openssl_keypair(str(root), name) for name in ("release", "stranger", "log")}
    return {"dir": root, "keys": keys, "node_modules": signers.npm_sigstore()}


def _trusted_root(path, log_public, end=None):
    """A sigstore trusted root naming our own log key (and nothing else we need offline)."""
    der = subprocess.run(["openssl", "pkey", "-pubin", "-in", log_public, "-outform", "DER"], capture_output=True, check=True).stdout
    validity = {"start": "2020-01-01T00:00:00Z", **({"end": end} if end else {})}
    document = {"mediaType": "application/vnd.dev.sigstore.trustedroot+json;version=0.1",
                "tlogs": [{"baseUrl": "https://rekor.test.invalid", "hashAlgorithm": "SHA2_256",
                           "publicKey": {"rawBytes": signers.b64(der), "keyDetails": "PKIX_ECDSA_P256_SHA_256", "validFor": validity},
                           "logId": {"keyId": signers.b64(hashlib.sha256(der).digest())}}],
                "certificateAuthorities": [], "ctlogs": [], "timestampAuthorities": []}
    path.write_text(json.dumps(document))
    return str(path), hashlib.sha256(der).hexdigest()


def _rekor_bundle(log_key, log_id, signature, payload, signer_public):
    """A cosign dev.sigstore.cosign/bundle annotation: a hashedrekord entry and its SET, signed by openssl with log_key."""
    with open(signer_public, "rb") as handle:
        body = {"apiVersion": "0.0.1", "kind": "hashedrekord", "spec": {
            "data": {"hash": {"algorithm": "sha256", "value": hashlib.sha256(payload).hexdigest()}},
            "signature": {"content": signers.b64(signature), "publicKey": {"content": signers.b64(handle.read())}}}}
    entry = {"body": signers.b64(json.dumps(body).encode()), "integratedTime": 1767225600, "logIndex": 42, "logID": log_id}
    canonical = json.dumps(entry, sort_keys=True, separators=(",", ":")).encode()
    return json.dumps({"SignedEntryTimestamp": signers.b64(signers.openssl_sign(log_key, canonical)), "Payload": entry})


def _sign_image(layout, material, name, case, image, other):
    """The signature of one case, as the case describes it."""
    keys, scratch = material["keys"], str(material["dir"])
    digest = image.digest
    reference = name.rsplit(":", 1)[0]
    if case.startswith(("sig-", "keyless", "rekor-")):
        signed_for = other.digest if case == "sig-other-digest" else digest
        payload = signers.simple_signing_payload(reference, signed_for)
        signer = keys["stranger" if case in ("sig-wrong-key", "keyless") else "release"][0]
        signature = signers.openssl_sign(signer, payload)
        annotations = {"dev.cosignproject.cosign/signature": signers.b64(signature)}
        if case == "sig-tampered":
            payload = payload.replace(b"cosign container image signature", b"cosign container image signaturE")
        if case == "keyless":
            certificate = subprocess.run(["openssl", "req", "-x509", "-new", "-key", signer, "-subj", "/CN=ci@example.org",
                                          "-days", "1"], capture_output=True, check=True, text=True).stdout
            annotations["dev.sigstore.cosign/certificate"] = certificate
        if case.startswith("rekor-"):
            log_key = keys["log" if case == "rekor-valid" else "stranger"][0]
            annotations["dev.sigstore.cosign/bundle"] = _rekor_bundle(log_key, material["log_id"], signature, payload, keys["release"][1])
        oci_artifacts.add_cosign_tag(layout, reference, digest, "sig", [(oci_artifacts.SIMPLE_SIGNING, payload, annotations)])
    elif case.startswith("att-"):
        statement = signers.in_toto_statement(other.digest if case == "att-other-digest" else digest)
        envelope = signers.securesystemslib_envelope(keys["release"][0], statement)
        oci_artifacts.add_cosign_tag(layout, reference, digest, "att",
                                     [(oci_artifacts.DSSE, json.dumps(envelope).encode(), {"predicateType": "https://slsa.dev/provenance/v1"})])
    elif case.startswith("bundle-"):
        signer = keys["stranger" if case == "bundle-wrong-key" else "release"][0]
        bundle = signers.sigstore_js_bundle(material["node_modules"], signer, signers.in_toto_statement(digest), scratch)
        if case == "bundle-tampered":
            envelope = bundle["dsseEnvelope"]
            envelope["payload"] = signers.b64(base64.b64decode(envelope["payload"]).replace(b"tests", b"evil!"))
        oci_artifacts.add_referrer(layout, image, oci_artifacts.SIGSTORE_BUNDLE, json.dumps(bundle).encode())


@pytest.fixture(scope="module")
def carried(testbed, material, tmp_path_factory):
    """Every case's image and signature, pushed to the public registry, then copied into a bundle layout as prepare copies."""
    root = tmp_path_factory.mktemp("signatures")
    material["trusted_root"], material["log_id"] = _trusted_root(root / "trusted_root.json", material["keys"]["log"][1])
    prefix = f"{testbed.public_registry}/w19sig-{uuid.uuid4().hex[:8]}"
    source = Layout(str(root / "source"), create=True)
    images = {case: oci_artifacts.add_image(source, f"{prefix}/{case}:v1", f"{case}\n") for case in CASES_SIGNED}
    images["optional-unsigned"] = oci_artifacts.add_image(source, f"{prefix}/optional-unsigned:v1", "optional\n")
    for case, image in images.items():
        if case not in ("unsigned", "optional-unsigned"):
            _sign_image(source, material, f"{prefix}/{case}:v1", case, image, images["unsigned"])
    registries = [{"host": testbed.public_registry, "insecure": True}]
    pushed = run_module("image_copy", {"images": [f"oci:{source.root}"], "destination": f"docker://{testbed.public_registry}",
                                       "registries": registries, "include_signatures": True})
    assert not pushed.get("failed"), pushed.get("msg")
    bundle = root / "bundle"
    copied = run_module("image_copy", {"images": sorted(f"{prefix}/{case}:v1" for case in images), "destination": f"oci:{bundle}/images",
                                       "registries": registries, "include_signatures": True, "lock_file": str(bundle / "airlock.lock.json")})
    assert not copied.get("failed"), copied.get("msg")
    yield {"prefix": prefix, "bundle": bundle, "images": images, "root": root}
    oci_artifacts.delete_pushed(pushed)


def _policy(carried, material, trusted_root=None):
    release = material["keys"]["release"][1]
    return [{"match": f"{carried['prefix']}/rekor-*", "keys": [release], "trusted_root": trusted_root or material["trusted_root"]},
            {"match": f"{carried['prefix']}/optional-*", "require": "optional", "keys": [release]},
            {"match": f"{carried['prefix']}/*", "require": "signed", "keys": [release]}]


def test_each_format_and_case_gets_its_verdict_offline(testbed, carried, material):
    bundle = carried["bundle"]
    with network_namespace() as namespace:
        assert unreachable_from(namespace, testbed.public_registry)
        result = run_module_offline(namespace, "image_signatures", {
            "layout": str(bundle / "images"), "lock_file": str(bundle / "airlock.lock.json"), "record": True,
            "policy": _policy(carried, material)})
    assert result["failed"] and result["refused"] == sum(verdict == "refused" for verdict, _detail in CASES_SIGNED.values())
    verdicts = {entry["image"].rsplit("/", 1)[1].split(":")[0]: entry for entry in result["images"]}
    fingerprint = "SHA256:" + hashlib.sha256(subprocess.run(["openssl", "pkey", "-pubin", "-in", material["keys"]["release"][1],
                                                             "-outform", "DER"], capture_output=True, check=True).stdout).hexdigest()
    for case, (verdict, detail) in CASES_SIGNED.items():
        entry = verdicts[case]
        assert entry["verdict"] == verdict, (case, entry)
        assert entry["signed_digest"] == carried["images"][case].digest
        if verdict == "verified":
            assert entry["formats"] == detail and entry["signed_by"] == [fingerprint], (case, entry)
        elif detail is None:
            assert entry["signatures"] == [] and f"{case}:v1" in result["msg"] and "no signature was found" in result["msg"]
        else:
            assert any(detail in finding["problem"] for finding in entry["signatures"]), (case, entry)
            assert detail in result["msg"]
    assert verdicts["optional-unsigned"]["verdict"] == "unverified"
    # nothing is written when refusing: the lock gets no verdicts from a failed run
    with open(bundle / "airlock.lock.json", encoding="utf-8") as handle:
        assert "signatures" not in json.load(handle)


def test_signed_images_pass_and_are_recorded_once_then_pushed_in_both_forms(testbed, carried, material, private_registry_settings):
    bundle = carried["bundle"]
    valid = [f"{carried['prefix']}/{case}" for case, (verdict, _detail) in CASES_SIGNED.items() if verdict == "verified"]
    layout = Layout(str(bundle / "images"))
    passing = Layout(str(carried["root"] / "passing"), create=True)
    for name in layout.ref_names():  # the verified images and their signatures, in a layout of their own
        if any(name.startswith(image + ":") for image in valid):
            manifest = layout.read_manifest(layout.find(name)["digest"])
            passing.tag(manifest, name)
    _share_blobs(layout, passing, valid)
    arguments = {"layout": passing.root, "lock_file": str(bundle / "airlock.lock.json"), "record": True,
                 "policy": [{"match": name, "keys": [material["keys"]["release"][1]],
                             **({"trusted_root": material["trusted_root"]} if "rekor" in name else {})} for name in valid]}
    with network_namespace() as namespace:
        first = run_module_offline(namespace, "image_signatures", arguments)
        second = run_module_offline(namespace, "image_signatures", arguments)
        expired, _log_id = _trusted_root(carried["root"] / "expired_root.json", material["keys"]["log"][1], end="2021-01-01T00:00:00Z")
        stale = run_module_offline(namespace, "image_signatures", dict(arguments, record=False, policy=[
            {"match": "*", "keys": [material["keys"]["release"][1]], "trusted_root": expired}]))
        missing = run_module_offline(namespace, "image_signatures", dict(arguments, record=False, policy=[
            {"match": "*", "keys": [material["keys"]["release"][1]], "trusted_root": str(carried["root"] / "absent.json")}]))
    assert not first.get("failed"), first.get("msg")
    assert first["changed"] and first["verified"] == len(valid)
    assert not second["changed"], "a second verification of unchanged images must not rewrite the lock"
    assert stale["failed"] and "has expired" in stale["msg"]
    assert missing["failed"] and "is missing" in missing["msg"]
    with open(bundle / "airlock.lock.json", encoding="utf-8") as handle:
        recorded = {entry["image"]: entry for entry in json.load(handle)["signatures"]}
    assert all(recorded[f"{name}:v1"]["verdict"] == "verified" and recorded[f"{name}:v1"]["verified_at"] for name in valid)

    # publish: image_copy pushes the signatures as tags and the referrers both by subject and under the referrers tag schema
    pushed = run_module("image_copy", {"images": [f"oci:{passing.root}"], "destination": f"docker://{testbed.private_registry}/w19",
                                       "registries": [private_registry_settings], "include_signatures": True})
    assert not pushed.get("failed"), pushed.get("msg")
    request_options = {"auth": (testbed.private_user, testbed.private_password), "verify": testbed.private_ca}
    try:
        _check_both_forms(testbed, carried)
    finally:
        oci_artifacts.delete_pushed(pushed, "https", **request_options)


def _check_both_forms(testbed, carried):
    """The signatures in the enclave registry as cosign tags, and the referrers under the referrers tag schema."""
    client = RegistryClient(testbed.private_registry, Credentials(testbed.private_user, testbed.private_password), ca_file=testbed.private_ca)
    enclave_path = f"w19/{carried['prefix'].split('/', 1)[1]}"
    sig_hex = carried["images"]["sig-valid"].digest.split(":")[1]
    assert client.manifest_digest(f"{enclave_path}/sig-valid", f"sha256-{sig_hex}.sig")
    bundle_subject = carried["images"]["bundle-valid"].digest
    listed = client.referrers(f"{enclave_path}/bundle-valid", bundle_subject)
    assert [entry["artifactType"] for entry in listed] == [oci_artifacts.SIGSTORE_BUNDLE]
    assert client.manifest_digest(f"{enclave_path}/bundle-valid", bundle_subject.replace(":", "-"))


def _share_blobs(source, destination, names):
    """Hard-link the blobs of source into destination (one disk, one test), and list the referrers of each image."""
    for directory, _dirs, files in os.walk(os.path.join(source.root, "blobs")):
        target = os.path.join(destination.root, os.path.relpath(directory, source.root))
        os.makedirs(target, exist_ok=True)
        for name in files:
            if not os.path.exists(os.path.join(target, name)):
                os.link(os.path.join(directory, name), os.path.join(target, name))
    for name in names:
        digest = source.find(f"{name}:v1")["digest"]
        for descriptor in source.referrers(digest):
            destination.add_referrer(source.read_manifest(descriptor["digest"]), digest)


def test_the_bundle_signature_prepare_writes_verifies_with_openssl_and_sigstore_and_refuses_the_rest(material, tmp_path):
    keys = material["keys"]
    encrypted = tmp_path / "bundle.key"
    subprocess.run(["openssl", "pkcs8", "-topk8", "-in", keys["release"][0], "-out", str(encrypted), "-passout", "pass:s3cret"],
                   check=True, timeout=30)
    index = tmp_path / "volumes" / "site.index.json"
    index.parent.mkdir()
    index.write_text(json.dumps({"name": "site", "volumes": [{"name": "site.tar.000", "size": 1, "sha256": "0" * 64}]}))
    signed = run_module("bundle_signature", {"state": "signed", "files": [str(index)], "key": str(encrypted), "key_password": "s3cret",
                                             "public_key_dest": str(tmp_path / "volumes" / "site.pub")})
    again = run_module("bundle_signature", {"state": "signed", "files": [str(index)], "key": str(encrypted), "key_password": "s3cret"})
    assert signed["changed"] and not again["changed"], (signed, again)
    assert "s3cret" not in signed["_stdout"]

    der = tmp_path / "site.index.json.der"
    der.write_bytes(base64.b64decode((tmp_path / "volumes" / "site.index.json.sig").read_text()))
    openssl = subprocess.run(["openssl", "dgst", "-sha256", "-verify", str(tmp_path / "volumes" / "site.pub"), "-signature", str(der), str(index)],
                             capture_output=True, text=True, check=False)
    assert openssl.returncode == 0 and openssl.stdout.strip() == "Verified OK", openssl.stdout + openssl.stderr
    passed, said = signers.sigstore_js_verify(material["node_modules"], keys["release"][1], f"{index}.sigstore.json", str(index))
    assert passed, said

    unsigned = tmp_path / "unsigned.index.json"
    unsigned.write_text(index.read_text())
    with network_namespace() as namespace:
        verdicts = {what: run_module_offline(namespace, "bundle_signature", {"files": [str(path)], "public_keys": [key]})
                    for what, path, key in (("valid", index, keys["release"][1]), ("wrong key", index, keys["stranger"][1]),
                                            ("unsigned", unsigned, keys["release"][1]))}
        index.write_text(index.read_text().replace('"size": 1', '"size": 2'))
        verdicts["tampered"] = run_module_offline(namespace, "bundle_signature", {"files": [str(index)], "public_keys": [keys["release"][1]]})
    assert not verdicts["valid"].get("failed") and verdicts["valid"]["files"][0]["signed_by"].startswith("SHA256:")
    assert verdicts["wrong key"]["failed"] and "does not verify with any allowed key" in verdicts["wrong key"]["msg"]
    assert verdicts["unsigned"]["failed"] and "is not signed" in verdicts["unsigned"]["msg"]
    assert verdicts["tampered"]["failed"] and "changed after signing" in verdicts["tampered"]["msg"]


def test_ssh_signatures_sign_and_verify_the_bundle_offline(tmp_path):
    key = tmp_path / "id_ed25519"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "release", "-f", str(key)], check=True, timeout=30)
    stranger = tmp_path / "stranger"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(stranger)], check=True, timeout=30)
    index = tmp_path / "site.index.json"
    index.write_text('{"name": "site"}')
    allowed = tmp_path / "allowed_signers"
    allowed.write_text(f"release@example.org {(tmp_path / 'id_ed25519.pub').read_text()}")
    strangers = tmp_path / "strangers"
    strangers.write_text(f"release@example.org {(tmp_path / 'stranger.pub').read_text()}")
    signed = run_module("bundle_signature", {"state": "signed", "files": [str(index)], "ssh_key": str(key)})
    again = run_module("bundle_signature", {"state": "signed", "files": [str(index)], "ssh_key": str(key)})
    assert signed["changed"] and not again["changed"]
    verify = {"files": [str(index)], "identity": "release@example.org"}
    with network_namespace() as namespace:
        valid = run_module_offline(namespace, "bundle_signature", dict(verify, allowed_signers=str(allowed)))
        wrong = run_module_offline(namespace, "bundle_signature", dict(verify, allowed_signers=str(strangers)))
        index.write_text('{"name": "evil"}')
        tampered = run_module_offline(namespace, "bundle_signature", dict(verify, allowed_signers=str(allowed)))
    assert not valid.get("failed"), valid.get("msg")
    assert wrong["failed"] and "does not verify" in wrong["msg"]
    assert tampered["failed"] and "does not verify" in tampered["msg"]
