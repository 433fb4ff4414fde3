"""The sealed enclave is sealed: nodes answer Ansible over SSH, reach the enclave's registry and S3,
reach nothing else, and the witness names every attempt to."""

import base64
import json
import os
import subprocess
import time
import urllib.request

import pytest
import yaml

from module_runner import run_module
from standins import compose, images, kubelet

pytestmark = pytest.mark.testbed

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BIN = os.path.join(REPO, ".venv", "bin")


def ansible(sealed, *args):
    env = dict(os.environ, ANSIBLE_HOST_KEY_CHECKING="True", ANSIBLE_LOCALHOST_WARNING="false")
    return subprocess.run([os.path.join(BIN, "ansible"), "-i", sealed.inventory, *args], env=env,
                          capture_output=True, text=True, timeout=180, check=False)


def test_every_node_answers_ansible_over_ssh_as_a_real_host(sealed_enclave):
    done = ansible(sealed_enclave, "nodes", "-m", "ansible.builtin.command", "-a", "ip -4 -o addr show dev eth0")
    assert done.returncode == 0, done.stdout + done.stderr
    for node in sealed_enclave.nodes:
        assert f"{node['name']} | CHANGED" in done.stdout and node["address"] in done.stdout, done.stdout
    assert len(sealed_enclave.nodes) >= 3
    assert {node["runtime"] for node in sealed_enclave.nodes} == {"containerd", "docker"}


def test_nodes_reach_the_enclave_registry_and_s3_and_nothing_else(sealed_enclave, testbed):
    since = time.time()
    node = sealed_enclave.nodes[0]["name"]
    registry = sealed_enclave.run(node, ["curl", "-sS", "-m", "5", "-o", "/dev/null", "-w", "%{http_code}", "--cacert",
                                         sealed_enclave.registry_ca, f"https://{sealed_enclave.registry}/v2/"])
    assert registry.stdout == "401", registry.stderr
    s3 = sealed_enclave.run(node, ["curl", "-sS", "-m", "5", "-o", "/dev/null", "-w", "%{http_code}", sealed_enclave.s3_endpoint])
    assert s3.stdout in ("200", "403"), s3.stderr
    public = sealed_enclave.run(node, ["curl", "-sS", "-m", "5", f"http://{testbed.public_registry}/v2/"])
    assert public.returncode != 0, public.stdout  # the host's loopback is not the node's
    controller = sealed_enclave.addresses["controller"]
    back = sealed_enclave.ssh(node, f"curl -sS -m 5 http://{controller}:22/")  # the jump host does not let nodes in
    assert back.returncode != 0
    assert f"{controller}:22" in {event["destination"] for event in sealed_enclave.witness.events(since)}


def test_the_witness_names_a_hosted_endpoint_a_node_tries_and_the_api_counts_it(sealed_enclave):
    since = time.time()
    node = sealed_enclave.nodes[-1]["name"]
    leak = sealed_enclave.ssh(node, "curl -sS -m 5 https://integrate.api.nvidia.com/v1/models")
    assert leak.returncode != 0
    names = sealed_enclave.witness.names(since)
    assert "integrate.api.nvidia.com" in names
    node_address = sealed_enclave.node(node)["address"]
    kinds = {(event["kind"], event["name"]) for event in sealed_enclave.witness.events(since)
             if event["source"].startswith(node_address + ":")}
    assert ("dns", "integrate.api.nvidia.com") in kinds and ("tcp", "integrate.api.nvidia.com") in kinds
    with urllib.request.urlopen(f"{sealed_enclave.witness_url}?since={since}", timeout=10) as response:  # noqa: S310
        answer = json.load(response)
    assert answer["count"] == sealed_enclave.witness.count(since) > 0


def test_the_witness_counts_a_ping_leaving_the_enclave_like_a_connection(sealed_enclave):
    since = time.time()
    node = sealed_enclave.nodes[0]
    pinged = sealed_enclave.ssh(node["name"], "busybox ping -c 1 -W 2 ntp.example.org")  # busybox-static: the testbed installs it
    assert pinged.returncode != 0, pinged.stdout  # refused by the witness
    attempts = [event for event in sealed_enclave.witness.events(since) if event["kind"] == "icmp"]
    assert [(event["source"], event["name"]) for event in attempts] == [(node["address"], "ntp.example.org")], attempts
    with urllib.request.urlopen(f"{sealed_enclave.witness_url}?since={since}", timeout=10) as response:  # noqa: S310
        assert json.load(response)["count"] == sealed_enclave.witness.count(since) > len(attempts)  # and the name's lookups


