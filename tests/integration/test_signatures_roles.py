"""The signature policy through the roles: prepare verifies and signs, receive refuses volumes the wrong key signed before
unpacking anything (run with no network at all), receive and publish accept the right key, verify again and push the signatures."""

import base64
import json
import os
import subprocess
import sys
import uuid

import pytest
import requests
import yaml

import oci_artifacts
import signers
from module_runner import run_module
from offline_runner import network_namespace
from ansible_collections.airlock.airgap.plugins.module_utils.oci.layout import Layout

pytestmark = pytest.mark.testbed

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
CALLBACKS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "callback_plugins")
CANONICAL = "registry.example.invalid"


def playbook(root, roles, variables, namespace=None, env=None):
    """(return code, tasks as Ansible judged them, stdout) of one run of roles, as a user's playbook runs them."""
    path = root / f"{'-'.join(roles)}-{uuid.uuid4().hex[:6]}.yml"
    path.write_text(yaml.safe_dump([{"hosts": "localhost", "gather_facts": False, "vars_files": ["airlock.yml"],
                                     "vars": dict(variables, airlock_manifest_dir=str(root)),
                                     "roles": [f"airlock.airgap.{role}" for role in roles]}]))
    log = root / "results.json"
    command = [os.path.join(os.path.dirname(sys.executable), "ansible-playbook"), "-i", "localhost,", "-c", "local", str(path)]
    completed = subprocess.run((["ip", "netns", "exec", namespace] if namespace else []) + command, capture_output=True, text=True,
                               timeout=600, check=False,
                               env=dict(os.environ, **(env or {}), ANSIBLE_LOCALHOST_WARNING="false", ANSIBLE_PYTHON_INTERPRETER=sys.executable,
                                        ANSIBLE_INVENTORY_UNPARSED_WARNING="false", ANSIBLE_CALLBACK_PLUGINS=CALLBACKS,
                                        ANSIBLE_CALLBACKS_ENABLED="result_log", AIRLOCK_RESULT_LOG=str(log),
                                        ANSIBLE_COLLECTIONS_PATH=os.environ.get("ANSIBLE_COLLECTIONS_PATH") or os.path.join(REPO, ".cache", "collections")))
    with open(log, encoding="utf-8") as handle:
        tasks = json.load(handle)["tasks"]
    return completed.returncode, tasks, completed.stdout


def write_manifest(root, manifest):
    (root / "airlock.yml").write_text(yaml.safe_dump({"airlock": manifest}))


@pytest.fixture
def signed_source(testbed, tmp_path):
    """One image on the public registry, signed by openssl (.sig) and by @sigstore/sign (a referrer); removed afterwards."""
    release = signers.openssl_keypair(str(tmp_path), "release")
    signers.openssl_keypair(str(tmp_path), "stranger")  # the key receive is told to accept in the refused run
    repository = f"w19role-{uuid.uuid4().hex[:8]}/app"
    layout = Layout(str(tmp_path / "source"), create=True)
    image = oci_artifacts.add_image(layout, f"{testbed.public_registry}/{repository}:v1", "signed app\n")
    payload = signers.simple_signing_payload(f"{CANONICAL}/{repository}", image.digest)
    oci_artifacts.add_cosign_tag(layout, f"{testbed.public_registry}/{repository}", image.digest, "sig", [
        (oci_artifacts.SIMPLE_SIGNING, payload, {"dev.cosignproject.cosign/signature": signers.b64(signers.openssl_sign(release[0], payload))})])
    bundle = signers.sigstore_js_bundle(signers.npm_sigstore(), release[0], signers.in_toto_statement(image.digest), str(tmp_path))
    oci_artifacts.add_referrer(layout, image, oci_artifacts.SIGSTORE_BUNDLE, json.dumps(bundle).encode())
    pushed = run_module("image_copy", {"images": [f"oci:{layout.root}"], "destination": f"docker://{testbed.public_registry}",
                                       "registries": [{"host": testbed.public_registry, "insecure": True}], "include_signatures": True})
    assert not pushed.get("failed"), pushed.get("msg")
    yield {"repository": repository, "image": image, "release": release}
    oci_artifacts.delete_pushed(pushed)


