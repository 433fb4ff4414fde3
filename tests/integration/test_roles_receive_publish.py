"""The enclave side's first two roles, run by ansible-playbook against the testbed.

A bundle is built with the modules as the connected side builds it (images, a chart, a model, SHA256SUMS, volumes).
Then `receive` verifies the volumes, unpacks them and proves the bundle whole, keeping the evidence, and `publish`
pushes the images and the chart into the private registry (TLS, auth), uploads the model to SeaweedFS (creating the
bucket) and writes the pull secret and the S3 credentials as Kubernetes Secrets and a Docker config. Credentials reach
the roles only through the variables the manifest names, set in the environment.

Check mode changes nothing (not a file, not a registry repository, not a bucket); a second run reports changed=0.
"""

import base64
import hashlib
import json
import os
import shutil
import stat
import subprocess
import sys
import uuid

import pytest
import requests
import yaml

import s3_bucket
from module_runner import run_module

pytestmark = pytest.mark.testbed

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
CHARTS = os.path.join(REPO, "tests", "fixtures", "charts")
CALLBACKS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "callback_plugins")
MODEL = "acme/tiny-embedder"
NAMESPACE = "search"
K8S_TASKS = ("Create the namespaces", "Create the Secrets")


def build_bundle(image_set, root):
    """The connected side's work, module by module: images, a chart and a model into a bundle, sealed and packed."""
    bundle, lock = os.path.join(root, "bundle"), os.path.join(root, "bundle", "airlock.lock.json")
    model = os.path.join(root, "tiny-model")
    os.makedirs(model)
    with open(os.path.join(model, "config.json"), "w", encoding="utf-8") as handle:
        json.dump({"hidden_size": 8}, handle)
    with open(os.path.join(model, "model.safetensors"), "wb") as handle:
        handle.write(os.urandom(300_000))
    steps = [
        ("image_copy", {"images": [f"oci:{image_set['path']}"], "destination": f"oci:{bundle}/images", "lock_file": lock}),
        ("chart_mirror", {"charts": [{"path": os.path.join(CHARTS, "cache")}], "dest": f"{bundle}/charts", "lock_file": lock}),
        ("model_cache", {"state": "staged", "path": f"{bundle}/models", "models": [{"path": model, "repo_id": MODEL}], "lock_file": lock}),
        ("checksum", {"path": bundle, "state": "present"}),
        ("bundle", {"path": bundle, "volumes_dir": os.path.join(root, "volumes"), "name": "search", "state": "packed",
                    "volume_size": 1024 * 1024}),
    ]
    for module, args in steps:
        result = run_module(module, args)
        assert not result.get("failed"), (module, result.get("msg"))
    with open(lock, encoding="utf-8") as handle:
        return json.load(handle)


def manifest(testbed, prefix, bucket):
    return {
        "name": "search",
        "charts": [{"name": "cache", "path": "charts/cache", "release": "cache", "namespace": NAMESPACE}],
        "models": [{"source": "./tiny-model", "repo_id": MODEL, "layout": "hf-cache-objects",
                    "consumer": {"chart": "cache", "value": "model.url"}}],
        "enclave": {
            "registry": {"host": testbed.private_registry, "prefix": prefix, "ca_file": testbed.private_ca,
                         "username_var": "RP_REGISTRY_USER", "password_var": "RP_REGISTRY_PASSWORD"},
            "s3": {"endpoint": testbed.s3_endpoint, "bucket": bucket, "prefix": "models", "region": testbed.s3_region,
                   "access_key_var": "RP_S3_KEY", "secret_key_var": "RP_S3_SECRET"},
            "pull_secret": "mirror-pull",
        },
    }


