"""The AWX jobs on the large image set: the evidence a person reads, not a benchmark and not a test.

Runs playbooks/prepare.yml and playbooks/enclave.yml through ansible-runner exactly as the AWX tests do
(tests/integration/awx_jobs.py: a private data dir laid out as AWX lays it out, the credentials injected as the
collection's credential types inject them), but on an image set of bench/imageset.py (`--preset large`: 40 images,
2.1 GB, multi-arch, shared layers) pushed to the testbed's public registry under a prefix of this run's own. Then it
prints what the closing note of the AWX issue shows:

- every progress line of the long steps, from the jobs' event streams (job_events/*.json), with the task it came from;
- the artifacts the jobs left: set_stats's summary (artifact_data of playbook_on_stats) and the files under artifacts/;
- the transfer report as chromium renders it: the totals read back from the DOM, the verdict colours counted on a
  screenshot.

Uses the running testbed (tests/testbed/testbed up; started and stopped here when none runs). Scratch: about 10 GB
under --work. Usage: .venv/bin/python bench/awx_large_job.py [--preset large] [--work /tmp/awx-large] [--upstream awx-large-ID] [--json FILE]
"""

import argparse
import functools
import json
import os
import shutil
import sys
import tempfile
import uuid

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path[:0] = [os.path.join(REPO, "bench"), os.path.join(REPO, "tests"), os.path.join(REPO, "tests", "integration")]

import imageset  # noqa: E402  pylint: disable=wrong-import-position
import measure  # noqa: E402  pylint: disable=wrong-import-position
import s3_bucket  # noqa: E402  pylint: disable=wrong-import-position
from awx_jobs import injected_secrets, prepare_then_enclave  # noqa: E402  pylint: disable=wrong-import-position
from test_awx import TOTALS, artifact_data, progress_events, read_page, screenshot, verdict_pixels  # noqa: E402  pylint: disable=wrong-import-position
from testbed import core, state  # noqa: E402  pylint: disable=wrong-import-position
from testbed.pytest_plugin import Endpoints  # noqa: E402  pylint: disable=wrong-import-position

NAME = "large-images"


def manifest(testbed, refs, upstream, bucket, prefix):
    """Every image of the set, named as Docker Hub would name it and fetched through the public registry (a proxy standing
    for docker.io); no credential variable, so the enclave's logins can only come from the injected variables."""
    return {"airlock": {
        "name": NAME, "platforms": ["all"],
        "sources": [{"registry": "docker.io", "via": upstream, "insecure": True}],
        "images": [f"docker.io/{ref}" for ref in refs],
        "enclave": {"registry": {"host": testbed.private_registry, "ca_file": testbed.private_ca, "prefix": prefix},
                    "s3": {"endpoint": testbed.s3_endpoint, "bucket": bucket}, "pull_secret": "large-mirror"}}}


def push_upstream(testbed, set_dir, upstream, work):
    """The set in the public registry, by our own module: upstream/bench/imgNN:v1."""
    measure.module("image_copy", {"images": [f"oci:{set_dir}"], "destination": f"docker://{upstream}",
                                  "registries": [{"host": testbed.public_registry, "insecure": True}]}, work)


def artifacts_left(job):
    return sorted(os.path.relpath(os.path.join(directory, name), job["artifacts"])
                  for directory, _folders, files in os.walk(job["artifacts"]) for name in files
                  if not directory.endswith("job_events"))


def report_check(report, folder):
    """The totals chromium renders, and the verdict colours of its screenshot (folder/page.png, kept)."""
    os.makedirs(folder)
    dom = read_page(report, folder)
    green, red = verdict_pixels(screenshot(report, folder))
    return {"report": report, "totals": dict(TOTALS.findall(dom)), "green_pixels": green, "red_pixels": red,
            "audit_verdict_shown": "nothing points outside the enclave" in dom}


def run(args, testbed):
    work = os.path.abspath(args.work)
    os.makedirs(work, exist_ok=True)
    set_dir = os.path.join(work, f"set-{args.preset}")
    summary = imageset.generate(set_dir, **imageset.PRESETS[args.preset])
    refs = sorted(imageset.ref_names(set_dir))
    run_id = uuid.uuid4().hex[:8]
    root = tempfile.mkdtemp(prefix=f"run-{run_id}-", dir=work)
    upstream = f"{testbed.public_registry}/{args.upstream or f'awx-large-{run_id}'}"
    if not args.upstream:
        push_upstream(testbed, set_dir, upstream, work)
    with s3_bucket.temporary_bucket(s3_bucket.client_for(testbed), "airlock-large") as bucket:
        project = os.path.join(root, "project")
        shutil.copytree(os.path.join(REPO, "playbooks"), os.path.join(project, "playbooks"))
        with open(os.path.join(project, "airlock.yml"), "w", encoding="utf-8") as handle:
            json.dump(manifest(testbed, refs, upstream, bucket, f"large-{run_id}"), handle, indent=2)
        site = {"airlock_manifest_file": os.path.join(project, "airlock.yml"), "airlock_progress_interval": args.interval}
        prepare, enclave, usb = prepare_then_enclave(root, project, site, injected_secrets(testbed), testbed, {"airlock_nodes": "none"},
                                                     carry=functools.partial(shutil.copytree, copy_function=os.link))
    evidence = {"image_set": {k: summary[k] for k in ("images", "multiarch_images", "layer_blobs", "unique_bytes")}, "root": root}
    for name, job in (("prepare", prepare), ("enclave", enclave)):
        evidence[name] = {"progress": progress_events(job), "artifact_data": artifact_data(job), "artifacts": artifacts_left(job),
                          "events": len(job["events"])}
    evidence["report_enclave"] = report_check(os.path.join(root, "enclave", f"{NAME}.transfer-report.html"), os.path.join(root, "seen-enclave"))
    evidence["report_carried"] = report_check(os.path.join(usb, f"{NAME}.transfer-report.html"), os.path.join(root, "seen-carried"))
    return evidence


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--preset", default="large", choices=sorted(imageset.PRESETS))
    parser.add_argument("--work", default=os.path.join(tempfile.gettempdir(), "airlock-awx-large"))
    parser.add_argument("--interval", type=int, default=15, help="airlock_progress_interval of the jobs (longest pause between lines)")
    parser.add_argument("--upstream", help="the prefix in the public registry where an earlier run pushed this set (awx-large-ID): not pushed again")
    parser.add_argument("--json", help="also write the evidence to this file")
    args = parser.parse_args()
    state_dir = state.default_dir()
    current, reused = core.up(state_dir, log=print, wait_seconds=300)
    try:
        evidence = run(args, Endpoints.from_env(core.environment(current)))
    finally:
        if not reused:
            core.down(state_dir)
    for name in ("prepare", "enclave"):
        print(f"== {name} job: {evidence[name]['events']} events; progress lines:")
        for task, line in evidence[name]["progress"]:
            print(f"   [{task}] {line}")
        print(f"== {name} job: set_stats artifact_data:\n{json.dumps(evidence[name]['artifact_data'], indent=2)}")
        print(f"== {name} job: artifacts: {', '.join(evidence[name]['artifacts'])}")
    for name in ("report_enclave", "report_carried"):
        print(f"== {name}: {json.dumps(evidence[name])}")
    if args.json:
        with open(args.json, "w", encoding="utf-8") as handle:
            json.dump(evidence, handle, indent=2)


if __name__ == "__main__":
    main()