def test_prepare_signs_receive_refuses_the_wrong_key_offline_publish_pushes_both_forms(testbed, signed_source, tmp_path):
    release = signed_source["release"]
    subprocess.run(["openssl", "pkcs8", "-topk8", "-in", release[0], "-out", str(tmp_path / "bundle.key"), "-passout", "pass:w19-pass"],
                   check=True, timeout=30)
    image = f"{CANONICAL}/{signed_source['repository']}:v1"
    prefix = f"w19role-{uuid.uuid4().hex[:8]}"
    manifest = {"name": "signed-site", "toolchain": {"enabled": False}, "sources": [{"registry": CANONICAL, "via": testbed.public_registry, "insecure": True}],
                "images": [image], "enclave": {"registry": {"host": testbed.private_registry, "prefix": prefix, "ca_file": testbed.private_ca,
                                                            "username_var": "W19_USER", "password_var": "W19_PASSWORD"}},
                "signatures": {"images": [{"match": f"{CANONICAL}/*", "keys": ["release.pub"]}],
                               "bundle": {"key": "bundle.key", "password_var": "W19_BUNDLE_PASSWORD", "public_keys": ["release.pub"]}}}
    write_manifest(tmp_path, manifest)
    bundle, volumes = tmp_path / "bundle", tmp_path / "volumes"
    where = {"airlock_bundle_dir": str(bundle), "airlock_volumes_dir": str(volumes)}
    code, tasks, out = playbook(tmp_path, ["prepare"], where, env={"W19_BUNDLE_PASSWORD": "w19-pass"})
    assert code == 0, out[-4000:]
    assert "w19-pass" not in out
    lock = json.loads((bundle / "airlock.lock.json").read_text())
    [verdict] = lock["signatures"]
    assert verdict["verdict"] == "verified" and verdict["formats"] == ["cosign-sig", "sigstore-bundle"], verdict
    summary = " ".join(next(task["result"]["msg"] for name, task in tasks.items() if name.endswith("Summarise the bundle prepared")).split())
    assert "1 of 1 images signed by an allowed key; lock and index signed by SHA256:" in summary, summary

    # what anyone in the enclave can do with openssl alone: the index signature prepare wrote verifies
    index = volumes / "signed-site.index.json"
    (tmp_path / "index.der").write_bytes(base64.b64decode((volumes / "signed-site.index.json.sig").read_text()))
    openssl = subprocess.run(["openssl", "dgst", "-sha256", "-verify", str(volumes / "signed-site.pub"), "-signature",
                              str(tmp_path / "index.der"), str(index)], capture_output=True, text=True, check=False)
    assert (openssl.returncode, openssl.stdout.strip()) == (0, "Verified OK"), openssl.stderr

    enclave = tmp_path / "enclave"
    inside = {"airlock_bundle_dir": str(enclave / "bundle"), "airlock_volumes_dir": str(volumes), "airlock_output_dir": str(enclave / "out")}
    write_manifest(tmp_path, dict(manifest, signatures=dict(manifest["signatures"], bundle={"public_keys": ["stranger.pub"]})))
    with network_namespace() as namespace:
        code, tasks, out = playbook(tmp_path, ["receive"], inside, namespace)
        assert code != 0
        refused = next(task for name, task in tasks.items() if name.endswith("allowed key signed their index (nothing is unpacked before this)"))
        assert refused["status"] == "failed" and "does not verify with any allowed key" in refused["result"]["msg"]
        assert not (enclave / "bundle").exists(), "nothing may be unpacked from volumes the wrong key signed"

    write_manifest(tmp_path, dict(manifest, signatures=dict(manifest["signatures"], bundle={"public_keys": ["release.pub"]})))
    code, tasks, out = playbook(tmp_path, ["receive", "publish"], inside,
                                env={"W19_USER": testbed.private_user, "W19_PASSWORD": testbed.private_password})
    assert code == 0, out[-4000:]
    received = " ".join(next(task["result"]["msg"] for name, task in tasks.items() if name.endswith("Summarise the bundle received")).split())
    assert "; signed by SHA256:" in received, received
    assert next(task for name, task in tasks.items() if name.endswith("Check the unpacked lock's own signature"))["status"] == "ok"
    summary = " ".join(next(task["result"]["msg"] for name, task in tasks.items() if name.endswith("Summarise what was published")).split())
    assert "1 of 1 images signed by an allowed key (signatures pushed as tags and referrers)" in summary, summary
    evidence = json.loads((enclave / "out" / "signatures-verification.json").read_text())
    assert [entry["verdict"] for entry in evidence["images"]] == ["verified"]
    auth, repository = (testbed.private_user, testbed.private_password), f"{prefix}/{signed_source['repository']}"
    digest = signed_source["image"].digest
    published = json.loads((enclave / "out" / "published.lock.json").read_text())
    try:
        for tag in (f"sha256-{digest.split(':')[1]}.sig", digest.replace(":", "-")):
            found = requests.head(f"https://{testbed.private_registry}/v2/{repository}/manifests/{tag}", auth=auth, verify=testbed.private_ca,
                                  headers={"Accept": "application/vnd.oci.image.manifest.v1+json,application/vnd.oci.image.index.v1+json"}, timeout=30)
            assert found.status_code == 200, (tag, found.status_code)
    finally:
        oci_artifacts.delete_pushed({"images": published["images"]}, "https", auth=auth, verify=testbed.private_ca)
