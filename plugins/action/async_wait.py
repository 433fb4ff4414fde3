# Copyright (c) 2026, airlock.airgap contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""async_wait: wait for a step started with `async` and `poll: 0`, printing its progress on every poll.

A role polling in tasks (async_status, read the progress file, print, pause, count, include again) spent
about ten tasks and five module processes on every long step, most of a flow's CPU on a small bundle.
Here the loop is one task. Each poll is one shell command on the step's host that reads the job's status
file (where async_wrapper writes it, as ansible.builtin.async_status reads it) and the progress file; a
module process costs half a second of CPU, a `cat` nothing. Once the job has finished, its result is
read once by ansible.builtin.async_status, as a task would read it, and the job's files are removed.
The line goes to the output (a terminal, or AWX's job output) while the task runs. The pause doubles
from 1 s up to `interval`, so short steps end quickly and long ones print calmly.
"""

from __future__ import annotations

import json
import shlex
import time

from ansible.errors import AnsibleActionFail
from ansible.plugins.action import ActionBase
from ansible.utils.display import Display

from ansible_collections.airlock.airgap.plugins.filter.progress import progress_line
from ansible_collections.airlock.airgap.plugins.module_utils.report import units

ARGUMENT_SPEC = {
    "jid": {"type": "str", "required": True},
    "label": {"type": "str", "required": True},
    "progress_file": {"type": "str"},
    "interval": {"type": "int", "default": 15},
    "timeout": {"type": "int", "default": 86400},
}
display = Display()
# A poll's output: the job's status file, or GONE when it has none; SEPARATOR; the progress file. Neither byte is ever
# raw in JSON text, which escapes control characters.
GONE, SEPARATOR = "\x1d", "\n\x1e\n"
POLL = "cat -- {job} 2>/dev/null || printf '\\035'; printf '\\n\\036\\n'; cat -- {progress} 2>/dev/null"


class ActionModule(ActionBase):
    def run(self, tmp=None, task_vars=None):
        result = super().run(tmp, task_vars or {})
        del tmp  # tmp no longer has any effect
        _validation, args = self.validate_argument_spec(argument_spec=ARGUMENT_SPEC)
        if args["interval"] < 1 or args["timeout"] < 1:
            raise AnsibleActionFail(f"async_wait: interval ({args['interval']}) and timeout ({args['timeout']}) are seconds, at least 1")
        task_vars = task_vars or {}
        host = task_vars.get("inventory_hostname", "")
        job_file = self._job_file(args["jid"])
        progress, waited = self._wait(args, host, job_file)
        result.update(self._async_status(args["jid"]).run(task_vars=task_vars))
        result["progress"] = (progress_line(progress, args["label"], finished=True) if progress
                              else f"{args['label']}: ended after {units.duration(float(waited))}")
        _say(host, result["progress"])
        ended = [job_file] + ([args["progress_file"]] if args["progress_file"] else [])
        self._low_level_execute_command(" ".join(["rm -f --"] + [shlex.quote(path) for path in ended]))
        return result

    def _wait(self, args, host, job_file):
        """(the step's last progress, the seconds waited), polling until the job's status file says it has ended."""
        started, pause = time.monotonic(), 1
        while True:
            ended, progress = self._poll(job_file, args["progress_file"])
            waited = int(time.monotonic() - started)
            if ended:
                return progress, waited
            if waited >= args["timeout"]:
                raise AnsibleActionFail(f"async_wait: the step {args['label']} (job {args['jid']}) still runs after {args['timeout']} s; "
                                        "raise timeout, or look at the job with ansible.builtin.async_status")
            _say(host, progress_line(progress, args["label"], waited))
            time.sleep(pause)
            pause = min(pause * 2, args["interval"])

    def _job_file(self, jid):
        """Where async_wrapper writes the job's status on the step's host: the async_status action's own path."""
        async_dir = self._remote_expand_user(self.get_shell_option("async_dir", default="~/.ansible_async"))
        return self._connection._shell.join_path(async_dir, jid)  # pylint: disable=protected-access

    def _poll(self, job_file, progress_file):
        """(whether the job has ended - finished, failed, or no status file to read, which async_status then names -, the
        progress file parsed or None) from one shell command on the step's host."""
        read = self._low_level_execute_command(POLL.format(job=shlex.quote(job_file), progress=shlex.quote(progress_file or "/dev/null")))
        # Over SSH the command runs on a terminal (-tt, for become), which ends lines with \r\n; JSON text holds no raw \r.
        job, _separator, progress = (read.get("stdout") or "").replace("\r\n", "\n").partition(SEPARATOR)
        return _job_ended(job), _parsed(progress)

    def _async_status(self, jid):
        """ansible.builtin.async_status's action for the job: the step's result, as its own task would read it."""
        task = self._task.copy()
        task.args = {"jid": jid}
        return self._shared_loader_obj.action_loader.get(
            "ansible.builtin.async_status", task=task, connection=self._connection, play_context=self._play_context,
            loader=self._loader, templar=self._templar, shared_loader_obj=self._shared_loader_obj)


def _job_ended(text):
    """Whether the job has ended, from its status file read as async_status reads it: unreadable means not written yet
    (running); a file without `started` is the module's result (ended); otherwise its `finished` says."""
    if text == GONE:
        return True  # async_status names what is wrong (a wrong jid, another async_dir)
    status = _parsed(text)
    return isinstance(status, dict) and ("started" not in status or bool(status.get("finished")))


def _parsed(text):
    """JSON text parsed, or None when there is none or it was caught mid-write (both writers rename whole files into place,
    so the next poll reads it)."""
    try:
        return json.loads(text) if text.strip() else None
    except ValueError:
        return None


def _say(host, line):
    """One line of the output (a terminal, or AWX's job output) while the task runs: which host's step, where it stands."""
    display.display(f"[{host}] {line}")
