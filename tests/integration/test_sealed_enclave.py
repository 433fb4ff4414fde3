"""The sealed enclave is sealed: nodes answer Ansible over SSH, reach the enclave's registry and S3,
reach nothing else, and the witness names every attempt to."""

import json
import os
import subprocess
import time
import urllib.request

import pytest

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
