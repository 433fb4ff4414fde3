"""Run a collection module for real, as Ansible would: its own process, JSON args in, JSON out."""

import json
import os
import subprocess
import sys
import tempfile


def run_module(name, args, check_mode=False, timeout=600):
    """Return the module's result dict (failed=True with msg on failure)."""
    payload = {"ANSIBLE_MODULE_ARGS": dict(args, _ansible_check_mode=check_mode)}
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as handle:
        json.dump(payload, handle)
    try:
        completed = subprocess.run(
            [sys.executable, "-m", f"ansible_collections.airlock.airgap.plugins.modules.{name}", handle.name],
            capture_output=True, text=True, timeout=timeout, check=False, env=dict(os.environ),
        )
    finally:
        os.unlink(handle.name)
    try:
        result = json.loads(completed.stdout)
    except ValueError:
        raise AssertionError(f"{name} printed no JSON (exit {completed.returncode}):\n{completed.stdout}\n{completed.stderr}") from None
    result["_stdout"], result["_stderr"] = completed.stdout, completed.stderr
    return result
