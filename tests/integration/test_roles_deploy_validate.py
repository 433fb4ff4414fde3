"""The deploy and validate roles through ansible-playbook, on a bundle holding a chart of our own (an umbrella with a NATS subchart).

There is no Kubernetes API here, so a release is proven by what deploy writes: the values override and the exact
`helm upgrade --install` command, which the real helm renders (as `helm template`) into pods that pull only from the
mirror, pinned by digest but for the one pin exception, each with the pull secret, reading the model from where publish
put it. The helm install task is skipped without a kubeconfig. Validate audits what deploy recorded and fails naming
file, object, path and value of everything that points outside.
"""

import json
import os
import shlex
import subprocess
import sys
import types

import pytest
import yaml

from module_runner import run_module

from ansible_collections.airlock.airgap.plugins.module_utils.oci import reference

pytestmark = pytest.mark.testbed

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
UMBRELLA = os.path.join(REPO, "tests", "fixtures", "charts", "umbrella")
CALLBACKS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "callback_plugins")
MIRROR = "registry.enclave:5000/mirror"
NATS_IMAGES = ("docker.io/library/nats:2.12.6-alpine", "docker.io/natsio/nats-server-config-reloader:0.16.0", "docker.io/natsio/nats-box:0.16.0")
COMPOSE_IMAGE = "docker.io/library/redis:7.4"
SERVER = "ghcr.io/acme/sie-server:0.6.6-amd64-default"
MODELS_URL = "s3://models/weights"
MANIFEST = {
    "name": "embedding-server",
    "charts": [{"name": "umbrella", "path": UMBRELLA, "release": "sie", "namespace": "sie"}],
    "compose": [{"name": "tao", "files": ["compose/docker-compose.yml"]}],
    "models": [{"source": "hf://sentence-transformers/all-MiniLM-L6-v2", "consumer": {"chart": "umbrella", "value": "workers.common.clusterCache.url"}},
               {"source": "hf://BAAI/bge-m3", "consumer": {"compose": "tao", "env": "LOCAL_MODEL_REGISTRY"}}],
    "enclave": {"registry": {"host": "registry.enclave:5000", "prefix": "mirror"},
                "s3": {"endpoint": "http://seaweedfs.storage.svc:8333", "bucket": "models", "prefix": "weights"},
                "pull_secret": "mirror-pull", "pin": "digest", "pin_exceptions": [SERVER]},
}


def fake_digest(image):
    return "sha256:" + format(abs(hash(image)) % (16 ** 64), "064x")


def mirrored(image):
    parsed = reference.parse(image)
    return f"{MIRROR}/{parsed.repository}:{parsed.tag}"


@pytest.fixture
def site(tmp_path):
    """A manifest folder with a Compose project (and a .env of its own), and a bundle holding the umbrella chart as chart_mirror
    writes it, its lock recording the images as a push from the bundle's layout does (`oci:DIR:REFERENCE` sources)."""
    bundle = tmp_path / "bundle"
    mirrored_chart = run_module("chart_mirror", {"charts": [{"path": UMBRELLA}], "dest": str(bundle / "charts"),
                                                 "lock_file": str(bundle / "airlock.lock.json")})
    assert not mirrored_chart.get("failed"), mirrored_chart.get("msg")
    lock = json.loads((bundle / "airlock.lock.json").read_text())
    lock["images"] = [{"source": f"oci:{bundle}/images:{image}", "destination": mirrored(image), "digest": fake_digest(image),
                       "platforms": ["linux/amd64"]} for image in NATS_IMAGES + (COMPOSE_IMAGE,)]
    (bundle / "airlock.lock.json").write_text(json.dumps(lock))
    project = tmp_path / "site" / "compose"
    project.mkdir(parents=True)
    (project / "docker-compose.yml").write_text("services:\n  cache:\n    image: redis:7.4\n"
                                                "    environment: {LOCAL_MODEL_REGISTRY: '${LOCAL_MODEL_REGISTRY:-}'}\n")
    (project / ".env").write_text("KEEP=me\n")
    return types.SimpleNamespace(root=tmp_path, dir=tmp_path / "site", bundle=bundle, out=tmp_path / "out", project=project)


