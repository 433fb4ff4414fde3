"""The sealed enclave: a private registry, S3 and SSH nodes that cannot reach anything outside.

Layout (one /24 per enclave, 10.213.N.0/24, N free on this machine when it starts):

    controller (this machine's root namespace: Ansible, the jump host)
        | veth 10.213.N.1 <-> 10.213.N.2
    aeN-enc  the enclave's services: TLS+htpasswd registry on 10.213.N.65:5000 and
        |    SeaweedFS S3 on 10.213.N.65; a bridge 10.213.N.64/26 that joins:
        +-- aeN-n1 .. aeN-nK  nodes: sshd on port 22 (host key and client key made here),
        |                    containerd (n1, n2) or dockerd (n3) on sockets under the state dir
        +-- aeN-wit          the egress witness (testbed.witness), 10.213.N.126

Every enclave namespace's default route and only resolver is the witness, which records each
DNS query and each TCP/UDP connection attempt and refuses it; there is no other way out.
The enclave namespace forwards the controller's connections to the nodes and refuses any
connection from the nodes to the controller (a copy of its first packet goes to the witness,
which records it). Nothing in an enclave namespace reaches this
machine's loopback services (the "public" registry).

API (what tests and the w13b examples use):

    from testbed import enclave
    current = enclave.up(state_dir)          # or the `sealed_enclave` pytest fixture
    sealed = enclave.Sealed.from_state(current)
    sealed.inventory                 # Ansible inventory (YAML): group `nodes`, ansible_connection ssh,
                                     # the generated key, a known_hosts written here; host vars
                                     # preload_socket, airlock_node_runtime (containerd|docker),
                                     # airlock_node_certs_dir (containerd hosts dir), docker_host
    sealed.registry                  # "10.213.N.65:5000"
    sealed.registry_user, sealed.registry_password, sealed.registry_ca
    sealed.s3_endpoint, sealed.s3_access_key, sealed.s3_secret_key, sealed.s3_region
    sealed.witness.count(since=0.0), .events(since), .names(since)   # testbed.witness.Witness
    sealed.witness_url               # http://10.213.N.126:8053/events (GET ?since=EPOCH -> {count, events})
    sealed.nodes                     # [{"name", "address", "runtime", "socket", "namespace", ...}]
    sealed.addresses                 # {"controller", "enclave", "witness", "nodes": {name: address}, ...}
    sealed.run(node_name, argv)      # run argv inside a node's namespace (subprocess.CompletedProcess)
    sealed.ssh(node_name, command)   # the same over SSH, as Ansible reaches the node
    sealed.env                       # AIRLOCK_ENCLAVE_* variables (see environment())

CLI: tests/testbed/testbed enclave up|down|status|env.
"""

import contextlib
import dataclasses
import fcntl
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

from . import install, processes, services, state
from .witness import API_PORT, READY_FILE, Witness

NODES = (("n1", "containerd"), ("n2", "containerd"), ("n3", "docker"))
ALLOCATION_LOCK = os.path.join(tempfile.gettempdir(), "airlock-enclave-subnets.lock")
STATE_FILE = "enclave.json"
REGISTRY_PORT = 5000
NODE_SSH_PORT = 22


def default_dir():
    explicit = os.environ.get("AIRLOCK_ENCLAVE_DIR")
    if explicit:
        return os.path.abspath(explicit)
    # One enclave per pytest-xdist worker: each worker's session starts and stops its own.
    worker = os.environ.get("PYTEST_XDIST_WORKER")
    return os.path.join(tempfile.gettempdir(), f"airlock-enclave-{os.getuid()}" + (f"-{worker}" if worker else ""))


def addresses(index):
    """Every address of enclave number `index`."""
    base = f"10.213.{index}"
    return {
        "controller": f"{base}.1", "uplink": f"{base}.2", "controller_link": f"{base}.0/30",
        "enclave": f"{base}.65", "bridge": f"{base}.64/26", "witness": f"{base}.126",
        "nodes": {name: f"{base}.{71 + position}" for position, (name, _runtime) in enumerate(NODES)},
    }