@pytest.fixture(scope="module")
def standins_on_mirror(sealed_enclave, tmp_path_factory):
    """Runnable stand-ins under a vendor's names, pushed to the enclave registry by our own image_copy."""
    layout = str(tmp_path_factory.mktemp("standins") / "layout")
    names = ["nvcr.io/nim/nvidia/llama-3.2-nv-embedqa-1b-v2:1.3.0", "docker.io/library/standin-web:1.0"]
    images.write_layout(layout, names)
    result = run_module("image_copy", {
        "images": [f"oci:{layout}"], "destination": f"docker://{sealed_enclave.registry}/sealed-test",
        "registries": [{"host": sealed_enclave.registry, "username": sealed_enclave.registry_user,
                        "password": sealed_enclave.registry_password, "ca_file": sealed_enclave.registry_ca}],
    })
    assert not result.get("failed"), result.get("msg")
    return {entry["source"]: entry for entry in result["images"]}, result


def pull_secret(sealed):
    login = base64.b64encode(f"{sealed.registry_user}:{sealed.registry_password}".encode()).decode()
    config = json.dumps({"auths": {sealed.registry: {"auth": login}}})
    return yaml.safe_dump({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "mirror"},
                           "type": "kubernetes.io/dockerconfigjson",
                           "data": {".dockerconfigjson": base64.b64encode(config.encode()).decode()}})


def test_a_rendered_deployment_runs_from_the_mirror_with_its_pull_secret_and_answers_its_probe(
        sealed_enclave, standins_on_mirror, tmp_path):
    since = time.time()
    _copied, result = standins_on_mirror
    image = f"{sealed_enclave.registry}/sealed-test/nim/nvidia/llama-3.2-nv-embedqa-1b-v2:1.3.0"
    manifests = yaml.safe_dump_all([
        {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "embedqa"}, "spec": {"ports": [{"port": 8000}]}},
        {"apiVersion": "apps/v1", "kind": "StatefulSet", "metadata": {"name": "embedqa"}, "spec": {
            "selector": {"matchLabels": {"app": "embedqa"}}, "template": {"metadata": {"labels": {"app": "embedqa"}}, "spec": {
                "imagePullSecrets": [{"name": "mirror"}],
                "containers": [{"name": "nim", "image": image, "ports": [{"name": "http", "containerPort": 8000}],
                                "env": [{"name": "MODEL_DIR", "value": "/bin"}],
                                "readinessProbe": {"httpGet": {"path": "/v1/health/ready", "port": "http"}}}]}}}},
    ])
    node = sealed_enclave.nodes[0]["name"]
    try:
        probed, _started = kubelet.play(sealed_enclave, node, manifests, pull_secret(sealed_enclave), str(tmp_path / "kube"))
        assert [entry["pod"] for entry in probed] == ["embedqa"], probed
        assert kubelet.ready(sealed_enclave, node, probed[0]["probe_url"]) == "ready\n"
    finally:
        kubelet.down(sealed_enclave, node, str(tmp_path / "kube"))
    assert result["images"], result
    assert sealed_enclave.witness.events(since) == []


def test_a_compose_project_runs_from_the_mirror_on_the_docker_node(sealed_enclave, standins_on_mirror, tmp_path):
    since = time.time()
    node = next(node["name"] for node in sealed_enclave.nodes if node["runtime"] == "docker")
    login = base64.b64encode(f"{sealed_enclave.registry_user}:{sealed_enclave.registry_password}".encode()).decode()
    (tmp_path / "docker").mkdir()
    (tmp_path / "docker" / "config.json").write_text(json.dumps({"auths": {sealed_enclave.registry: {"auth": login}}}))
    project = tmp_path / "project"
    project.mkdir()
    (project / "docker-compose.yml").write_text(yaml.safe_dump({"version": "3.8", "services": {"web": {
        "image": f"{sealed_enclave.registry}/sealed-test/library/standin-web:1.0", "container_name": "sealed-web"}}}))
    try:
        up = compose.compose(sealed_enclave, node, str(project), ["up", "-d"], docker_config_dir=str(tmp_path / "docker"))
        assert up.returncode == 0, up.stderr
        address = compose.container_address(sealed_enclave, node, "sealed-web")
        answered = sealed_enclave.run(node, ["curl", "-sS", "-m", "2", "--retry", "10", "--retry-connrefused",
                                             "--retry-delay", "1", f"http://{address}:8000/v1/health/ready"])
        assert answered.stdout == "ready\n", answered.stderr
    finally:
        compose.compose(sealed_enclave, node, str(project), ["down"], docker_config_dir=str(tmp_path / "docker"))
    assert sealed_enclave.witness.events(since) == []


