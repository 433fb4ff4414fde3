"""The manifest role: one airlock.yml, validated once for every role, refusing what does not fit with the key named."""

import copy
import os
import subprocess
import sys

import pytest
import yaml

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
GOOD = {
    "name": "embedding-server",
    "platforms": ["linux/amd64"],
    "charts": [{"name": "sie", "path": "charts/sie", "release": "sie", "namespace": "sie"}],
    "models": [{"source": "hf://sentence-transformers/all-MiniLM-L6-v2",
                "consumer": {"chart": "sie", "value": "workers.common.clusterCache.url"}}],
    "enclave": {"registry": {"host": "registry.enclave:5000", "username_var": "MIRROR_USER", "password_var": "MIRROR_PASSWORD"},
                "s3": {"endpoint": "http://s3.enclave:8333", "bucket": "models", "access_key_var": "S3_KEY", "secret_key_var": "S3_SECRET"}},
}


def run_manifest(tmp_path, manifest, extra_tasks=(), env=None):
    (tmp_path / "airlock.yml").write_text(yaml.safe_dump({"airlock": manifest}))
    playbook = [{"hosts": "localhost", "gather_facts": False, "vars_files": ["airlock.yml"],
                 "roles": [{"role": "airlock.airgap.manifest"}], "tasks": list(extra_tasks)}]
    (tmp_path / "play.yml").write_text(yaml.safe_dump(playbook))
    collections = os.environ.get("ANSIBLE_COLLECTIONS_PATH") or os.path.join(REPO, ".cache", "collections")
    return subprocess.run([os.path.join(os.path.dirname(sys.executable), "ansible-playbook"), "-i", "localhost,", "-c", "local",
                           str(tmp_path / "play.yml")], capture_output=True, text=True, timeout=300, check=False,
                          env=dict(os.environ, ANSIBLE_COLLECTIONS_PATH=collections, ANSIBLE_LOCALHOST_WARNING="false", **(env or {})))


def test_a_good_manifest_passes_and_is_summarised(tmp_path):
    done = run_manifest(tmp_path, GOOD)
    assert done.returncode == 0, done.stdout[-3000:]
    assert "manifest embedding-server: 1 charts, 0 Compose projects, 0 listed images, 1 models" in " ".join(done.stdout.split())


def test_credentials_come_from_the_variables_the_manifest_names_or_the_environment(tmp_path):
    show = [{"name": "show", "ansible.builtin.debug": {"msg": "{{ airlock_enclave_registries[0].username }}/{{ airlock_s3.secret_key }}"}}]
    done = run_manifest(tmp_path, GOOD, show, env={"MIRROR_USER": "robot", "MIRROR_PASSWORD": "pw", "S3_KEY": "k", "S3_SECRET": "s3cret"})
    assert done.returncode == 0, done.stdout[-3000:]
    assert '"msg": "robot/s3cret"' in done.stdout
    missing = run_manifest(tmp_path, GOOD, show)
    assert missing.returncode != 0 and "MIRROR_USER" in missing.stdout and "neither an Ansible variable nor an environment variable" in missing.stdout


def broken(path, value=None, delete=False):
    manifest = copy.deepcopy(GOOD)
    *parents, last = path
    target = manifest
    for key in parents:
        target = target[key]
    if delete:
        del target[last]
    else:
        target[last] = value
    return manifest


@pytest.mark.parametrize("manifest,named", [
    (broken(["modles"], []), "airlock.modles"),
    (broken(["enclave", "registry", "hots"], "x"), "airlock.enclave.registry.hots"),
    (broken(["charts", 0, "valuse"], {}), "valuse"),
    (broken(["platforms"], {"a": 1}), "platforms"),
    (broken(["enclave", "pin"], "sometimes"), "pin"),
    (broken(["models", 0, "consumer"], delete=True), "consumer"),
    (broken(["models", 0, "consumer"], {"chart": "sie"}), "airlock.models[0]"),
    (broken(["models", 0, "consumer"], {"chart": "other", "value": "a.b"}), "airlock.models[0]"),
    (broken(["charts", 0, "path"], delete=True), "airlock.charts[0]"),
    (broken(["enclave"], delete=True), "enclave"),
])
def test_a_manifest_that_does_not_fit_is_refused_naming_the_key(tmp_path, manifest, named):
    refused = run_manifest(tmp_path, manifest)
    assert refused.returncode != 0 and named in refused.stdout, refused.stdout[-3000:]
    assert "manifest embedding-server:" not in refused.stdout
