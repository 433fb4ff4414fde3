"""The transfer report as a person sees it: the pages the jobs of awx_jobs.py wrote, opened in a real headless browser
(Debian's chromium) with no network; the totals read back from the rendered page, and the verdicts from the
screenshot (green where verified, red where not yet)."""

import json
import os
import re
import shutil
import subprocess

import pytest
from PIL import Image

pytestmark = pytest.mark.testbed

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
