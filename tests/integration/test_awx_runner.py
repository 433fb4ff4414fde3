"""The AWX side of the jobs of awx_jobs.py (prepare and enclave through ansible-runner, credentials injected).

Asserted: progress lines of pack, verify and unpack are in the job events; set_stats left the summary as the job's
artifact; the transfer report and its JSON lie beside the volumes and the bundle; no secret appears in any event, in
stdout or in any file the jobs left, except runner's own `command` file (mode 0600), which records the job's
environment by design and which AWX deletes with the private data dir.
"""

import glob
import json
import os

import pytest

from awx_jobs import PROGRESS

pytestmark = pytest.mark.testbed


def progress_lines(job):
    return [event["event_data"]["res"]["msg"] for event in job["events"]
            if event.get("event") == "runner_on_ok" and isinstance(event.get("event_data", {}).get("res", {}).get("msg"), str)
            and PROGRESS.match(event["event_data"]["res"]["msg"])]


def artifact_data(job):
    stats = [event for event in job["events"] if event.get("event") == "playbook_on_stats"]
    assert stats, "no playbook_on_stats event"
    return stats[-1]["event_data"].get("artifact_data", {})


def test_the_jobs_print_progress_of_the_long_steps_in_their_events(awx_jobs):
    assert any(line.startswith("volumes: ") for line in progress_lines(awx_jobs["prepare"])), awx_jobs["prepare"]["stdout"][-3000:]
    enclave = progress_lines(awx_jobs["enclave"])
    assert any(line.startswith("verify: ") for line in enclave), enclave
    assert any(line.startswith("unpack: ") for line in enclave), enclave


def test_set_stats_leaves_the_summary_as_the_jobs_artifact(awx_jobs):
    prepared = artifact_data(awx_jobs["prepare"])["airlock_prepare"]
    assert (prepared["images"], prepared["charts"], prepared["models"], prepared["platforms"]) == (3, 1, 1, ["linux/amd64"])
    assert prepared["lock_sha256"].startswith("sha256:") and prepared["sums_sha256"].startswith("sha256:")
    assert os.path.isfile(prepared["report"]) and os.path.dirname(prepared["report"]).endswith("volumes")
    with open(prepared["json_report"], encoding="utf-8") as handle:
        assert json.load(handle)["totals"]["images"] == 3
    enclave = artifact_data(awx_jobs["enclave"])["airlock_enclave"]
    assert (enclave["volumes_verified"], enclave["bundle_verified"], enclave["audit_violations"]) == ("verified", "verified", 0)
    assert enclave["lock_sha256"] == prepared["lock_sha256"] and enclave["sums_sha256"] == prepared["sums_sha256"]
    with open(enclave["report"], encoding="utf-8") as handle:
        page = handle.read()
    assert "nothing points outside the enclave" in page and page.count(">verified<") == 2


def test_no_secret_reaches_an_event_an_artifact_or_a_report(awx_jobs):
    secrets = [awx_jobs["secrets"]["AIRLOCK_REGISTRY_PASSWORD"], awx_jobs["secrets"]["AIRLOCK_S3_SECRET_KEY"]]
    checked = 0
    for job in (awx_jobs["prepare"], awx_jobs["enclave"]):
        assert not any(secret in job["stdout"] for secret in secrets)
        for directory, _folders, files in os.walk(job["artifacts"]):
            for name in files:
                if name == "command" and directory == job["artifacts"]:
                    continue
                with open(os.path.join(directory, name), encoding="utf-8", errors="replace") as handle:
                    text = handle.read()
                checked += 1
                assert not any(secret in text for secret in secrets), os.path.join(directory, name)
    for report in glob.glob(os.path.join(awx_jobs["root"], "**", "*.transfer-report.*"), recursive=True):
        with open(report, encoding="utf-8") as handle:
            assert not any(secret in handle.read() for secret in secrets), report
        checked += 1
    assert checked > 20
