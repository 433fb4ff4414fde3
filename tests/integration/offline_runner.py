"""Run a collection module inside a network namespace with no network at all: what offline verification must survive."""

import contextlib
import json
import os
import subprocess
import sys
import tempfile
import uuid


@contextlib.contextmanager
def network_namespace():
    """A fresh namespace (only a loopback, down): nothing outside it is reachable; deleted after."""
    name = f"airlock-offline-{uuid.uuid4().hex[:8]}"
    subprocess.run(["ip", "netns", "add", name], check=True, timeout=30)
    try:
        yield name
    finally:
        subprocess.run(["ip", "netns", "delete", name], check=False, timeout=30)


def run_module_offline(namespace, name, args, check_mode=False, timeout=120):
    """The module's result dict, the module run as Ansible runs it but through `ip netns exec`."""
    payload = {"ANSIBLE_MODULE_ARGS": dict(args, _ansible_check_mode=check_mode)}
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as handle:
        json.dump(payload, handle)
    try:
        completed = subprocess.run(
            ["ip", "netns", "exec", namespace, sys.executable, "-m", f"ansible_collections.airlock.airgap.plugins.modules.{name}", handle.name],
            capture_output=True, text=True, timeout=timeout, check=False, env=dict(os.environ))
    finally:
        os.unlink(handle.name)
    try:
        return json.loads(completed.stdout)
    except ValueError:
        raise AssertionError(f"{name} printed no JSON (exit {completed.returncode}):\n{completed.stdout}\n{completed.stderr}") from None


def unreachable_from(namespace, host_port):
    """True when a TCP connection from inside the namespace to host_port fails (the namespace really is offline)."""
    host, port = host_port.rsplit(":", 1)
    probe = f"import socket; socket.create_connection(({host!r}, {int(port)}), timeout=3)"
    completed = subprocess.run(["ip", "netns", "exec", namespace, sys.executable, "-c", probe], capture_output=True, timeout=30, check=False)
    return completed.returncode != 0