def namespaces(index):
    return {"enclave": f"ae{index}-enc", "witness": f"ae{index}-wit",
            **{name: f"ae{index}-{name}" for name, _runtime in NODES}}


# ---------------------------------------------------------------- lifecycle

def up(state_dir, log=print):
    """Start the sealed enclave, or reuse a live one recorded in state_dir. Returns its state."""
    with state.exclusive(state_dir, wait=True):
        current = load(state_dir)
        if current and is_alive(current):
            return current
        if current:
            _teardown(state_dir, current)
        return _start(state_dir, log)


def down(state_dir):
    """Stop every process of the enclave by PID, delete its namespaces, veths and /etc/netns files."""
    if not os.path.isdir(state_dir):
        return []
    with state.exclusive(state_dir, wait=True):
        current = load(state_dir)
        stopped = _teardown(state_dir, current) if current else []
        stopped += _stop_leftovers(state_dir)
        for entry in os.listdir(state_dir):
            if entry != ".lock":
                path = os.path.join(state_dir, entry)
                shutil.rmtree(path) if os.path.isdir(path) else os.unlink(path)
    return stopped


def status(state_dir):
    current = load(state_dir)
    if not current:
        return {"enclave": "not started"}
    report = {}
    for name, record in sorted(current["processes"].items()):
        alive = all(processes.is_ours(pid, state_dir) for pid in record["pids"])
        report[name] = f"{'running' if alive else 'DEAD'} (pid {','.join(map(str, record['pids']))})"
    report["witness events"] = str(Witness(os.path.join(state_dir, "witness")).count())
    return report


def load(state_dir):
    try:
        with open(os.path.join(state_dir, STATE_FILE), encoding="utf-8") as handle:
            return json.load(handle)
    except FileNotFoundError:
        return None


def _save(state_dir, current):
    path = os.path.join(state_dir, STATE_FILE)
    with open(f"{path}.tmp", "w", encoding="utf-8") as handle:
        json.dump(current, handle, indent=2, sort_keys=True)
    os.replace(f"{path}.tmp", path)


def is_alive(current):
    return all(processes.is_ours(pid, current["state_dir"])
               for record in current["processes"].values() for pid in record["pids"])


def _start(state_dir, log):
    started = time.monotonic()
    tools = install.ensure_all(log)
    index = _claim_subnet(state_dir)
    current = {"state_dir": state_dir, "index": index, "addresses": addresses(index),
               "namespaces": namespaces(index), "processes": {}, "env": {}}
    _save(state_dir, current)
    try:
        log(f"enclave: network 10.213.{index}.0/24")
        _build_network(current)
        _start_witness(current)
        _start_services(current, tools)
        from . import nodes  # pylint: disable=import-outside-toplevel
        nodes.start_all(current, tools, log)
        _save(state_dir, current)
    except BaseException:
        _teardown(state_dir, current)
        raise
    current["seconds_to_start"] = round(time.monotonic() - started, 1)
    _save(state_dir, current)
    return current


def _teardown(state_dir, current):
    stopped = []
    for record in reversed(list(current.get("processes", {}).values())):
        processes.stop(record["pids"], state_dir, grace_seconds=10.0)
        stopped.extend(record["pids"])
    stopped += _stop_leftovers(state_dir)
    _unmount_below(state_dir)
    for path in current.get("stray_paths", []):
        with contextlib.suppress(FileNotFoundError):
            os.unlink(path)
    for namespace in current.get("namespaces", {}).values():
        stopped += processes.stop_in_namespace(namespace)
        subprocess.run(["ip", "netns", "delete", namespace], check=False, capture_output=True)
        shutil.rmtree(f"/etc/netns/{namespace}", ignore_errors=True)
    subprocess.run(["ip", "link", "delete", _controller_link(current["index"])], check=False, capture_output=True)
    with contextlib.suppress(FileNotFoundError):
        os.unlink(os.path.join(state_dir, STATE_FILE))
    return stopped


def _stop_leftovers(state_dir):
    leftovers = processes.owned_pids(state_dir)
    processes.stop(leftovers, state_dir, grace_seconds=5.0)
    return leftovers


