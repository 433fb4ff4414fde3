"""molecule's default scenario (extensions/molecule/default): the receive role converged on the embedding-server
example's volumes (the ones the prepare job of awx_jobs.py wrote), a second converge that changes nothing, and verify;
the delegated driver on this machine."""

import os
import re
import subprocess

import pytest
import yaml

pytestmark = pytest.mark.testbed

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
