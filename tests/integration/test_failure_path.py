"""One failure path and one defaults group, as a user meets them through ansible-playbook.

- A failing module gives the clear message and, in ``exception``, the traceback with its chain of
  causes, which ansible-core prints with ``-vvv`` (before 2.19) or ``ANSIBLE_DISPLAY_TRACEBACK=error``
  (2.19 and later): where a failure came from is never lost.
- ``module_defaults`` for ``group/airlock.airgap.registries`` sets the registries once for every
  module that talks to registries.
"""

import json
import os
import subprocess
import sys

from module_runner import run_module


def _playbook(tmp_path, play):
    path = tmp_path / "play.json"
    path.write_text(json.dumps([dict({"hosts": "localhost", "gather_facts": False}, **play)]))
    return str(path)


def _ansible_playbook(playbook, *options, **environment):
    env = dict(os.environ, **environment, ANSIBLE_LOCALHOST_WARNING="false", ANSIBLE_INVENTORY_UNPARSED_WARNING="false",
               ANSIBLE_PYTHON_INTERPRETER=sys.executable, ANSIBLE_NOCOLOR="1")
    return subprocess.run([os.path.join(os.path.dirname(sys.executable), "ansible-playbook"), "-i", "localhost,", "-c", "local",
                           *options, playbook], capture_output=True, text=True, env=env, timeout=600, check=False)


def test_a_refused_login_reads_clearly_and_keeps_its_traceback(testbed, public_images, tmp_path):
    result = run_module("image_copy", {
        "images": [public_images[0]],
        "destination": f"docker://{testbed.private_registry}/failure-path",
        "registries": [{"host": testbed.public_registry, "insecure": True},
                       {"host": testbed.private_registry, "username": testbed.private_user, "password": "not-the-password",
                        "ca_file": testbed.private_ca}],
        "_ansible_tracebacks_for": ["error"],  # what the controller sends when tracebacks are on (ansible-core 2.19+)
    })
    assert result["failed"]
    assert "refused the credentials" in result["msg"]
    assert "Traceback" not in result["msg"]
    assert "AuthenticationError" in result["exception"]
    assert "registry.py" in result["exception"]


def test_the_traceback_shows_where_a_failure_came_from(tmp_path):
    task = {"airlock.airgap.checksum": {"path": str(tmp_path), "state": "verified", "sums_file": str(tmp_path / "absent.sums")}}
    playbook = _playbook(tmp_path, {"tasks": [task]})
    quiet = _ansible_playbook(playbook)
    loud = _ansible_playbook(playbook, "-vvv", ANSIBLE_DISPLAY_TRACEBACK="error")
    assert quiet.returncode == loud.returncode == 2
    assert "absent.sums" in quiet.stdout and "Traceback" not in quiet.stdout
    assert "Traceback (most recent call last)" in loud.stdout
    assert "integrity/sums.py" in loud.stdout and "SumsError" in loud.stdout


def test_module_defaults_set_registries_once_for_the_group(testbed, public_images, tmp_path):
    registries = [{"host": testbed.public_registry, "insecure": True},
                  {"host": testbed.private_registry, "username": testbed.private_user, "password": testbed.private_password,
                   "ca_file": testbed.private_ca}]
    playbook = _playbook(tmp_path, {
        "module_defaults": {"group/airlock.airgap.registries": {"registries": registries}},
        "tasks": [{"airlock.airgap.image_copy": {"images": [public_images[0]],
                                                 "destination": f"docker://{testbed.private_registry}/defaults-group"}}],
    })
    completed = _ansible_playbook(playbook)
    assert completed.returncode == 0, completed.stdout[-3000:]
    assert "failed=0" in completed.stdout
