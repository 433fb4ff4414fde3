"""Carrying the carrier, through the roles: prepare puts files, wheels, datasets and the toolchain in the bundle; in a network
namespace with no network the toolchain installs from the bundle alone into a bare `python3 -m venv` and runs the enclave
playbook in check mode on the example manifest; publish then puts the files and datasets into the testbed's SeaweedFS."""

import json
import os
import re
import subprocess
import sys
import time

import pytest
import yaml

from s3_bucket import client_for, temporary_bucket
from sealed_netns import sealed_namespace

pytestmark = pytest.mark.testbed

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
NAME = "carried-site"


def site(root, testbed, bucket):
    """A manifest with only what this issue carries: a file whose sha256 is learned, a wheel, a dataset, the toolchain."""
    (root / "notes").mkdir(parents=True)
    (root / "notes" / "runbook.txt").write_text("restart the indexer after the upload\n")
    (root / "data" / "train").mkdir(parents=True)
    (root / "data" / "train" / "part-0.jsonl").write_text('{"text": "hello"}\n' * 1000)
    (root / "data" / "labels.csv").write_text("id,label\n1,a\n")
    manifest = {"name": NAME, "files": [{"src": "notes/runbook.txt"}],
                "wheels": {"requirements": ["idna==3.20"], "platform": ["manylinux2014_x86_64"]},
                "datasets": [{"path": "data", "to": "corpus/v1/"}],
                "toolchain": {"helm": testbed.helm},
                "enclave": {"registry": {"host": "registry.enclave.invalid:5000"},
                            "s3": {"endpoint": testbed.s3_endpoint, "bucket": bucket, "region": testbed.s3_region,
                                   "access_key_var": "AIRLOCK_S3_ACCESS_KEY", "secret_key_var": "AIRLOCK_S3_SECRET_KEY"}}}
    (root / "airlock.yml").write_text(yaml.safe_dump({"airlock": manifest}))
    return root / "airlock.yml"


def playbook(testbed, *argv):
    collections = os.environ.get("ANSIBLE_COLLECTIONS_PATH") or os.path.join(REPO, ".cache", "collections")
    env = dict(os.environ, **testbed.env, ANSIBLE_COLLECTIONS_PATH=collections, ANSIBLE_LOCALHOST_WARNING="false",
               ANSIBLE_INVENTORY_UNPARSED_WARNING="false", PATH=f"{os.path.dirname(testbed.helm)}{os.pathsep}{os.environ['PATH']}")
    done = subprocess.run([os.path.join(os.path.dirname(sys.executable), "ansible-playbook"), "-i", "localhost,", *map(str, argv)],
                          capture_output=True, text=True, env=env, timeout=1800, check=False)
    assert done.returncode == 0, done.stdout[-5000:] + done.stderr[-2000:]
    return done.stdout


def enclave_check(inside, venv, volumes, enclave):
    """airlock.airgap.enclave --check, as installed, on the example manifest and the carried volumes (nothing received yet)."""
    manifest = venv / "collections" / "ansible_collections" / "airlock" / "airgap" / "examples" / "embedding-server" / "airlock.yml"
    extra = {"airlock_manifest_file": manifest, "airlock_volumes_dir": volumes, "airlock_bundle_name": NAME,
             "airlock_bundle_dir": enclave / "bundle", "airlock_output_dir": enclave / "out",
             "demo_public_registry": "registry.public.invalid:5000", "demo_private_registry": "registry.enclave.invalid:5000",
             "demo_private_ca": enclave / "ca.pem", "demo_s3_endpoint": "http://s3.enclave.invalid:8333", "demo_model_folder": enclave / "model"}
    argv = [str(venv / "bin" / "ansible-playbook"), "airlock.airgap.enclave", "--check"]
    for name, value in extra.items():
        argv += ["-e", f"{name}={value}"]
    secrets = {name: "unused" for name in ("AIRLOCK_PRIVATE_REGISTRY_USER", "AIRLOCK_PRIVATE_REGISTRY_PASSWORD",
                                           "AIRLOCK_S3_ACCESS_KEY", "AIRLOCK_S3_SECRET_KEY")}
    return inside(argv, env=dict(secrets, ANSIBLE_LOCALHOST_WARNING="false", PATH=f"{venv / 'bin'}:/usr/bin:/bin"), cwd=str(enclave))