def _unmount_below(state_dir):
    with open("/proc/self/mounts", encoding="utf-8") as mounts:
        targets = [line.split()[1] for line in mounts if line.split()[1].startswith(state_dir + "/")]
    for target in sorted(targets, key=len, reverse=True):
        subprocess.run(["umount", "-l", target], check=False, capture_output=True)


def _claim_subnet(state_dir):
    """The lowest N whose 10.213.N.0/24 no interface here uses and no other enclave claimed."""
    with open(ALLOCATION_LOCK, "a+", encoding="ascii") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        in_use = subprocess.run(["ip", "-4", "-o", "addr"], check=True, capture_output=True, text=True).stdout
        claimed = set(subprocess.run(["ip", "netns", "list"], check=True, capture_output=True, text=True).stdout.split())
        for index in range(1, 250):
            if f"10.213.{index}." not in in_use and not any(name.startswith(f"ae{index}-") for name in claimed):
                subprocess.run(["ip", "netns", "add", namespaces(index)["enclave"]], check=True)
                return index
    raise RuntimeError("no free 10.213.N.0/24 for a sealed enclave; run `testbed enclave down` for stale ones")


# ---------------------------------------------------------------- network

def _controller_link(index):
    return f"ae{index}c"


def _ip(*args, namespace=None):
    argv = ["ip", *(("-n", namespace) if namespace else ()), *args]
    done = subprocess.run(argv, check=False, capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(argv)} failed: {done.stderr.strip()}")


def in_namespace(namespace, argv, **kwargs):
    """Run argv inside a namespace (with its /etc/netns files mounted over /etc)."""
    return subprocess.run(["ip", "netns", "exec", namespace, *argv], check=False, capture_output=True,
                          text=True, **kwargs)


def _sysctl(namespace, setting):
    done = in_namespace(namespace, ["sysctl", "-q", "-w", setting])
    if done.returncode != 0:
        raise RuntimeError(f"sysctl {setting} in {namespace}: {done.stderr.strip()}")


def _iptables(namespace, *rule):
    done = in_namespace(namespace, ["iptables", *rule])
    if done.returncode != 0:
        raise RuntimeError(f"iptables {' '.join(rule)} in {namespace}: {done.stderr.strip()}")


def _build_network(current):
    index, net, names = current["index"], current["addresses"], current["namespaces"]
    enclave = names["enclave"]
    for name in names.values():
        if name != enclave:
            _ip("netns", "add", name)
        os.makedirs(f"/etc/netns/{name}", exist_ok=True)
        with open(f"/etc/netns/{name}/resolv.conf", "w", encoding="ascii") as resolv:
            resolv.write(f"nameserver {net['witness']}\noptions attempts:1 timeout:1\n")
        with open(f"/etc/netns/{name}/hosts", "w", encoding="ascii") as hosts:
            hosts.write("127.0.0.1 localhost\n")
        _ip("link", "set", "lo", "up", namespace=name)
        _sysctl(name, "net.ipv6.conf.all.disable_ipv6=1")
    # The controller's link into the enclave namespace.
    link = _controller_link(index)
    _ip("link", "add", link, "type", "veth", "peer", "name", f"{link}u")
    _ip("link", "set", f"{link}u", "netns", enclave)
    _ip("link", "set", f"{link}u", "name", "uplink", namespace=enclave)
    _ip("addr", "add", f"{net['controller']}/30", "dev", link)
    _ip("link", "set", link, "up")
    _ip("addr", "add", f"{net['uplink']}/30", "dev", "uplink", namespace=enclave)
    _ip("link", "set", "uplink", "up", namespace=enclave)
    # The enclave's bridge, with the witness and each node on it.
    _ip("link", "add", "br0", "type", "bridge", namespace=enclave)
    _ip("addr", "add", f"{net['enclave']}/26", "dev", "br0", namespace=enclave)
    _ip("link", "set", "br0", "up", namespace=enclave)
    members = {"witness": net["witness"], **net["nodes"]}
    for member, address in members.items():
        _join_bridge(current, member, address)
    _ip("route", "add", "default", "via", net["witness"], namespace=enclave)
    _ip("route", "add", net["bridge"], "via", net["uplink"])
    # The enclave forwards the controller's connections in, and nothing from inside out to it.
    _sysctl(enclave, "net.ipv4.ip_forward=1")
    _iptables(enclave, "-P", "FORWARD", "DROP")
    _iptables(enclave, "-A", "FORWARD", "-m", "conntrack", "--ctstate", "ESTABLISHED,RELATED", "-j", "ACCEPT")
    _iptables(enclave, "-A", "FORWARD", "-i", "uplink", "-o", "br0", "-j", "ACCEPT")
    _iptables(enclave, "-A", "FORWARD", "-i", "br0", "-o", "br0", "-j", "ACCEPT")
    # A node's attempt at the controller is refused, and a copy shown to the witness, which records it.
    _iptables(enclave, "-t", "mangle", "-A", "PREROUTING", "-i", "br0", "-d", net["controller_link"], "-m", "conntrack",
              "--ctstate", "NEW", "-j", "TEE", "--gateway", net["witness"])
    _iptables(enclave, "-A", "FORWARD", "-i", "br0", "-p", "tcp", "-j", "REJECT", "--reject-with", "tcp-reset")
    _iptables(enclave, "-A", "FORWARD", "-i", "br0", "-j", "REJECT", "--reject-with", "icmp-port-unreachable")
    # The witness refuses whatever it is sent to pass on (after its listener recorded it): a route for every
    # destination so that each reaches its FORWARD chain (a TCP reset is never rate-limited as ICMP is).
    witness = names["witness"]
    _ip("route", "add", "default", "dev", "eth0", namespace=witness)
    _sysctl(witness, "net.ipv4.ip_forward=1")
    _iptables(witness, "-A", "FORWARD", "-p", "tcp", "-j", "REJECT", "--reject-with", "tcp-reset")
    _iptables(witness, "-A", "FORWARD", "-j", "REJECT", "--reject-with", "icmp-port-unreachable")


