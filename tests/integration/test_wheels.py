"""wheel_mirror for real: pip download from this machine's index for another platform, and a sealed install.

The install runs in a network namespace with no network, from the folder alone, with
--require-hashes, into a fresh venv made there from the bare system python3.
"""

import os
import subprocess

from module_runner import run_module
from sealed_netns import sealed_namespace

HOST_PLATFORM = "manylinux2014_x86_64"
SEALED_PACKAGES = ["requests==2.34.2", "zstandard==0.25.0"]


def test_wheels_for_another_platform_are_that_platforms_never_the_hosts(tmp_path):
    dest, lock = tmp_path / "wheels", tmp_path / "airlock.lock.json"
    args = {"requirements": ["zstandard==0.25.0", "charset-normalizer"], "platform": ["manylinux2014_aarch64"], "dest": str(dest),
            "lock_file": str(lock)}
    result = run_module("wheel_mirror", args)
    assert not result.get("failed"), result.get("msg")
    files = sorted(wheel["file"] for wheel in result["wheels"])
    compiled = [name for name in files if not name.endswith("-none-any.whl")]
    assert {name.split("-")[0] for name in compiled} == {"zstandard", "charset_normalizer"}
    assert all("aarch64" in name and "x86_64" not in name for name in compiled), files
    assert sorted(name for name in os.listdir(dest) if name.endswith(".whl")) == files
    assert (dest / "simple" / "zstandard" / "index.html").read_text().count("#sha256=") == 1
    assert "zstandard==0.25.0 --hash=sha256:" in (dest / "requirements.txt").read_text()
    assert not run_module("wheel_mirror", args)["changed"]


def test_a_sealed_pip_install_from_the_folder_alone(tmp_path):
    dest = tmp_path / "wheels"
    result = run_module("wheel_mirror", {"requirements": SEALED_PACKAGES, "platform": [HOST_PLATFORM], "dest": str(dest)})
    assert not result.get("failed"), result.get("msg")
    venv = tmp_path / "venv"
    with sealed_namespace() as inside:
        assert "state DOWN" in inside(["ip", "link", "show", "lo"]).stdout
        made = inside(["/usr/bin/python3", "-m", "venv", str(venv)])
        assert made.returncode == 0, made.stderr
        installed = inside([str(venv / "bin" / "pip"), "--isolated", "install", "--no-index", "--find-links", str(dest),
                            "--require-hashes", "-r", str(dest / "requirements.txt")])
        print(installed.stdout, installed.stderr)
        assert installed.returncode == 0, installed.stdout + installed.stderr
        used = inside([str(venv / "bin" / "python"), "-c", "import requests, zstandard; print(requests.__version__, zstandard.__version__)"])
    assert used.stdout.split() == ["2.34.2", "0.25.0"], used.stderr
    assert "Successfully installed" in installed.stdout and "zstandard-0.25.0" in installed.stdout
    assert not subprocess.run(["ip", "netns", "list"], capture_output=True, text=True, check=True).stdout.count("airlock-sealed-")