def test_a_workload_configured_with_a_hosted_url_is_caught_by_the_witness_and_named(sealed_enclave, standins_on_mirror, tmp_path):
    since = time.time()
    image = f"{sealed_enclave.registry}/sealed-test/nim/nvidia/llama-3.2-nv-embedqa-1b-v2:1.3.0"
    manifests = yaml.safe_dump({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "leaky"}, "spec": {
        "imagePullSecrets": [{"name": "mirror"}],
        "containers": [{"name": "nim", "image": image, "ports": [{"containerPort": 8000}],
                        "env": [{"name": "UPSTREAM_URL", "value": "https://integrate.api.nvidia.com/v1/models"}],
                        "readinessProbe": {"httpGet": {"path": "/v1/health/ready", "port": 8000}}}]}})
    node = sealed_enclave.nodes[1]["name"]
    try:
        probed, _started = kubelet.play(sealed_enclave, node, manifests, pull_secret(sealed_enclave), str(tmp_path / "kube"))
        assert kubelet.ready(sealed_enclave, node, probed[0]["probe_url"]) == "ready\n"  # it tried the upstream first
        health = [{"url": probed[0]["probe_url"], "host": node}]
        validated = validate_with_witness(sealed_enclave, since, tmp_path, health)
    finally:
        kubelet.down(sealed_enclave, node, str(tmp_path / "kube"))
    leaks = [event for event in sealed_enclave.witness.events(since) if event["name"] == "integrate.api.nvidia.com"]
    assert {event["kind"] for event in leaks} >= {"dns", "tcp"}, sealed_enclave.witness.events(since)
    assert validated.returncode != 0, validated.stdout[-3000:]
    assert "1/1 health URLs answered" in validated.stdout, validated.stdout[-3000:]
    assert f"egress witness counted {sealed_enclave.witness.count(since)} attempts to leave the enclave" in validated.stdout
    assert "tcp from " in validated.stdout and "to 198.18." in validated.stdout and "(integrate.api.nvidia.com)" in validated.stdout


def test_validate_fails_naming_a_health_url_that_does_not_answer(sealed_enclave, tmp_path):
    node = sealed_enclave.nodes[0]
    silent = f"http://{node['address']}:9/v1/health/ready"  # nothing listens there
    validated = validate_with_witness(sealed_enclave, time.time(), tmp_path, [{"url": silent, "host": node["name"]}],
                                      "validate_health_retries=1")
    assert validated.returncode != 0, validated.stdout[-3000:]
    assert f"failed: [localhost -> {node['name']}(" in validated.stdout and f'"url": "{silent}"' in validated.stdout, validated.stdout[-3000:]


def validate_with_witness(sealed, since, tmp_path, health_urls, *extra_vars):
    """The validate role on a deployment with nothing to audit: health URLs from their node, the witness since `since`."""
    output = tmp_path / "out"
    output.mkdir()
    (output / "airlock-deploy.json").write_text(json.dumps({"charts": [], "compose": []}))
    (tmp_path / "airlock.yml").write_text(yaml.safe_dump({"airlock": {"name": "leaky", "enclave": {"registry": {"host": sealed.registry}}}}))
    (tmp_path / "validate.yml").write_text(yaml.safe_dump([{
        "name": "Validate", "hosts": "localhost", "gather_facts": False, "vars_files": [str(tmp_path / "airlock.yml")],
        "roles": [{"role": "airlock.airgap.validate"}],
    }]))
    env = dict(os.environ, ANSIBLE_LOCALHOST_WARNING="false", ANSIBLE_STDOUT_CALLBACK="default")
    return subprocess.run([os.path.join(BIN, "ansible-playbook"), "-i", sealed.inventory, str(tmp_path / "validate.yml"),
                           "-e", f"airlock_output_dir={output}", "-e", json.dumps({"validate_health_urls": health_urls}),
                           "-e", f"validate_witness_url={sealed.witness_url}", "-e", f"validate_witness_since={since}",
                           *(option for setting in extra_vars for option in ("-e", setting))],
                          env=env, capture_output=True, text=True, timeout=300, check=False)