def _join_bridge(current, member, address):
    index, net, names = current["index"], current["addresses"], current["namespaces"]
    namespace, enclave = names[member], names["enclave"]
    outer = f"ae{index}{member[:3]}"
    _ip("link", "add", outer, "type", "veth", "peer", "name", f"{outer}i")
    _ip("link", "set", outer, "netns", enclave)
    _ip("link", "set", outer, "master", "br0", namespace=enclave)
    _ip("link", "set", outer, "up", namespace=enclave)
    _ip("link", "set", f"{outer}i", "netns", namespace)
    _ip("link", "set", f"{outer}i", "name", "eth0", namespace=namespace)
    _ip("addr", "add", f"{address}/26", "dev", "eth0", namespace=namespace)
    _ip("link", "set", "eth0", "up", namespace=namespace)
    _ip("route", "add", net["controller_link"], "via", net["enclave"], namespace=namespace)
    if member != "witness":
        _ip("route", "add", "default", "via", net["witness"], namespace=namespace)


# ---------------------------------------------------------------- services

def _prefix(current, member):
    return ("ip", "netns", "exec", current["namespaces"][member])


def _start_witness(current):
    home = os.path.join(current["state_dir"], "witness")
    os.makedirs(home, exist_ok=True)
    log = os.path.join(home, "witness.log")
    tests_dir = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    env = dict(os.environ, PYTHONPATH=tests_dir)
    net = current["addresses"]
    pid = processes.spawn([*_prefix(current, "witness"), sys.executable, "-m", "testbed.witness", home,
                           net["witness"], net["controller_link"]], log, env=env)
    processes.wait_until(lambda: os.path.exists(os.path.join(home, READY_FILE)), "egress witness", log,
                         timeout=30, pid=pid, state_dir=current["state_dir"])
    current["processes"]["witness"] = {"pids": [pid], "log": log}
    current["env"]["AIRLOCK_ENCLAVE_WITNESS_URL"] = f"http://{net['witness']}:{API_PORT}/events"
    current["env"]["AIRLOCK_ENCLAVE_WITNESS_DIR"] = home


