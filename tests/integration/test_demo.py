"""The README's main job (make demo): the embedding-server example end to end on the testbed, its enclave side sealed
(nodes over SSH, the egress witness counting), the release's pods started from the mirror and answering their health
URLs, and a second run of the collection's playbooks (prepare, enclave) that changes nothing on any host."""

import json
import os
import re
import subprocess

import pytest

from standins import workloads

pytestmark = pytest.mark.testbed

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
PHASES = ("world", "prepare", "enclave", "inference")
# The second run is the collection's playbooks alone: the stand-in world and the inference are the demo's, not the site's.
SECOND_RUN_PHASES = ("prepare", "enclave")


def run_demo(testbed, sealed_enclave, demo_dir, phases=PHASES):
    env = dict(os.environ, **testbed.env, AIRLOCK_DEMO_DIR=str(demo_dir), AIRLOCK_ENCLAVE_DIR=sealed_enclave.state_dir,
               AIRLOCK_PHASES=" ".join(phases))
    done = subprocess.run([os.path.join(REPO, "tests", "demo.sh")], env=env, capture_output=True, text=True, timeout=1200, check=False)
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-2000:]
    recaps = dict(re.findall(r"^phase (\w+) +\d+ ms +(\w+: ok=.*)$", done.stdout, re.MULTILINE))
    assert sorted(recaps) == sorted(phases), done.stdout[-3000:]
    summary = json.loads(re.search(r"^summary (\{.*\})$", done.stdout, re.MULTILINE).group(1))
    return done.stdout, recaps, summary


def test_demo_carries_the_embedding_server_across_and_a_second_run_changes_nothing(testbed, sealed_enclave, tmp_path):
    try:
        run_twice(testbed, sealed_enclave, tmp_path)
    finally:
        workloads.down(sealed_enclave, str(tmp_path / "demo" / "workloads"))


def run_twice(testbed, sealed_enclave, tmp_path):
    first, recaps, summary = run_demo(testbed, sealed_enclave, tmp_path / "demo")
    assert all(recap.count("failed=0") == recap.count("ok=") for recap in recaps.values()), recaps
    assert all(f"{node['name']}: ok=" in recaps["enclave"] for node in sealed_enclave.nodes), recaps["enclave"]
    assert "egress witness counted 0 attempts to leave the enclave" in first
    assert "embedding equal to the original: True" in first
    assert re.search(r"prepare embedding-server: 1 charts, 3 images \(linux/amd64\), 1 models", first), first[-3000:]
    assert "pinned by digest except" in first and "sie-server:0.6.6-cpu-default" in first
    assert "0 references point outside the enclave" in first
    assert "1/1 health URLs answered" in first and summary["witness"] == 0, summary
    # The enclave job's artifacts (set_stats, which AWX keeps with the job) carry the witness's count too.
    assert re.search(r'"egress_witness_attempts": 0[,}\s]', first), first[-3000:]
    _second, recaps, summary = run_demo(testbed, sealed_enclave, tmp_path / "demo", SECOND_RUN_PHASES)
    assert all(recap.count(" changed=0 ") == recap.count("ok=") for recap in recaps.values()), recaps
    assert summary["changed"] == 0 and summary["witness"] == 0, summary