def run_roles(site, testbed, manifest=None, check=False, **extra_vars):
    """ansible-playbook of deploy then validate as a user runs it; the recap, every task's result (by task name) and stdout."""
    (site.dir / "airlock.yml").write_text(yaml.safe_dump({"airlock": manifest or MANIFEST}))
    play = [{"hosts": "localhost", "gather_facts": False, "vars_files": ["airlock.yml"],
             "roles": ["airlock.airgap.deploy", "airlock.airgap.validate"]}]
    (site.dir / "play.yml").write_text(yaml.safe_dump(play))
    variables = dict(airlock_bundle_dir=str(site.bundle), airlock_output_dir=str(site.out), deploy_helm_binary=testbed.helm,
                     validate_helm_binary=testbed.helm, **extra_vars)
    log = site.root / "results.json"
    collections = os.environ.get("ANSIBLE_COLLECTIONS_PATH") or os.path.join(REPO, ".cache", "collections")
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=collections, ANSIBLE_LOCALHOST_WARNING="false", ANSIBLE_INVENTORY_UNPARSED_WARNING="false",
               ANSIBLE_PYTHON_INTERPRETER=sys.executable, ANSIBLE_CALLBACK_PLUGINS=CALLBACKS, ANSIBLE_CALLBACKS_ENABLED="result_log",
               AIRLOCK_RESULT_LOG=str(log))
    argv = [os.path.join(os.path.dirname(sys.executable), "ansible-playbook"), "-i", "localhost,", "-c", "local", "-e", json.dumps(variables),
            str(site.dir / "play.yml")] + (["--check"] if check else [])
    completed = subprocess.run(argv, capture_output=True, text=True, env=env, timeout=600, check=False)
    assert log.exists(), completed.stdout[-3000:] + completed.stderr[-2000:]
    report = json.loads(log.read_text())
    log.unlink()
    tasks = {name.split(" : ", 1)[-1]: task for name, task in report["tasks"].items()}
    return types.SimpleNamespace(stats=report["recap"]["localhost"], tasks=tasks, stdout=" ".join(completed.stdout.split()))


def summary(run, role):
    return run.tasks[{"deploy": "Summarise the deployment", "validate": "Summarise the audit"}[role]]["result"]["msg"]


def rendered_by_the_written_command(site, testbed):
    """The written `helm upgrade --install` run as `helm template` of the bundle's archive of the same chart."""
    commands = [line for line in (site.out / "helm-upgrade.sh").read_text().splitlines() if line.startswith(testbed.helm)]
    assert len(commands) == 1, commands
    argv = shlex.split(commands[0])
    assert argv[1:5] == ["upgrade", "--install", "sie", f"oci://{MIRROR}/charts/umbrella"]
    argv = [testbed.helm, "template", "sie", str(site.bundle / "charts" / "umbrella-0.1.0.tgz")] + [a for a in argv[5:] if a != "--create-namespace"]
    return [d for d in yaml.safe_load_all(subprocess.run(argv, capture_output=True, text=True, check=True, timeout=120).stdout) if d]


def test_deploy_writes_what_installs_from_the_mirror_and_validate_passes_it(site, testbed):
    first = run_roles(site, testbed)
    assert first.stats["failures"] == 0, first.stdout[-3000:]
    assert first.tasks["Install each release from the enclave registry's chart"]["status"] == "skipped"
    assert first.tasks["Run docker compose up"]["status"] == "skipped"

    assert (site.out / "helm-upgrade.sh").read_text().splitlines()[-1] == " ".join([
        testbed.helm, "upgrade", "--install", "sie", f"oci://{MIRROR}/charts/umbrella", "--version", "0.1.0", "--namespace", "sie",
        "--create-namespace", "--values", str(site.out / "sie" / "mirror.yaml"),
        "--set-json", shlex.quote(f'workers.common.clusterCache.url="{MODELS_URL}"')])
    pods = {d["metadata"]["name"]: d["spec"]["template"]["spec"] for d in rendered_by_the_written_command(site, testbed)}
    assert {name: [c["image"] for c in spec["containers"]] for name, spec in pods.items()} == {
        "sie-server": [mirrored(SERVER)],
        "sie-nats": [f"{mirrored(image)}@{fake_digest(image)}" for image in NATS_IMAGES[:2]],
        "sie-nats-box": [f"{mirrored(NATS_IMAGES[2])}@{fake_digest(NATS_IMAGES[2])}"]}
    assert {name: spec["imagePullSecrets"] for name, spec in pods.items()} == dict.fromkeys(pods, [{"name": "mirror-pull"}])
    assert {"name": "SIE_CLUSTER_CACHE_URL", "value": MODELS_URL} in pods["sie-server"]["containers"][0]["env"]

    assert (site.project / ".env").read_text() == f"KEEP=me\nLOCAL_MODEL_REGISTRY={MODELS_URL}\n"
    assert yaml.safe_load((site.project / "compose.airlock.yml").read_text())["services"]["cache"]["image"] == \
        f"{mirrored(COMPOSE_IMAGE)}@{fake_digest(COMPOSE_IMAGE)}"
    assert f"pinned by digest except {mirrored(SERVER)} (pin_exceptions, by tag)" in summary(first, "deploy")
    assert f"to install with {site.out}/helm-upgrade.sh: {testbed.helm} upgrade --install sie" in summary(first, "deploy")
    assert summary(first, "validate") == (f"validate embedding-server: 1 releases and 1 Compose projects audited against {MIRROR}, "
                                          "0 references point outside the enclave, 0 pull warnings")

    second = run_roles(site, testbed)
    assert second.stats["failures"] == 0 and second.stats["changed"] == 0, second.stdout[-3000:]