class Enclave:
    """The playbooks a platform team runs in the enclave, on this bundle's volumes, and where they write."""

    def __init__(self, testbed, root, prefix, bucket):
        self.testbed, self.root, self.prefix, self.bucket = testbed, root, prefix, bucket
        self.login = base64.b64encode(f"{testbed.private_user}:{testbed.private_password}".encode()).decode()  # a Docker config's auth
        self.secrets = [testbed.private_password, testbed.s3_secret_key, base64.b64encode(testbed.s3_secret_key.encode()).decode(), self.login]
        self.bundle, self.output = os.path.join(root, "enclave", "bundle"), os.path.join(root, "enclave", "search-output")
        self.env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=os.environ.get("ANSIBLE_COLLECTIONS_PATH") or os.path.join(REPO, ".cache", "collections"),
                        ANSIBLE_LOCALHOST_WARNING="false", ANSIBLE_INVENTORY_UNPARSED_WARNING="false", ANSIBLE_PYTHON_INTERPRETER=sys.executable,
                        ANSIBLE_CALLBACK_PLUGINS=CALLBACKS, ANSIBLE_CALLBACKS_ENABLED="result_log",
                        RP_REGISTRY_USER=testbed.private_user, RP_REGISTRY_PASSWORD=testbed.private_password,
                        RP_S3_KEY=testbed.s3_access_key, RP_S3_SECRET=testbed.s3_secret_key)
        with open(os.path.join(root, "airlock.yml"), "w", encoding="utf-8") as handle:
            yaml.safe_dump({"airlock": manifest(testbed, prefix, bucket)}, handle)

        play = {"hosts": "localhost", "gather_facts": False, "vars_files": ["airlock.yml"],
                "vars": {"airlock_volumes_dir": os.path.join(root, "volumes"), "airlock_bundle_dir": self.bundle, "airlock_output_dir": self.output}}
        for name, roles in (("receive", ["receive"]), ("enclave", ["receive", "publish"])):
            with open(os.path.join(root, f"{name}.yml"), "w", encoding="utf-8") as handle:
                yaml.safe_dump([dict(play, roles=[f"airlock.airgap.{role}" for role in roles])], handle)

    def run(self, playbook, *flags):
        """(recap, tasks by name as Ansible judged them, the summary lines) of one ansible-playbook run."""
        log = os.path.join(self.root, "results.json")
        completed = subprocess.run([os.path.join(os.path.dirname(sys.executable), "ansible-playbook"), "-i", "localhost,", "-c", "local",
                                    os.path.join(self.root, f"{playbook}.yml"), *flags],
                                   capture_output=True, text=True, env=dict(self.env, AIRLOCK_RESULT_LOG=log), timeout=600, check=False)
        assert completed.returncode == 0, completed.stdout[-4000:] + completed.stderr[-2000:]
        with open(log, encoding="utf-8") as handle:
            report = json.load(handle)
        os.unlink(log)
        shown = completed.stdout + json.dumps(report)
        assert not [secret for secret in self.secrets if secret in shown], "a credential was printed or recorded: a task handling it lacks no_log"
        summaries = [" ".join(str(task["result"]["msg"]).split()) for name, task in report["tasks"].items() if name.startswith("Summarise")]
        return report["recap"]["localhost"], report["tasks"], summaries

    def skopeo(self, *args):
        certs = os.path.join(self.root, "certs")  # skopeo reads every *.crt and *.key in it: the CA alone
        if not os.path.isdir(certs):
            os.makedirs(certs)
            shutil.copy(self.testbed.private_ca, os.path.join(certs, "ca.crt"))
        return subprocess.run([self.testbed.skopeo, *args, "--cert-dir", certs, "--creds", f"{self.testbed.private_user}:{self.testbed.private_password}"],
                              capture_output=True, check=False, timeout=60)

    def repositories(self):
        """The registry's repositories under this enclave's prefix (a deleted image leaves its repository listed)."""
        found, url = [], f"https://{self.testbed.private_registry}/v2/_catalog?n=1000"
        while url:
            page = requests.get(url, auth=(self.testbed.private_user, self.testbed.private_password), verify=self.testbed.private_ca, timeout=60)
            page.raise_for_status()
            found += page.json()["repositories"]
            url = requests.compat.urljoin(url, page.links["next"]["url"]) if "next" in page.links else None
        return sorted(name[len(self.prefix) + 1:] for name in found if name.startswith(self.prefix + "/"))


@pytest.fixture
def enclave(testbed, image_set, tmp_path):
    """A bundle's volumes, and an enclave with a registry path and a bucket of its own, both removed afterwards."""
    bundled = build_bundle(image_set, str(tmp_path))
    unique = uuid.uuid4().hex[:10]
    world = Enclave(testbed, str(tmp_path), f"rp-{unique}", f"rp-{unique}")
    world.bundled = bundled
    yield world
    published = os.path.join(world.output, "published.lock.json")
    if os.path.exists(published):
        with open(published, encoding="utf-8") as handle:
            for image in json.load(handle)["images"]:
                world.skopeo("delete", f"docker://{image['destination']}")
    world.skopeo("delete", f"docker://{testbed.private_registry}/{world.prefix}/charts/cache:0.2.0")
    client = s3_bucket.client_for(testbed)
    if world.bucket in [bucket["Name"] for bucket in client.list_buckets()["Buckets"]]:
        for page in client.get_paginator("list_objects_v2").paginate(Bucket=world.bucket):
            keys = [{"Key": item["Key"]} for item in page.get("Contents", [])]
            if keys:
                client.delete_objects(Bucket=world.bucket, Delete={"Objects": keys})
        client.delete_bucket(Bucket=world.bucket)


