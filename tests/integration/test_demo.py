"""The README's main job (make demo) runs end to end on the testbed."""

import os
import subprocess
import sys

import pytest

pytestmark = pytest.mark.testbed

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def test_demo_playbook_carries_the_image_set_across_and_is_idempotent(testbed, tmp_path):
    env = dict(os.environ, **testbed.env, AIRLOCK_DEMO_DIR=str(tmp_path / "demo"), ANSIBLE_STDOUT_CALLBACK="default",
               ANSIBLE_COLLECTIONS_PATH=os.path.join(REPO, ".cache", "collections"))
    argv = [os.path.join(os.path.dirname(sys.executable), "ansible-playbook"), "-i", "localhost,",
            os.path.join(REPO, "playbooks", "demo.yml"), "-e", "demo_preset=tiny"]
    first = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=600, check=False)
    assert first.returncode == 0, first.stdout[-3000:] + first.stderr[-2000:]
    assert "digests equal end to end: True" in first.stdout
    assert "images: 4 (linux/amd64, linux/arm64/v8)" in first.stdout
    second = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=600, check=False)
    assert second.returncode == 0, second.stdout[-3000:]
    recap = next(line for line in second.stdout.splitlines() if line.startswith("localhost"))
    assert "changed=0" in recap, recap
    assert "mirror: 0.0 MiB pushed" in second.stdout