def test_check_mode_writes_nothing_and_validate_has_nothing_to_audit(site, testbed):
    checked = run_roles(site, testbed, check=True)
    assert checked.stats["failures"] == 0 and checked.stats["changed"] > 0, checked.stdout[-3000:]
    assert not site.out.exists() and not (site.project / "compose.airlock.yml").exists()
    assert (site.project / ".env").read_text() == "KEEP=me\n"
    assert summary(checked, "deploy").startswith("deploy embedding-server (check mode: would be): 1 releases (sie) to install with")
    assert summary(checked, "validate") == f"validate embedding-server (check mode): nothing deployed yet in {site.out}, nothing audited"


def test_validate_fails_naming_every_reference_that_points_outside(site, testbed):
    """No S3 endpoint means AWS (for the chart and the Compose project alike); a gated NIMCache that downloads from NGC: all
    outside, named after the summary line."""
    manifest = json.loads(json.dumps(MANIFEST))
    del manifest["enclave"]["s3"]["endpoint"]
    manifest["charts"][0]["values"] = {"modelCache": {"source": "ngc"}}
    refused = run_roles(site, testbed, manifest)
    assert refused.stats["failures"] == 1
    assert summary(refused, "deploy").startswith("deploy embedding-server: 1 releases (sie)")
    assert summary(refused, "validate").startswith("validate embedding-server: 1 releases and 1 Compose projects audited against "
                                                   f"{MIRROR}, 3 references point outside the enclave (listed below)")
    failure = refused.tasks["Fail with every reference that points outside the enclave"]
    assert failure["status"] == "failed"
    compose_files = f"{site.project / 'docker-compose.yml'},{site.project / 'compose.airlock.yml'}"
    assert sorted(failure["result"]["msg"]) == [
        f"{compose_files} service/cache services.cache.environment.LOCAL_MODEL_REGISTRY: {MODELS_URL} "
        "(an s3:// URL with no S3 endpoint configured, so AWS S3)",
        "umbrella/templates/modelcache.yaml NIMCache/sie-model spec.source.ngc: ngc.nvidia.com (a model source that downloads from NGC)",
        "umbrella/templates/server.yaml Deployment/sie-server spec.template.spec.containers[0].env[0].value: "
        f"{MODELS_URL} (an s3:// URL with no S3 endpoint configured, so AWS S3)"]


def test_compose_up_runs_only_where_asked_with_the_override_and_the_env_file(site, testbed):
    calls = site.root / "docker-calls"
    docker = site.root / "docker"
    docker.write_text(f"#!/bin/sh\necho \"$@\" >> {calls}\necho ' Container compose-cache-1  Started' >&2\n")
    docker.chmod(0o755)
    started = run_roles(site, testbed, deploy_compose_up=True, deploy_docker_binary=str(docker))
    assert started.stats["failures"] == 0, started.stdout[-3000:]
    assert started.tasks["Run docker compose up"]["status"] == "changed"
    assert calls.read_text().split() == ["compose", "--project-directory", str(site.project), "--file", str(site.project / "docker-compose.yml"),
                                         "--file", str(site.project / "compose.airlock.yml"), "--env-file", str(site.project / ".env"),
                                         "up", "--detach"]
    assert "1 Compose projects started" in summary(started, "deploy")
