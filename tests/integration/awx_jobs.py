"""The prepare and enclave playbooks run as AWX runs them, once per session, for the tests of the AWX side and of the
transfer report: through ansible-runner, with a private data dir laid out as AWX lays it out (project/, inventory/,
env/extravars with the survey's answers, env/envvars with what the collection's credential types inject), on the
embedding-server example as tests/demo.sh runs it, with a tiny model so it stays cheap.

The job's process gets no secret from anywhere else (the testbed's variables are removed from its environment, and the
manifest names no credential variable), so the registry and S3 logins can only come from the injected variables.
"""

import glob
import json
import os
import re
import shutil
import stat
import subprocess
import uuid

import pytest
import yaml

import s3_bucket

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
EXAMPLE = os.path.join(REPO, "examples", "embedding-server")
VENV_BIN = os.path.join(REPO, ".venv", "bin")
PROGRESS = re.compile(r"^(images|models|volumes|verify|unpack|preload): [\d.]+ of (at least )?[\d.]+ (bytes|kB|MB|GB|TB)")


def tiny_model(folder):
    """A model folder as the guide downloads one, a few kB instead of 91 MB."""
    os.makedirs(folder, exist_ok=True)
    with open(os.path.join(folder, "config.json"), "w", encoding="utf-8") as handle:
        json.dump({"model_type": "bert", "hidden_size": 8}, handle)
    with open(os.path.join(folder, "model.safetensors"), "wb") as handle:
        handle.write(bytes(range(256)) * 64)
    return folder


def project_for(root, bucket, prefix):
    """The AWX project: the example's manifest and charts, the collection's playbooks. The manifest names no credential
    variable (the job template's credentials inject them) and uses a bucket and registry prefix of this test's own."""
    project = os.path.join(root, "project")
    shutil.copytree(EXAMPLE, project)
    shutil.copytree(os.path.join(REPO, "playbooks"), os.path.join(project, "playbooks"))
    manifest_path = os.path.join(project, "airlock.yml")
    with open(manifest_path, encoding="utf-8") as handle:
        text = handle.read()
    text = re.sub(r"^ +\w+_var: .*\n", "", text, flags=re.MULTILINE)
    text = text.replace("bucket: embedding-models", f"bucket: {bucket}")
    text = text.replace("    registry:\n", f"    registry:\n      prefix: {prefix}\n", 1)
    with open(manifest_path, "w", encoding="utf-8") as handle:
        handle.write(text)
    return project


def private_data_dir(root, name, project, extravars, envvars):
    """One job's private data dir, as AWX writes it before it calls ansible-runner."""
    pdd = os.path.join(root, name)
    os.makedirs(os.path.join(pdd, "env"))
    os.makedirs(os.path.join(pdd, "inventory"))
    os.symlink(project, os.path.join(pdd, "project"))
    for file_name, content in (("extravars", extravars), ("envvars", envvars)):
        path = os.path.join(pdd, "env", file_name)
        with open(path, "w", encoding="utf-8") as handle:
            yaml.safe_dump(content, handle)
        os.chmod(path, stat.S_IRUSR | stat.S_IWUSR)
    inventory = {"all": {"hosts": {"localhost": {"ansible_connection": "local", "ansible_python_interpreter": os.path.join(VENV_BIN, "python")}},
                         "children": {"nodes": {"hosts": {"localhost": {}}}}}}
    with open(os.path.join(pdd, "inventory", "hosts.yml"), "w", encoding="utf-8") as handle:
        yaml.safe_dump(inventory, handle)
    return pdd


def job_environment(testbed):
    """What the execution environment gives a job: tools and the collection, no secret."""
    env = {key: value for key, value in os.environ.items() if not key.startswith(("AIRLOCK_", "AWS_", "HF_", "NGC_"))}
    env.update(PATH=os.pathsep.join([VENV_BIN, os.path.dirname(testbed.helm), env.get("PATH", "")]),
               ANSIBLE_COLLECTIONS_PATH=os.path.join(REPO, ".cache", "collections"), ANSIBLE_LOCALHOST_WARNING="false")
    return env


