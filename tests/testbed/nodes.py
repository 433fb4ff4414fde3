"""The sealed enclave's nodes: sshd and a container runtime in each node's namespace.

Each node is reached as a real host: sshd with a host key made here, root logging in with
a client key made here, a known_hosts file and an Ansible inventory written for them. The
nodes share this machine's filesystem (only the network is theirs), so a node's runtime
keeps its sockets and data under the enclave's state directory, and the registry CA that
its runtime trusts is mounted over /etc for that namespace only (/etc/netns/NAME).
"""

import os
import shutil
import subprocess
import sys

import yaml

from . import processes, services
from .enclave import NODE_SSH_PORT, NODES

SSHD = "/usr/sbin/sshd"


def start_all(current, tools, log):
    """Keys, then per node its runtime and sshd; then the inventory and known_hosts."""
    ssh_dir = os.path.join(current["state_dir"], "ssh")
    os.makedirs(ssh_dir, exist_ok=True)
    client_key = os.path.join(ssh_dir, "id_ed25519")
    _keygen(client_key, "airlock enclave controller")
    os.makedirs("/run/sshd", exist_ok=True)  # sshd's privilege separation directory
    with_cgroups = _cgroups_script(current["state_dir"])
    current["nodes"] = []
    for name, runtime in NODES:
        log(f"enclave: starting node {name} ({runtime})")
        current["nodes"].append(_start_node(current, tools, name, runtime, client_key, with_cgroups))
    known_hosts = os.path.join(ssh_dir, "known_hosts")
    with open(known_hosts, "w", encoding="ascii") as handle:
        for node in current["nodes"]:
            handle.write(f"{node['address']} {node['host_key']}\n")
    inventory = os.path.join(current["state_dir"], "inventory.yml")
    with open(inventory, "w", encoding="utf-8") as handle:
        yaml.safe_dump(inventory_document(current["nodes"], client_key, known_hosts), handle, sort_keys=False)
    current["env"].update({"AIRLOCK_ENCLAVE_INVENTORY": inventory, "AIRLOCK_ENCLAVE_SSH_KEY": client_key,
                           "AIRLOCK_ENCLAVE_KNOWN_HOSTS": known_hosts})


def inventory_document(nodes, client_key, known_hosts):
    """Group `nodes` over SSH; the controller is this machine (local connection, this Python)."""
    hosts = {}
    for node in nodes:
        hosts[node["name"]] = {
            "ansible_host": node["address"],
            "preload_socket": node["socket"],
            "airlock_node_runtime": node["runtime"],
            "airlock_node_certs_dir": node["certs_dir"],
            **({"docker_host": node["env"]["DOCKER_HOST"]} if node["runtime"] == "docker" else {}),
        }
    return {"all": {
        "hosts": {"localhost": {"ansible_connection": "local", "ansible_python_interpreter": sys.executable}},
        "children": {"nodes": {"hosts": hosts, "vars": {
            "ansible_connection": "ssh", "ansible_user": "root", "ansible_port": NODE_SSH_PORT,
            "ansible_ssh_private_key_file": client_key,
            "ansible_ssh_common_args": f"-o UserKnownHostsFile={known_hosts} -o StrictHostKeyChecking=yes",
            # The nodes share this machine's filesystem, so its Python (and the collection's dependencies) is theirs.
            "ansible_python_interpreter": sys.executable,
        }}},
    }}


def _keygen(path, comment):
    if not os.path.exists(path):
        subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", comment, "-f", path], check=True)


def _start_node(current, tools, name, runtime, client_key, with_cgroups):
    namespace = current["namespaces"][name]
    address = current["addresses"]["nodes"][name]
    home = os.path.join(current["state_dir"], "nodes", name)
    os.makedirs(home, exist_ok=True)
    prefix = ("ip", "netns", "exec", namespace, with_cgroups)
    certs_dir = _trust_registry(current, namespace, home)
    if runtime == "docker":
        # dockerd starts its own containerd, so that both see the container mounts dockerd makes: each
        # `ip netns exec` is a mount namespace of its own.
        dockerd = services.start_dockerd(os.path.join(home, "dockerd"), tools, None, prefix=prefix)
        current["processes"][f"{name}-dockerd"] = {"pids": dockerd["pids"], "log": dockerd["log"]}
        env = {"DOCKER_HOST": dockerd["env"]["AIRLOCK_DOCKER_HOST"]}
        socket_path = env["DOCKER_HOST"].removeprefix("unix://")
    else:
        containerd = services.start_containerd(os.path.join(home, "containerd"), tools, prefix=prefix)
        current["processes"][f"{name}-containerd"] = {"pids": containerd["pids"], "log": containerd["log"]}
        socket_path = containerd["env"]["AIRLOCK_CONTAINERD_SOCKET"]
        env = {"CONTAINERD_ADDRESS": socket_path}
    host_key, sshd_pid = _start_sshd(current, name, prefix, address, home, client_key)
    return {"name": name, "namespace": namespace, "address": address, "runtime": runtime, "socket": socket_path,
            "certs_dir": certs_dir, "env": env, "host_key": host_key, "sshd_pid": sshd_pid, "home": home}


