"""airlock.airgap.async_wait on its own, by ansible-playbook on localhost and on a sealed-enclave node over SSH: it
returns the step's result once the step ends (read by ansible.builtin.async_status) and removes the job's status file
and the progress file; a failed step fails the wait with the step's message; a job that is not there fails at once
(async_status names it) instead of waiting for the timeout; a step that outlives the timeout fails naming the job."""

import os
import subprocess
import sys
import textwrap
import time

import pytest

PROGRESS = '{"bytes_done": 5000000, "bytes_total": 10000000, "bytes_per_second": 1000000, "seconds": 5}'


def run_playbook(tmp_path, tasks, host="localhost", inventory=None):
    """(returncode, stdout) of one play of `tasks` on host (localhost, or a node of inventory), async_wait's job files in
    tmp_path/async."""
    playbook = tmp_path / "play.yml"
    playbook.write_text(f"- hosts: {host}\n  gather_facts: false\n  tasks:\n" + textwrap.indent(textwrap.dedent(tasks), "    "))
    env = dict(os.environ, ANSIBLE_ASYNC_DIR=str(tmp_path / "async"), ANSIBLE_LOCALHOST_WARNING="false", ANSIBLE_NOCOLOR="1",
               ANSIBLE_PYTHON_INTERPRETER=sys.executable)
    where = ["-i", inventory] if inventory else ["-i", "localhost,", "-c", "local"]
    done = subprocess.run([os.path.join(os.path.dirname(sys.executable), "ansible-playbook"), *where, str(playbook)],
                          env=env, capture_output=True, text=True, timeout=300, check=False)
    return done.returncode, done.stdout + done.stderr


@pytest.fixture(params=["localhost", pytest.param("n1", marks=pytest.mark.testbed)])
def host(request):
    """(host, inventory): the controller itself, and a sealed-enclave node over SSH, where a command runs on a terminal."""
    if request.param == "localhost":
        return "localhost", None
    return "n1", request.getfixturevalue("sealed_enclave").inventory


def test_the_step_result_comes_back_and_its_files_are_removed(tmp_path, host):
    progress = tmp_path / "progress.json"
    code, out = run_playbook(tmp_path, f"""
        - name: A step of two seconds that writes progress
          ansible.builtin.shell: |
            printf '%s' '{PROGRESS}' > {progress}; sleep 2; echo moved
          async: 60
          poll: 0
          register: step
        - name: Wait for it
          airlock.airgap.async_wait: {{jid: "{{{{ step.ansible_job_id }}}}", label: things, progress_file: "{progress}", interval: 1, timeout: 30}}
          register: waited
        - name: The step's own result
          ansible.builtin.assert:
            that: [waited.stdout == 'moved', waited.finished, waited is changed, waited is not failed,
                   waited.progress is not search('ended after')]  # the last line read the step's progress file
    """, *host)
    assert code == 0, out
    assert f"[{host[0]}] things: " in out, out  # a line while the step ran, from its progress file
    assert not progress.exists() and os.listdir(tmp_path / "async") == [], os.listdir(tmp_path / "async")


def test_a_failed_step_fails_the_wait_with_its_message(tmp_path):
    code, out = run_playbook(tmp_path, """
        - name: A step that fails
          ansible.builtin.command: ls /no/such/folder
          async: 60
          poll: 0
          register: step
        - name: Wait for it
          airlock.airgap.async_wait: {jid: "{{ step.ansible_job_id }}", label: things}
    """)
    assert code != 0 and "No such file or directory" in out and "failed=1" in out, out


def test_a_job_that_is_not_there_fails_at_once(tmp_path):
    code, out = run_playbook(tmp_path, """
        - name: Wait for a job that never started
          airlock.airgap.async_wait: {jid: "123456.789", label: things, timeout: 120}
    """)
    assert code != 0 and "could not find job" in out, out


def test_a_step_that_outlives_the_timeout_fails_naming_the_job(tmp_path):
    code, out = run_playbook(tmp_path, """
        - name: A step longer than the wait
          ansible.builtin.command: sleep 4
          async: 60
          poll: 0
          register: step
        - name: Wait for it
          airlock.airgap.async_wait: {jid: "{{ step.ansible_job_id }}", label: things, timeout: 1}
    """)
    assert code != 0 and "still runs after 1 s" in out, out
    wait_for_the_step_to_end(tmp_path / "async")


def wait_for_the_step_to_end(async_dir, seconds=30):
    """The step goes on after the wait gave up (its own async limit is its bound): the test ends when the step has."""
    (status_file,) = async_dir.iterdir()
    deadline = time.monotonic() + seconds
    while '"started"' in status_file.read_text() and time.monotonic() < deadline:
        time.sleep(0.2)
    assert '"started"' not in status_file.read_text(), status_file.read_text()
