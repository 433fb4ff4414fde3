"""The README's main job (make demo): the embedding-server example end to end on the testbed, and a second run that changes nothing."""

import os
import re
import subprocess

import pytest

pytestmark = pytest.mark.testbed

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
PHASES = ("world", "prepare", "enclave", "inference")


def run_demo(testbed, demo_dir):
    env = dict(os.environ, **testbed.env, AIRLOCK_DEMO_DIR=str(demo_dir))
    done = subprocess.run([os.path.join(REPO, "tests", "demo.sh")], env=env, capture_output=True, text=True, timeout=1200, check=False)
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-2000:]
    recaps = dict(re.findall(r"^phase (\w+) +\d+ ms +(ok=.*)$", done.stdout, re.MULTILINE))
    assert sorted(recaps) == sorted(PHASES), done.stdout[-3000:]
    return done.stdout, recaps


def test_demo_carries_the_embedding_server_across_and_a_second_run_changes_nothing(testbed, tmp_path):
    first, recaps = run_demo(testbed, tmp_path / "demo")
    assert all("failed=0" in recap for recap in recaps.values()), recaps
    assert "embedding equal to the original: True" in first
    assert re.search(r"prepare embedding-server: 1 charts, 3 images \(linux/amd64\), 1 models", first), first[-3000:]
    assert "pinned by digest except" in first and "sie-server:0.6.6-cpu-default" in first
    assert "0 references point outside the enclave" in first
    _second, recaps = run_demo(testbed, tmp_path / "demo")
    assert all(" changed=0 " in recap for recap in recaps.values()), recaps
