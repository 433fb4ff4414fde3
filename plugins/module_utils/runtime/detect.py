# Copyright (c) 2026, airlock.airgap contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Which runtime a node runs, on which socket, and the node's own platform.

Kubernetes nodes run containerd (plain, or inside k3s and RKE2); a plain containerd socket
also exists on every Docker host, where Docker keeps its images in the `moby` namespace. So
auto-detection prefers k3s/RKE2, then a containerd that has the Kubernetes namespace, then
Docker, then any containerd: a Docker host is never mistaken for a Kubernetes node.
"""

from __future__ import annotations

import os
import socket as sockets
import subprocess

from ansible_collections.airlock.airgap.plugins.module_utils.runtime.containerd import Containerd, find_ctr
from ansible_collections.airlock.airgap.plugins.module_utils.runtime.docker import Docker
from ansible_collections.airlock.airgap.plugins.module_utils.runtime.errors import RuntimeFailure

K3S_SOCKET = "/run/k3s/containerd/containerd.sock"  # k3s, and RKE2 too
CONTAINERD_SOCKET = "/run/containerd/containerd.sock"
DOCKER_SOCKETS = ("/var/run/docker.sock", "/run/docker.sock")


def runtime(kind="auto", socket=None, namespace="k8s.io", ctr_path=None, **containerd_options):
    """The runtime to preload into; a clear error naming every socket looked at when none is found.

    containerd_options (snapshotter, import_timeout, import_jobs) go to Containerd."""
    if kind == "auto":
        kind, socket = _detect(socket, namespace, ctr_path)
    return RUNTIMES[kind](socket, namespace, ctr_path, containerd_options)


def _docker(socket, _namespace, _ctr_path, _containerd_options):
    return Docker(socket or _first_existing(DOCKER_SOCKETS) or DOCKER_SOCKETS[0])


def _containerd(socket, namespace, ctr_path, containerd_options):
    return Containerd(socket or _first_existing((K3S_SOCKET, CONTAINERD_SOCKET)) or CONTAINERD_SOCKET, namespace, ctr_path,
                      **containerd_options)


RUNTIMES = {"containerd": _containerd, "docker": _docker}  # each a plan.LiveRuntime


def _detect(socket, namespace, ctr_path):
    if socket:
        return ("docker" if _answers_http(socket) else "containerd"), socket
    if os.path.exists(K3S_SOCKET):
        return "containerd", K3S_SOCKET
    if os.path.exists(CONTAINERD_SOCKET) and namespace in _namespaces(CONTAINERD_SOCKET, ctr_path):
        return "containerd", CONTAINERD_SOCKET
    docker_socket = _first_existing(DOCKER_SOCKETS)
    if docker_socket:
        return "docker", docker_socket
    if os.path.exists(CONTAINERD_SOCKET):
        return "containerd", CONTAINERD_SOCKET
    raise RuntimeFailure("no container runtime found: none of " + ", ".join((K3S_SOCKET, CONTAINERD_SOCKET, *DOCKER_SOCKETS)) +
                         " exists; start the runtime, or set runtime and socket")


def _first_existing(paths):
    return next((path for path in paths if os.path.exists(path)), None)


def _answers_http(path):
    """Docker's socket speaks HTTP; containerd's speaks gRPC and closes on an HTTP request."""
    try:
        with sockets.socket(sockets.AF_UNIX, sockets.SOCK_STREAM) as connection:
            connection.settimeout(5)
            connection.connect(path)
            connection.sendall(b"GET /_ping HTTP/1.0\r\n\r\n")
            return connection.recv(12).startswith(b"HTTP/")
    except OSError:
        return False


def _namespaces(socket, ctr_path):
    try:
        listed = subprocess.run([find_ctr(ctr_path), "--address", socket, "namespaces", "ls", "--quiet"],
                                capture_output=True, text=True, timeout=30, check=False)
    except (RuntimeFailure, subprocess.TimeoutExpired):
        return []
    return listed.stdout.split()
