"""How each testbed service is configured, started and judged ready.

Each start_* function takes the service's home directory (under the state directory, so
its processes are recognisably ours) and the tool paths, starts the daemon on free
loopback ports, waits until it answers its own protocol, and returns the PIDs it owns
and the environment variables that tell tests where it is.
"""

import json
import os
import secrets

from . import pki, probes
from .processes import free_port, spawn, tcp_open, wait_until

PRIVATE_REGISTRY_USER = "airlock"


def _registry_config(home, port, extra="", address="127.0.0.1"):
    return f"""version: 0.1
log:
  level: info
  accesslog:
    disabled: false
storage:
  filesystem:
    rootdirectory: {home}/data
  delete:
    enabled: true
  maintenance:
    uploadpurging:
      enabled: false
http:
  addr: {address}:{port}
  secret: {secrets.token_hex(16)}
{extra}"""


def start_public_registry(home, tools):
    """Plain HTTP, no auth: the stand-in for the internet's registries."""
    port = free_port()
    config = os.path.join(home, "config.yml")
    _write(config, _registry_config(home, port))
    log = os.path.join(home, "registry.log")
    pid = spawn([tools["docker-registry"], "serve", config], log)
    url = f"http://127.0.0.1:{port}/v2/"
    wait_until(lambda: probes.http_status(url) == 200, "public registry", log, pid=pid, state_dir=home)
    return {"pids": [pid], "log": log, "env": {"AIRLOCK_PUBLIC_REGISTRY": f"127.0.0.1:{port}"}}


def start_private_registry(home, tools, address="127.0.0.1", port=None, prefix=()):
    """TLS from a CA made now, htpasswd auth: the stand-in for the enclave's mirror.

    The sealed enclave runs it on its own address inside its namespace (argv prefix).
    """
    port = port or free_port()
    certs = pki.make_ca_and_server_cert(os.path.join(home, "tls"), tools["openssl"], addresses=(address,))
    password = secrets.token_urlsafe(18)
    htpasswd = os.path.join(home, "htpasswd")
    pki.make_htpasswd(htpasswd, PRIVATE_REGISTRY_USER, password, tools["htpasswd"])
    extra = f"""  tls:
    certificate: {certs['server.crt']}
    key: {certs['server.key']}
auth:
  htpasswd:
    realm: airlock-private
    path: {htpasswd}
"""
    config = os.path.join(home, "config.yml")
    _write(config, _registry_config(home, port, extra, address))
    log = os.path.join(home, "registry.log")
    pid = spawn([*prefix, tools["docker-registry"], "serve", config], log)
    url = f"https://{address}:{port}/v2/"
    wait_until(lambda: probes.http_status(url, certs["ca.crt"]) == 401, "private registry", log,
               pid=pid, state_dir=home)
    return {"pids": [pid], "log": log, "env": {
        "AIRLOCK_PRIVATE_REGISTRY": f"{address}:{port}",
        "AIRLOCK_PRIVATE_REGISTRY_USER": PRIVATE_REGISTRY_USER,
        "AIRLOCK_PRIVATE_REGISTRY_PASSWORD": password,
        "AIRLOCK_PRIVATE_REGISTRY_CA": certs["ca.crt"],
    }}


def start_containerd(home, tools, prefix=()):
    """A private containerd: own root, state and socket; no CRI plugin, no TCP listeners."""
    socket_path = os.path.join(home, "containerd.sock")
    config = os.path.join(home, "config.toml")
    _write(config, f"""version = 2
root = "{home}/root"
state = "{home}/state"
disabled_plugins = ["io.containerd.grpc.v1.cri"]

[grpc]
  address = "{socket_path}"

[ttrpc]
  address = "{socket_path}.ttrpc"

[debug]
  address = ""

[metrics]
  address = ""
""")
    log = os.path.join(home, "containerd.log")
    pid = spawn([*prefix, tools["containerd"], "--config", config], log)
    wait_until(lambda: os.path.exists(socket_path) and probes.unix_connectable(socket_path),
               "containerd", log, pid=pid, state_dir=home)
    return {"pids": [pid], "log": log, "env": {"AIRLOCK_CONTAINERD_SOCKET": socket_path}}