def install_offline_and_check(bundle, volumes, tmp_path):
    venv, enclave = tmp_path / "airlock-venv", tmp_path / "enclave"
    enclave.mkdir()
    with sealed_namespace() as inside:
        started = time.monotonic()
        installed = inside(["sh", str(bundle / "toolchain" / "install.sh"), str(venv)], timeout=1800)
        print(f"offline install: {time.monotonic() - started:.1f} s\n{installed.stdout}{installed.stderr}")
        assert installed.returncode == 0, installed.stdout + installed.stderr
        helm = inside([str(venv / "bin" / "helm"), "version", "--short"])
        assert helm.returncode == 0 and helm.stdout.startswith("v"), helm.stderr
        return enclave_check(inside, venv, volumes, enclave)


def test_prepare_carries_the_toolchain_which_installs_offline_and_runs_the_enclave_playbook(testbed, tmp_path):
    client = client_for(testbed)
    with temporary_bucket(client, "w14-carried") as bucket:
        manifest = site(tmp_path / "site", testbed, bucket)
        bundle, volumes = tmp_path / "bundle", tmp_path / "usb"
        prepared = playbook(testbed, os.path.join(REPO, "playbooks", "prepare.yml"), "-e", f"airlock_manifest_file={manifest}",
                            "-e", f"airlock_bundle_dir={bundle}", "-e", f"airlock_volumes_dir={volumes}")
        assert re.search(r"1 files, 1 wheels, 1 datasets, toolchain \d+ bytes", prepared), prepared[-3000:]
        lock = json.loads((bundle / "airlock.lock.json").read_text())
        assert [entry["name"] for entry in lock["files"]] == ["runbook.txt"] and [w["file"] for w in lock["wheels"]] == ["idna-3.20-py3-none-any.whl"]
        assert {"toolchain/install.sh", "toolchain/bin/helm"} <= {entry["path"] for entry in lock["toolchain"]}
        toolchain_bytes = sum(entry["size"] for entry in lock["toolchain"])
        print(f"toolchain: {len(lock['toolchain'])} files, {toolchain_bytes} bytes")

        run = install_offline_and_check(bundle, volumes, tmp_path)
        output = run.stdout + run.stderr
        assert f"receive {NAME} (check mode: would be): 1 volumes" in output, output[-4000:]
        assert "publish embedding-server (check mode: would be): no bundle unpacked yet" in output, output[-4000:]
        recap = re.search(r"^localhost +: (ok=.*)$", run.stdout, re.MULTILINE)
        assert recap, output[-4000:]
        assert "deploy embedding-server (check mode: would be): no bundle unpacked yet" in output, output[-4000:]
        assert "failed=0" in recap.group(1), output[-4000:]

        enclave_play = tmp_path / "receive-publish.yml"
        enclave_play.write_text(yaml.safe_dump([{"name": "Receive and publish", "hosts": "localhost", "connection": "local",
                                                 "gather_facts": False, "vars_files": [str(manifest)],
                                                 "vars": {"ansible_python_interpreter": sys.executable},
                                                 "roles": ["airlock.airgap.receive", "airlock.airgap.publish"]}]))
        published = playbook(testbed, enclave_play, "-e", f"airlock_volumes_dir={volumes}", "-e", f"airlock_bundle_dir={tmp_path / 'received'}",
                             "-e", f"airlock_output_dir={tmp_path / 'out'}", "-e", f"airlock_manifest_dir={manifest.parent}")
        assert "1 files (1 published), 1 datasets (1 uploaded)" in published, published[-3000:]
        keys = sorted(item["Key"] for item in client.list_objects_v2(Bucket=bucket)["Contents"])
    assert {"models/files/runbook.txt", "corpus/v1/labels.csv", "corpus/v1/train/part-0.jsonl"} <= set(keys), keys
