"""A network namespace with no network at all (its loopback down, no links): where "offline" is proven.

`ip netns add` makes it and `ip netns delete` removes it when the block ends. Commands run in it
with a clean environment, so no proxy or pip setting of this machine reaches them either.
"""

import contextlib
import os
import subprocess
import uuid

CLEAN_PATH = "/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin"


@contextlib.contextmanager
def sealed_namespace():
    name = f"airlock-sealed-{uuid.uuid4().hex[:8]}"
    subprocess.run(["ip", "netns", "add", name], check=True, capture_output=True, timeout=30)
    try:
        yield lambda argv, timeout=600, env=None, cwd=None: run_inside(name, argv, timeout, env, cwd)
    finally:
        subprocess.run(["ip", "netns", "delete", name], check=False, capture_output=True, timeout=30)


def run_inside(name, argv, timeout, env, cwd):
    """Run argv in the namespace with only PATH, HOME and LANG (plus env), and PIP_CONFIG_FILE=/dev/null so pip
    reads no configuration file of this machine; the CompletedProcess, output as text."""
    environment = {"PATH": CLEAN_PATH, "HOME": os.environ.get("HOME", "/root"), "LANG": "C.UTF-8", "PIP_CONFIG_FILE": os.devnull, **(env or {})}
    return subprocess.run(["ip", "netns", "exec", name, *argv], env=environment, cwd=cwd, capture_output=True, text=True,
                          timeout=timeout, check=False)