def run_job(pdd, playbook, testbed):
    done = subprocess.run([os.path.join(VENV_BIN, "ansible-runner"), "run", pdd, "-p", playbook, "--ident", "job"],
                          env=job_environment(testbed), capture_output=True, text=True, timeout=900, check=False)
    artifacts = os.path.join(pdd, "artifacts", "job")
    events = []
    for path in sorted(glob.glob(os.path.join(artifacts, "job_events", "*.json")), key=lambda p: int(os.path.basename(p).split("-")[0])):
        with open(path, encoding="utf-8") as handle:
            events.append(json.load(handle))
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-2000:]
    return {"stdout": done.stdout, "events": events, "artifacts": artifacts}


def injected_secrets(testbed):
    """What the AWX credential types inject into the enclave job's environment (env/envvars)."""
    return {"AIRLOCK_REGISTRY_USERNAME": testbed.private_user, "AIRLOCK_REGISTRY_PASSWORD": testbed.private_password,
            "AIRLOCK_S3_ACCESS_KEY": testbed.s3_access_key, "AIRLOCK_S3_SECRET_KEY": testbed.s3_secret_key}


def prepare_then_enclave(root, project, site, secrets, testbed, enclave_vars, carry=shutil.copytree):
    """The prepare job under root, its volumes carried to root/usb (carry makes the copy), then the enclave job on
    them with enclave_vars; returns (prepare, enclave, usb)."""
    jobs, connected, usb = (os.path.join(root, name) for name in ("jobs", "connected", "usb"))
    prepare = run_job(private_data_dir(jobs, "prepare", project, dict(site, airlock_bundle_dir=f"{connected}/bundle",
                                                                      airlock_volumes_dir=f"{connected}/volumes"), {}),
                      "playbooks/prepare.yml", testbed)
    carry(os.path.join(connected, "volumes"), usb)
    enclave = run_job(private_data_dir(jobs, "enclave", project, dict(site, airlock_volumes_dir=usb, airlock_bundle_dir=f"{root}/enclave/bundle",
                                                                      airlock_output_dir=f"{root}/enclave/out", **enclave_vars), secrets),
                      "playbooks/enclave.yml", testbed)
    return prepare, enclave, usb


@pytest.fixture(scope="session")
def awx_jobs(testbed, tmp_path_factory):
    """The world pushed, then one prepare job and one enclave job, shared by the AWX, transfer report and molecule tests."""
    root = str(tmp_path_factory.mktemp("awx"))
    run_id = uuid.uuid4().hex[:8]
    world_env = dict(os.environ, **testbed.env, AIRLOCK_DEMO_DIR=root, ANSIBLE_COLLECTIONS_PATH=os.path.join(REPO, ".cache", "collections"),
                     ANSIBLE_LOCALHOST_WARNING="false")
    world = subprocess.run([os.path.join(VENV_BIN, "ansible-playbook"), "-i", os.path.join(REPO, "tests", "demo", "inventory.yml"),
                            os.path.join(REPO, "tests", "demo", "world.yml"), "-e", f"ansible_python_interpreter={VENV_BIN}/python"],
                           env=world_env, capture_output=True, text=True, timeout=600, check=False)
    assert world.returncode == 0, world.stdout[-3000:]
    client = s3_bucket.client_for(testbed)
    with s3_bucket.temporary_bucket(client, "airlock-runner") as bucket:
        project = project_for(root, bucket, f"runner-{run_id}")
        site = {"demo_work_dir": root, "demo_model_folder": tiny_model(os.path.join(root, "model")),
                "demo_public_registry": testbed.public_registry, "demo_private_registry": testbed.private_registry,
                "demo_private_ca": testbed.private_ca, "demo_s3_endpoint": testbed.s3_endpoint,
                "airlock_manifest_file": os.path.join(project, "airlock.yml"), "airlock_progress_interval": 2}
        secrets = injected_secrets(testbed)
        prepare, enclave, usb = prepare_then_enclave(root, project, site, secrets, testbed, {
            "preload_socket": testbed.containerd_socket, "preload_namespace": f"airlock-runner-{run_id}"})
        yield {"root": root, "prepare": prepare, "enclave": enclave, "secrets": secrets, "usb": usb, "site": site}