def start_dockerd(home, tools, containerd_socket, prefix=()):
    """A private Docker engine on its own socket, using our containerd (or, with None, its own); no networking setup."""
    socket_path = os.path.join(home, "docker.sock")
    daemon_json = os.path.join(home, "daemon.json")
    _write(daemon_json, "{}\n")
    argv = [
        *prefix, tools["dockerd"], "--config-file", daemon_json,
        "--data-root", os.path.join(home, "data"), "--exec-root", os.path.join(home, "exec"),
        "--pidfile", os.path.join(home, "docker.pid"), "-H", f"unix://{socket_path}",
        *(("--containerd", containerd_socket) if containerd_socket else ()), "--iptables=false", "--ip6tables=false",
        "--ip-masq=false", "--bridge=none", "--userland-proxy=false",
    ]
    log = os.path.join(home, "dockerd.log")
    pid = spawn(argv, log, env=dict(os.environ, DOCKER_CONFIG=os.path.join(home, "client")))
    wait_until(lambda: probes.unix_http_body(socket_path, "/_ping") == b"OK", "dockerd", log,
               timeout=90, pid=pid, state_dir=home)
    return {"pids": [pid], "log": log, "env": {"AIRLOCK_DOCKER_HOST": f"unix://{socket_path}"}}


def start_seaweedfs(home, tools, address="127.0.0.1", prefix=()):
    """SeaweedFS master+volume+filer with its S3 gateway; credentials made now.

    Ports are chosen free on this machine's loopback even inside a namespace: weed names its
    unix sockets in /tmp after them, and /tmp is shared by every namespace.
    """
    ports = {name: free_port() for name in (
        "master", "master.grpc", "volume", "volume.grpc", "filer", "filer.grpc", "s3", "s3.grpc")}
    access_key, secret_key = f"airlock{secrets.token_hex(4)}", secrets.token_urlsafe(24)
    s3_config = os.path.join(home, "s3.json")
    _write(s3_config, json.dumps({"identities": [{
        "name": "airlock",
        "credentials": [{"accessKey": access_key, "secretKey": secret_key}],
        "actions": ["Admin", "Read", "Write", "List", "Tagging"],
    }]}))
    data = os.path.join(home, "data")
    os.makedirs(data, exist_ok=True)
    argv = [
        *prefix, tools["weed"], f"-logdir={home}", "server", f"-dir={data}", f"-ip={address}", f"-ip.bind={address}",
        "-master.telemetry=false", "-master.volumeSizeLimitMB=128", "-volume.max=0",  # small volumes: every bucket takes several, and the disk decides how many
        f"-filer.localSocket={home}/filer.sock", f"-s3.localSocket={home}/s3.sock",
        "-s3", f"-s3.config={s3_config}",
        "-s3.port.iceberg=0", "-s3.port.lance=0",  # fixed ports by default: a second testbed on the machine would clash
    ] + [_weed_port_flag(name, port) for name, port in ports.items()]
    log = os.path.join(home, "weed.log")
    pid = spawn(argv, log)
    s3_url = f"http://{address}:{ports['s3']}/"
    wait_until(lambda: tcp_open(ports["filer"], address) and probes.http_status(s3_url) in (200, 403),
               "SeaweedFS S3 gateway", log, timeout=90, pid=pid, state_dir=home)
    # weed puts a unix socket per gRPC port in /tmp whatever TMPDIR says; `down` removes ours.
    strays = [f"/tmp/seaweedfs-{name.split('.')[0]}-grpc-{port}.sock"
              for name, port in ports.items() if name.endswith(".grpc")]
    return {"pids": [pid], "log": log, "kill_signal": "SIGKILL", "stray_paths": strays, "env": {
        "AIRLOCK_S3_ENDPOINT": f"http://{address}:{ports['s3']}",
        "AIRLOCK_S3_ACCESS_KEY": access_key,
        "AIRLOCK_S3_SECRET_KEY": secret_key,
        "AIRLOCK_S3_REGION": "us-east-1",
    }}


def _weed_port_flag(name, port):
    """("volume", 1) -> -volume.port=1; ("volume.grpc", 2) -> -volume.port.grpc=2."""
    server, _dot, kind = name.partition(".")
    return f"-{server}.port.{kind}={port}" if kind else f"-{server}.port={port}"


def _write(path, text):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w", encoding="utf-8") as handle:
        handle.write(text)