def _start_services(current, tools):
    address = current["addresses"]["enclave"]
    for name, start in (
        ("registry", lambda home: services.start_private_registry(
            home, tools, address=address, port=REGISTRY_PORT, prefix=_prefix(current, "enclave"))),
        ("seaweedfs", lambda home: services.start_seaweedfs(home, tools, address=address,
                                                            prefix=_prefix(current, "enclave"))),
    ):
        home = os.path.join(current["state_dir"], name)
        os.makedirs(home, exist_ok=True)
        record = start(home)
        current["processes"][name] = {"pids": record["pids"], "log": record["log"]}
        current.setdefault("stray_paths", []).extend(record.get("stray_paths", []))
        for key, value in record["env"].items():
            current["env"][key.replace("AIRLOCK_PRIVATE_", "AIRLOCK_ENCLAVE_").replace("AIRLOCK_S3_", "AIRLOCK_ENCLAVE_S3_")] = value


# ---------------------------------------------------------------- what tests use

def environment(current):
    """AIRLOCK_ENCLAVE_REGISTRY(_USER/_PASSWORD/_CA), AIRLOCK_ENCLAVE_S3_*, _WITNESS_URL/_DIR, _INVENTORY, _DIR."""
    return {"AIRLOCK_ENCLAVE_DIR": current["state_dir"], **current["env"]}


@dataclasses.dataclass(frozen=True)
class Sealed:  # pylint: disable=too-many-instance-attributes
    """A running sealed enclave, as tests and playbooks need it."""

    state_dir: str
    env: dict
    inventory: str
    registry: str
    registry_user: str
    registry_password: str
    registry_ca: str
    s3_endpoint: str
    s3_access_key: str
    s3_secret_key: str
    s3_region: str
    witness_url: str
    witness: Witness
    nodes: tuple
    ssh_key: str
    known_hosts: str
    addresses: dict

    @classmethod
    def from_state(cls, current):
        env = environment(current)
        return cls(
            state_dir=current["state_dir"], env=env, inventory=env["AIRLOCK_ENCLAVE_INVENTORY"],
            registry=env["AIRLOCK_ENCLAVE_REGISTRY"], registry_user=env["AIRLOCK_ENCLAVE_REGISTRY_USER"],
            registry_password=env["AIRLOCK_ENCLAVE_REGISTRY_PASSWORD"], registry_ca=env["AIRLOCK_ENCLAVE_REGISTRY_CA"],
            s3_endpoint=env["AIRLOCK_ENCLAVE_S3_ENDPOINT"], s3_access_key=env["AIRLOCK_ENCLAVE_S3_ACCESS_KEY"],
            s3_secret_key=env["AIRLOCK_ENCLAVE_S3_SECRET_KEY"], s3_region=env["AIRLOCK_ENCLAVE_S3_REGION"],
            witness_url=env["AIRLOCK_ENCLAVE_WITNESS_URL"], witness=Witness(env["AIRLOCK_ENCLAVE_WITNESS_DIR"]),
            nodes=tuple(current["nodes"]), ssh_key=env["AIRLOCK_ENCLAVE_SSH_KEY"],
            known_hosts=env["AIRLOCK_ENCLAVE_KNOWN_HOSTS"], addresses=current["addresses"],
        )

    def node(self, name):
        return next(node for node in self.nodes if node["name"] == name)

    def run(self, name, argv, **kwargs):
        """argv on node `name` as its SSH sessions run (its sshd's network and mount namespaces: podman's
        pod namespaces are mounts there), with its runtime's socket in DOCKER_HOST / CONTAINERD_ADDRESS."""
        node = self.node(name)
        env = dict(os.environ, **node["env"])
        return subprocess.run(["nsenter", "-t", str(node["sshd_pid"]), "-n", "-m", "--", *argv], check=False,
                              capture_output=True, text=True, env=env, **kwargs)

    def ssh(self, name, command, timeout=120):
        """A shell command on node `name` over SSH, as Ansible reaches it."""
        node = self.node(name)
        return subprocess.run(
            ["ssh", "-i", self.ssh_key, "-o", f"UserKnownHostsFile={self.known_hosts}", "-o", "StrictHostKeyChecking=yes",
             "-o", "BatchMode=yes", f"root@{node['address']}", command],
            check=False, capture_output=True, text=True, timeout=timeout,
        )
