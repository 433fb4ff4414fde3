"""What an AWX job of this collection proves, from the prepare and enclave jobs of awx_jobs.py (run once
through ansible-runner, credentials injected as AWX injects them):

- awx runner: The AWX side of the jobs of awx_jobs.py (prepare and enclave through ansible-runner, credentials injected).

  Asserted: progress lines of the image copy, model staging, pack, verify, unpack, image push, model upload and preload
  are in the job events; set_stats left the summary as the job's artifact; the transfer report and its JSON lie beside
  the volumes and the bundle; no secret appears in any event, in stdout or in any file the jobs left, except runner's
  own `command` file (mode 0600), which records the job's environment by design and which AWX deletes with the private
  data dir.
- transfer report: The transfer report as a person sees it: the pages the jobs of awx_jobs.py wrote, opened in a real headless browser
  (Debian's chromium) with no network; the totals read back from the rendered page, and the verdicts from the
  screenshot (green where verified, red where not yet).
- molecule: molecule's default scenario (extensions/molecule/default): the receive role converged on the embedding-server
  example's volumes (the ones the prepare job of awx_jobs.py wrote), a second converge that changes nothing, and verify;
  the delegated driver on this machine.
"""

import glob
import json
import os
import re
import shutil
import subprocess

import pytest
import yaml
from PIL import Image

from awx_jobs import PROGRESS


pytestmark = pytest.mark.testbed


def progress_events(job):
    """(task, line) of every progress line in a job's events, as AWX shows them in its output:
    airlock.airgap.async_wait prints one `[host] step: ...` line a poll while its task runs."""
    found = []
    for event in job["events"]:
        for line in (event.get("stdout") or "").splitlines():
            shown = line.split("] ", 1)[1] if line.startswith("[") and "] " in line else ""
            if PROGRESS.match(shown):
                found.append((event.get("event_data", {}).get("task", ""), shown))
    return found


def progress_lines(job):
    return [line for _task, line in progress_events(job)]


def artifact_data(job):
    stats = [event for event in job["events"] if event.get("event") == "playbook_on_stats"]
    assert stats, "no playbook_on_stats event"
    return stats[-1]["event_data"].get("artifact_data", {})


def test_the_jobs_print_progress_of_the_long_steps_in_their_events(awx_jobs):
    prepare = progress_lines(awx_jobs["prepare"])
    for step in ("images", "models", "volumes"):
        assert any(line.startswith(f"{step}: ") for line in prepare), (step, awx_jobs["prepare"]["stdout"][-3000:])
    enclave = progress_lines(awx_jobs["enclave"])
    for step in ("verify", "unpack", "images", "models", "preload"):
        assert any(line.startswith(f"{step}: ") for line in enclave), (step, enclave)


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


TOTALS = re.compile(r'<td id="total-([a-z-]+)">([^<]*)</td>')
# The colours of html.py's .ok and .bad verdicts.
VERIFIED_GREEN = (0x16, 0x62, 0x2B)
FAILED_RED = (0xAA, 0x11, 0x11)


def chromium(*arguments, cwd):
    """One headless chromium run on a file, in a network namespace of its own (no network at all), with a scratch profile."""
    binary = shutil.which("chromium")
    assert binary, "chromium is missing: tests/testbed/testbed install puts it there (apt-get install -y chromium)"
    command = ["unshare", "--net", binary, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
               f"--user-data-dir={cwd}/profile", *arguments]
    return subprocess.run(command, cwd=cwd, capture_output=True, timeout=120, check=True)


def screenshot(report, folder):
    """The page as chromium paints it: a PNG, opened by Pillow, in RGB."""
    chromium("--window-size=1280,1600", "--screenshot=page.png", f"file://{report}", cwd=folder)
    with Image.open(os.path.join(folder, "page.png")) as image:
        assert image.format == "PNG" and image.size == (1280, 1600)
        return image.convert("RGB")


def verdict_pixels(image):
    """(green, red) pixels painted in the report's verdict colours: what a reviewer sees at a glance."""
    counts = {colour: count for count, colour in image.getcolors(maxcolors=image.size[0] * image.size[1])}
    return counts.get(VERIFIED_GREEN, 0), counts.get(FAILED_RED, 0)


def read_page(report, folder):
    with open(report, encoding="utf-8") as handle:
        page = handle.read()
    assert not re.search(r"<(script|link|img|iframe)\b|src=|href=|url\(", page), f"{report} carries an external asset"
    return chromium("--dump-dom", f"file://{report}", cwd=folder).stdout.decode()


def test_the_report_renders_in_a_browser_and_its_totals_read_back(awx_jobs, tmp_path):
    report = os.path.join(awx_jobs["root"], "enclave", "embedding-server.transfer-report.html")
    dom = read_page(report, tmp_path)
    totals = dict(TOTALS.findall(dom))
    with open(report.replace(".html", ".json"), encoding="utf-8") as handle:
        summary = json.load(handle)
    assert totals["images"] == str(summary["totals"]["images"]) == "3"
    assert (totals["charts"], totals["models"], totals["platforms"]) == ("1", "1", "linux/amd64")
    assert totals["volumes"] == str(len(summary["evidence"]["volumes"])) == "1"
    assert "nothing points outside the enclave" in dom

    green, red = verdict_pixels(screenshot(report, tmp_path))
    assert green > 100 and red == 0, (green, red)


def test_the_report_carried_with_the_volumes_shows_it_is_not_verified_yet(awx_jobs, tmp_path):
    report = os.path.join(awx_jobs["usb"], "embedding-server.transfer-report.html")
    green, red = verdict_pixels(screenshot(report, tmp_path))
    assert red > 100 and green == 0, (green, red)


REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
VENV_BIN = os.path.join(REPO, ".venv", "bin")


def test_molecule_converges_idempotently_and_verifies(awx_jobs, testbed, tmp_path):
    site = dict(awx_jobs["site"], airlock_volumes_dir=awx_jobs["usb"], airlock_bundle_dir=str(tmp_path / "enclave" / "bundle"),
                airlock_output_dir=str(tmp_path / "enclave" / "out"))
    vars_file = tmp_path / "site.yml"
    vars_file.write_text(yaml.safe_dump(site), encoding="utf-8")
    env = {key: value for key, value in os.environ.items() if not key.startswith("AIRLOCK_")}
    env.update(AIRLOCK_MOLECULE_VARS=str(vars_file), AIRLOCK_MOLECULE_PYTHON=os.path.join(VENV_BIN, "python"),
               ANSIBLE_COLLECTIONS_PATH=os.path.join(REPO, ".cache", "collections"), ANSIBLE_LOCALHOST_WARNING="false",
               MOLECULE_EPHEMERAL_DIRECTORY=str(tmp_path / "molecule"),
               PATH=os.pathsep.join([VENV_BIN, os.path.dirname(testbed.helm), os.environ.get("PATH", "")]))
    done = subprocess.run([os.path.join(VENV_BIN, "molecule"), "test", "--scenario-name", "default"], cwd=REPO, env=env,
                          capture_output=True, text=True, timeout=900, check=False)
    output = re.sub(r"\x1b\[[0-9;]*m", "", done.stdout + done.stderr)
    (tmp_path / "molecule.log").write_text(output, encoding="utf-8")
    assert done.returncode == 0, output[-5000:]
    # molecule's idempotence action succeeds only when the second converge changed nothing.
    for action in ("syntax", "converge", "idempotence", "verify"):
        assert f"default ➜ {action}: Executed: Successful" in output, output[-3000:]
    assert re.search(r"actions=4 +successful=4 .*failed=0", output), output[-3000:]
