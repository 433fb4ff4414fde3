"""The testbed command: reuse, refusal while busy, and cleanup after a crash."""

import json
import os
import shutil
import signal
import subprocess
import tempfile
import time

import pytest

from testbed import processes, state


def run(argv, **kwargs):
    return subprocess.run(argv, capture_output=True, text=True, timeout=300, check=False, **kwargs)


@pytest.fixture
def scratch_state_dir():
    """A short path of its own: unix socket paths must stay under 108 bytes."""
    directory = tempfile.mkdtemp(prefix="airlock-tb-")
    yield directory
    leftovers = processes.owned_pids(directory)
    processes.stop(leftovers, directory, grace_seconds=5)
    shutil.rmtree(directory, ignore_errors=True)
    assert not leftovers, f"the test left processes running: {leftovers}"


@pytest.mark.testbed
def test_second_up_reuses_the_running_testbed(testbed, testbed_cli):
    result = run([*testbed_cli, "up", "--dir", testbed.state_dir])
    assert result.returncode == 0, result.stderr
    assert "reusing the running testbed" in result.stderr
    assert f"export AIRLOCK_PUBLIC_REGISTRY={testbed.public_registry}" in result.stdout.splitlines()


def test_up_refuses_clearly_while_another_up_is_starting(testbed_cli, scratch_state_dir):
    with state.exclusive(scratch_state_dir):
        result = run([*testbed_cli, "up", "--dir", scratch_state_dir])
    assert result.returncode == 2
    assert "another `testbed up` or `down` is running" in result.stderr
    assert not processes.owned_pids(scratch_state_dir)


def test_down_after_a_killed_up_leaves_nothing_running(testbed_cli, scratch_state_dir):
    starting = subprocess.Popen(  # pylint: disable=consider-using-with
        [*testbed_cli, "up", "--dir", scratch_state_dir],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    recorded = _wait_for_services(scratch_state_dir, at_least=3, timeout=120)
    starting.send_signal(signal.SIGKILL)
    starting.wait(timeout=30)
    pids = [pid for record in recorded.values() for pid in record["pids"]]
    assert any(processes.is_ours(pid, scratch_state_dir) for pid in pids), "nothing was running"

    result = run([*testbed_cli, "down", "--dir", scratch_state_dir])
    assert result.returncode == 0, result.stderr
    assert processes.owned_pids(scratch_state_dir) == []
    assert not any(os.path.exists(f"/proc/{pid}") and processes.is_ours(pid, scratch_state_dir)
                   for pid in pids)
    assert os.listdir(scratch_state_dir) == [".lock"]


def _wait_for_services(state_dir, at_least, timeout):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            services = state.load(state_dir)["services"]
        except (json.JSONDecodeError, OSError):
            services = {}
        if len(services) >= at_least:
            return services
        time.sleep(0.2)
    raise AssertionError(f"`testbed up` recorded fewer than {at_least} services in {timeout}s")