def bucket_keys(testbed, bucket):
    client = s3_bucket.client_for(testbed)
    if bucket not in [found["Name"] for found in client.list_buckets()["Buckets"]]:
        return None
    return sorted(item["Key"] for page in client.get_paginator("list_objects_v2").paginate(Bucket=bucket) for item in page.get("Contents", []))


def tree_state(root):
    """Every path under root with its size and time: what 'nothing was written' compares."""
    found = {}
    for directory, dirs, names in os.walk(root):
        for name in dirs + names:
            status = os.lstat(os.path.join(directory, name))
            found[os.path.join(directory, name)] = (status.st_size, status.st_mtime_ns)
    return found


def owner_only(path):
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600, f"{path} holds credentials and must be readable by its owner only"
    with open(path, encoding="utf-8") as handle:
        return list(yaml.safe_load_all(handle))


def test_receive_then_publish_carries_the_bundle_into_the_registry_and_the_store(enclave, testbed, image_set, tmp_path):
    images = enclave.bundled["images"]

    # Check mode on a fresh enclave: both roles run through, and nothing is written anywhere.
    stats, tasks, summaries = enclave.run("enclave", "--check")
    assert not os.path.exists(os.path.join(enclave.root, "enclave")) and bucket_keys(testbed, enclave.bucket) is None and enclave.repositories() == []
    assert stats["changed"] > 0 and any(line.startswith("receive search (check mode: would be)") for line in summaries), summaries
    assert any(line.startswith("publish search (check mode: would be): no bundle unpacked yet") for line in summaries), summaries

    # Receive alone: the volumes verified, the bundle unpacked and proven whole, the evidence kept beside it.
    stats, tasks, summaries = enclave.run("receive")
    assert stats["changed"] > 0 and stats["failures"] == 0
    volumes = len([name for name in os.listdir(os.path.join(enclave.root, "volumes")) if ".tar." in name and not name.endswith(".sha256")])
    assert volumes > 1
    received = next(line for line in summaries if line.startswith("receive search:"))
    assert f"{volumes} volumes" in received and "0 unchanged" in received, received
    evidence = os.path.join(enclave.root, "enclave")
    for report in ("search.volumes-verification.json", "search.bundle-verification.json"):
        with open(os.path.join(evidence, report), encoding="utf-8") as handle:
            assert json.load(handle)["result"] == "verified"

    # Check mode on the bundle in place: the bundle, the evidence, the registry, the store (no bucket yet) and the output stay as they were.
    before = tree_state(evidence)
    stats, tasks, summaries = enclave.run("enclave", "--check")
    assert stats["changed"] > 0 and stats["failures"] == 0
    assert tree_state(evidence) == before and not os.path.exists(enclave.output)
    assert bucket_keys(testbed, enclave.bucket) is None and enclave.repositories() == []
    planned = next(line for line in summaries if line.startswith("publish search (check mode: would be)"))
    assert f"{len(images)} images ({len(images)} pushed)" in planned and "1 models (1 uploaded)" in planned, planned

    # The real run.
    stats, tasks, summaries = enclave.run("enclave")
    assert stats["changed"] > 0 and stats["failures"] == 0
    assert all(tasks[name]["status"] == "skipped" for name in K8S_TASKS), "the cluster tasks run only with a kubeconfig"
    published = next(line for line in summaries if line.startswith("publish search:"))
    assert f"{len(images)} images ({len(images)} pushed)" in published and "1 charts (1 pushed)" in published, published
    assert enclave.repositories() == sorted({"charts/cache"} | {ref.rsplit(":", 1)[0] for ref in image_set["refs"]})

    # Every image in the private registry, byte for byte, at the digest the bundle's lock records.
    with open(os.path.join(enclave.output, "published.lock.json"), encoding="utf-8") as handle:
        pushed = json.load(handle)["images"]
    assert sorted(image["digest"] for image in pushed) == sorted(image["digest"] for image in images)
    for image in pushed:
        assert image["destination"].startswith(f"{testbed.private_registry}/{enclave.prefix}/")
        raw = enclave.skopeo("inspect", "--raw", f"docker://{image['destination']}")
        assert raw.returncode == 0 and "sha256:" + hashlib.sha256(raw.stdout).hexdigest() == image["digest"]

    # The chart, as helm pull reads it.
    homes = {key: str(tmp_path / "helm" / key.lower()) for key in ("HELM_CONFIG_HOME", "HELM_CACHE_HOME", "HELM_DATA_HOME")}
    (tmp_path / "pulled").mkdir()
    pulled = subprocess.run([testbed.helm, "pull", f"oci://{testbed.private_registry}/{enclave.prefix}/charts/cache", "--version", "0.2.0",
                             "--ca-file", testbed.private_ca, "--username", testbed.private_user, "--password", testbed.private_password,
                             "-d", str(tmp_path / "pulled")], capture_output=True, text=True, env=dict(os.environ, **homes), timeout=120, check=False)
    assert pulled.returncode == 0, pulled.stderr
    with open(tmp_path / "pulled" / "cache-0.2.0.tgz", "rb") as pulled_chart, \
            open(os.path.join(enclave.bundle, "charts", "cache-0.2.0.tgz"), "rb") as bundled_chart:
        assert pulled_chart.read() == bundled_chart.read()

    # The model in the bucket publish created, in its consumer's layout under the manifest's prefix.
    commit = next(model["commit"] for model in enclave.bundled["models"] if model["name"] == MODEL)
    folder = "models/models--acme--tiny-embedder"
    keys = bucket_keys(testbed, enclave.bucket)
    assert {f"{folder}/snapshots/{commit}/config.json", f"{folder}/snapshots/{commit}/model.safetensors", f"{folder}/refs/main"} <= set(keys), keys

    # The credentials: a pull secret and an S3 secret for the chart's namespace, and a Docker config, owner-only.
    auths = {"auths": {testbed.private_registry: {"auth": enclave.login}}}
    secrets = {secret["metadata"]["name"]: secret for secret in owner_only(os.path.join(enclave.output, "secrets.yaml")) if secret}
    assert sorted(secrets) == ["mirror-pull", "search-s3"] and {s["metadata"]["namespace"] for s in secrets.values()} == {NAMESPACE}
    assert secrets["mirror-pull"]["type"] == "kubernetes.io/dockerconfigjson"
    assert json.loads(base64.b64decode(secrets["mirror-pull"]["data"][".dockerconfigjson"])) == auths
    assert secrets["search-s3"]["type"] == "Opaque" and {key: base64.b64decode(value).decode() for key, value in secrets["search-s3"]["data"].items()} == {
        "AWS_ACCESS_KEY_ID": testbed.s3_access_key, "AWS_SECRET_ACCESS_KEY": testbed.s3_secret_key,
        "AWS_REGION": testbed.s3_region, "AWS_ENDPOINT_URL": testbed.s3_endpoint}
    assert owner_only(os.path.join(enclave.output, "docker", "config.json")) == [auths]
    assert stat.S_IMODE(os.stat(os.path.join(enclave.output, "docker")).st_mode) == 0o700

    # A second run finds everything in place and changes nothing.
    stats, tasks, summaries = enclave.run("enclave")
    assert stats["changed"] == 0, sorted(name for name, task in tasks.items() if task["status"] == "changed")
    again = next(line for line in summaries if line.startswith("publish search:"))
    assert f"{len(images)} images (0 pushed)" in again and "1 charts (0 pushed)" in again and "1 models (0 uploaded)" in again, again
    assert "0 files written" in next(line for line in summaries if line.startswith("receive search:"))


def test_a_missing_bucket_is_named_with_the_option_that_creates_it(testbed, tmp_path):
    settings = s3_bucket.settings_for(testbed, f"absent-{uuid.uuid4().hex[:10]}")
    refused = run_module("model_cache", {"state": "pushed", "path": str(tmp_path), "s3": settings})
    assert refused.get("failed") and f"the bucket {settings['bucket']} does not exist" in refused["msg"] and "s3.create_bucket" in refused["msg"]