def _cgroups_script(state_dir):
    """A wrapper that mounts this machine's cgroup hierarchies again, then runs its arguments.

    `ip netns exec` mounts a fresh /sys for the namespace (so that /sys/class/net shows its own
    links), which has no cgroups under it: dockerd refuses to start and no container could run.
    """
    with open("/proc/self/mounts", encoding="utf-8") as mounts:
        cgroup_mounts = [line.split()[:4] for line in mounts if line.split()[1].startswith("/sys/fs/cgroup")]
    lines = ["#!/bin/sh", "# The machine's cgroup hierarchies in this namespace's fresh /sys, then the command.", "set -e"]
    for _source, target, kind, options in cgroup_mounts:
        kept = [option for option in options.split(",") if option not in ("rw", "ro", "relatime", "nosuid", "nodev", "noexec")]
        if kind == "cgroup" and all(option.startswith("name=") for option in kept):
            kept.insert(0, "none")
        flags = f"-o {','.join(kept)}" if kept and kind != "cgroup2" else ("-o mode=755" if kind == "tmpfs" else "")
        lines.append(f"mkdir -p {target} && mount -t {kind} {flags} {kind} {target}")
    lines.append('exec "$@"')
    path = os.path.join(state_dir, "bin", "with-cgroups")
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w", encoding="ascii") as handle:
        handle.write("\n".join(lines) + "\n")
    os.chmod(path, 0o755)
    return path


def _trust_registry(current, namespace, home):
    """The enclave registry's CA for each runtime: containerd's hosts dir, and Docker's and podman's
    /etc/docker and /etc/containers for this namespace only (copies of this machine's, plus certs.d)."""
    registry = current["env"]["AIRLOCK_ENCLAVE_REGISTRY"]
    ca_file = current["env"]["AIRLOCK_ENCLAVE_REGISTRY_CA"]
    certs_dir = os.path.join(home, "certs.d")
    os.makedirs(os.path.join(certs_dir, registry), exist_ok=True)
    with open(os.path.join(certs_dir, registry, "hosts.toml"), "w", encoding="utf-8") as hosts:
        hosts.write(f'server = "https://{registry}"\n\n[host."https://{registry}"]\n'
                    f'  capabilities = ["pull", "resolve"]\n  ca = "{ca_file}"\n')
    for etc in ("docker", "containers"):
        private = f"/etc/netns/{namespace}/{etc}"
        if os.path.isdir(f"/etc/{etc}"):
            shutil.copytree(f"/etc/{etc}", private, dirs_exist_ok=True)
        os.makedirs(os.path.join(private, "certs.d", registry), exist_ok=True)
        shutil.copyfile(ca_file, os.path.join(private, "certs.d", registry, "ca.crt"))
    return certs_dir


def _start_sshd(current, name, prefix, address, home, client_key):
    host_key = os.path.join(home, "ssh_host_ed25519_key")
    _keygen(host_key, f"airlock enclave node {name}")
    config = os.path.join(home, "sshd_config")
    with open(config, "w", encoding="ascii") as handle:
        handle.write(f"""ListenAddress {address}
Port {NODE_SSH_PORT}
HostKey {host_key}
PidFile {home}/sshd.pid
AuthorizedKeysFile {client_key}.pub
PermitRootLogin prohibit-password
PasswordAuthentication no
KbdInteractiveAuthentication no
UsePAM no
StrictModes no
PrintMotd no
Subsystem sftp internal-sftp
""")
    log = os.path.join(home, "sshd.log")
    pid = processes.spawn([*prefix, SSHD, "-D", "-e", "-f", config], log)
    processes.wait_until(lambda: processes.tcp_open(NODE_SSH_PORT, address), f"sshd on node {name}", log,
                         timeout=30, pid=pid, state_dir=current["state_dir"])
    current["processes"][f"{name}-sshd"] = {"pids": [pid], "log": log}
    with open(f"{host_key}.pub", encoding="ascii") as public:
        return " ".join(public.read().split()[:2]), pid
