"""No module documents a return key that Ansible interprets: a truthy `skipped` made a run that changed things print `skipping:`."""

import importlib
import pkgutil

import pytest
import yaml

from ansible_collections.airlock.airgap.plugins import modules

# Keys Ansible reads from a result (changed and msg are set as the verdict and the message, never documented as data).
INTERPRETED = {"skipped", "failed", "changed", "msg", "rc", "results", "invocation", "ansible_facts", "warnings", "deprecations", "diff",
               "stdout", "stderr", "stdout_lines", "stderr_lines", "exception", "skip_reason", "unreachable", "ansible_stats"}
MODULES = sorted(info.name for info in pkgutil.iter_modules(modules.__path__))


def test_every_module_is_checked():
    assert len(MODULES) >= 9, MODULES


@pytest.mark.parametrize("name", MODULES)
def test_no_documented_return_key_is_one_ansible_interprets(name):
    module = importlib.import_module(f"ansible_collections.airlock.airgap.plugins.modules.{name}")
    documented = set(yaml.safe_load(module.RETURN) or {})
    assert not documented & INTERPRETED, f"{name} returns {sorted(documented & INTERPRETED)}"
