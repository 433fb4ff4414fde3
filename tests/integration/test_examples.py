"""The three other vendor flows (examples/document-extraction, fine-tuning, object-store) end to end on the testbed, each
through tests/examples/run.sh as a site runs them - the enclave side sealed (nodes over SSH, the egress witness counting),
the workloads started from the mirror on the nodes and answering their health URLs - and a second run of prepare and
enclave that changes nothing on any host. Each run's figures (what crossed, what changed, the witness, the health URLs, time per phase) are
in its `summary` line.

The three flows use their own repositories, buckets and runtime namespaces, so they run side by side: most of each run
waits on the registries, S3 and helm rather than on a core.
"""

import json
import os
import re
import subprocess

import pytest

from standins import workloads

pytestmark = pytest.mark.testbed

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
PHASES = ("world", "prepare", "enclave", "check")
# The second run is the collection's playbooks alone: the stand-in world and the checks are the tests', not the site's.
SECOND_RUN_PHASES = ("prepare", "enclave")
# What each flow must show, as its summaries say it (counts of what was pushed depend on what the shared testbed held).
EXPECTED = {
    "object-store": [r"prepare object-store: 2 charts, 3 images \(linux/amd64\), 0 models",
                     r"3 images \(\d pushed\) to \S+/mirror, 2 charts \(\d pushed\) to oci://\S+/mirror/charts",
                     r"the vendor's files as shipped: \d+ references point outside the enclave \(3 images"],
    "document-extraction": [r"prepare document-extraction: 1 charts, 4 images \(linux/amd64\), 1 models",
                            r"https://ai\.api\.nvidia\.com/\S+, https://huggingface\.co, https://integrate\.api\.nvidia\.com/v1, ngc\.nvidia\.com",
                            r"1 models verified where their consumers read \(s3://document-extraction-models/models\)"],
    "fine-tuning": [r"prepare fine-tuning: 0 charts, 2 images \(linux/amd64\), 3 models",
                    r"n3: imported [02], tagged 0, unchanged [02],",
                    r"4 models verified where their consumers read \(s3://fine-tuning-models/tao/ptm\); the model list synced from "
                    r"there: ptm_metadatas.json lists 3 models \(hf_model://openai/clip-vit-base-patch32, "
                    r"nvidia/tao/pretrained_dino_nvimagenet:resnet50, nvidia/tao/pretrained_segformer:mit_b0\)"],
}
# The health URLs each flow's workloads answer: readiness probes of the releases' pods, healthchecks of the Compose services.
HEALTH_URLS = {"object-store": 1, "document-extraction": 3, "fine-tuning": 1}


def start(testbed, sealed_enclave, name, work, phases):
    env = dict(os.environ, **testbed.env, AIRLOCK_EXAMPLE_DIR=str(work), AIRLOCK_ENCLAVE_DIR=sealed_enclave.state_dir,
               AIRLOCK_PHASES=" ".join(phases))
    return subprocess.Popen([os.path.join(REPO, "tests", "examples", "run.sh"), name], env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)


def run_side_by_side(testbed, sealed_enclave, tmp_path, phases=PHASES):
    """{name: (stdout, {phase: recaps of every host}, summary)} of one run of every example's phases, all at once."""
    running = {name: start(testbed, sealed_enclave, name, tmp_path / name, phases) for name in EXPECTED}
    finished = {}
    try:
        for name, process in running.items():
            stdout, stderr = process.communicate(timeout=1500)
            assert process.returncode == 0, (name, stdout[-4000:] + stderr[-2000:])
            recaps = dict(re.findall(r"^phase (\w+) +\d+ ms +(\w+: ok=.*)$", stdout, re.MULTILINE))
            assert sorted(recaps) == sorted(phases), (name, stdout[-3000:])
            assert all(recap.count("failed=0") == recap.count("ok=") for recap in recaps.values()), (name, recaps)
            summary = json.loads(re.search(r"^summary (\{.*\})$", stdout, re.MULTILINE).group(1))
            finished[name] = (stdout, recaps, summary)
    finally:
        for process in running.values():
            if process.poll() is None:
                process.kill()
                process.communicate()
    return finished


def test_the_vendor_flows_cross_sealed_audited_run_from_the_mirror_and_a_second_run_changes_nothing(testbed, sealed_enclave, tmp_path):
    try:
        run_twice(testbed, sealed_enclave, tmp_path)
    finally:
        for name in EXPECTED:
            workloads.down(sealed_enclave, str(tmp_path / name / "workloads"))


def run_twice(testbed, sealed_enclave, tmp_path):
    for name, (first, recaps, summary) in run_side_by_side(testbed, sealed_enclave, tmp_path).items():
        nodes = ["n3"] if name == "fine-tuning" else [node["name"] for node in sealed_enclave.nodes]
        assert all(f"{node}: ok=" in recaps["enclave"] for node in nodes), (name, recaps["enclave"])
        for expected in EXPECTED[name] + [r"0 references point outside the enclave, 0 pull warnings, egress witness counted 0 attempts"]:
            assert re.search(expected, first), (name, expected, first[-3000:])
        health = HEALTH_URLS[name]
        assert f"{health}/{health} health URLs answered" in first, (name, first[-3000:])
        assert summary["witness"] == 0 and summary["health"] == {"answered": health, "checked": health}, (name, summary)
    lock = json.loads((tmp_path / "object-store" / "connected" / "bundle" / "airlock.lock.json").read_text())
    assert all(entry["platforms"] == ["linux/amd64"] and entry["source_digest"] != entry["digest"] for entry in lock["images"])
    override = (tmp_path / "object-store" / "enclave" / "out" / "objstore-operator" / "mirror.yaml").read_text()
    assert f"hostname: {sealed_enclave.registry}" in override and "pathPrefix: mirror/objstore" in override
    for name, (_second, recaps, summary) in run_side_by_side(testbed, sealed_enclave, tmp_path, SECOND_RUN_PHASES).items():
        assert all(recap.count(" changed=0 ") == recap.count("ok=") for recap in recaps.values()), (name, recaps)
        assert summary["changed"] == 0 and summary["witness"] == 0, (name, summary)
