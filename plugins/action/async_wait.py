# Copyright (c) 2026, airlock.airgap contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""async_wait: wait for a step started with `async` and `poll: 0`, printing its progress on every poll.

A role polling in tasks (async_status, read the progress file, print, pause, count, include again) spent
about ten tasks and five module processes on every long step, most of a flow's CPU on a small bundle.
Here the loop is one task: each poll is the job's status (ansible.builtin.async_status, as a task
would run it) and the progress file read by one shell command on the step's host, and the line goes to
the output (a terminal, or AWX's job output) while the task runs. The pause doubles from 1 s up to
`interval`, so short steps end quickly and long ones print calmly.
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


class ActionModule(ActionBase):
    def run(self, tmp=None, task_vars=None):
        result = super().run(tmp, task_vars or {})
        del tmp  # tmp no longer has any effect
        _validation, args = self.validate_argument_spec(argument_spec=ARGUMENT_SPEC)
        if args["interval"] < 1 or args["timeout"] < 1:
            raise AnsibleActionFail(f"async_wait: interval ({args['interval']}) and timeout ({args['timeout']}) are seconds, at least 1")
        task_vars = task_vars or {}
        host = task_vars.get("inventory_hostname", "")
        status, waited = self._wait(args, host, task_vars)
        progress = self._progress(args["progress_file"])
        result.update(status)
        result["progress"] = (progress_line(progress, args["label"], finished=True) if progress
                              else f"{args['label']}: ended after {units.duration(float(waited))}")
        _say(host, result["progress"])
        if args["progress_file"]:
            self._low_level_execute_command(f"rm -f -- {shlex.quote(args['progress_file'])}")
        return result

    def _wait(self, args, host, task_vars):
        """(the job's last status - its module's result once finished -, the seconds waited), polling until it ends."""
        async_status = self._async_status(args["jid"])
        started, pause = time.monotonic(), 1
        while True:
            status = async_status.run(task_vars=task_vars)
            waited = int(time.monotonic() - started)
            if status.get("finished") or status.get("failed"):
                return status, waited
            if waited >= args["timeout"]:
                raise AnsibleActionFail(f"async_wait: the step {args['label']} (job {args['jid']}) still runs after {args['timeout']} s; "
                                        "raise timeout, or look at the job with ansible.builtin.async_status")
            _say(host, progress_line(self._progress(args["progress_file"]), args["label"], waited))
            time.sleep(pause)
            pause = min(pause * 2, args["interval"])

    def _async_status(self, jid):
        """ansible.builtin.async_status's action for the job, built once and run on every poll as its own task would run it
        (async_dir and all)."""
        task = self._task.copy()
        task.args = {"jid": jid}
        return self._shared_loader_obj.action_loader.get(
            "ansible.builtin.async_status", task=task, connection=self._connection, play_context=self._play_context,
            loader=self._loader, templar=self._templar, shared_loader_obj=self._shared_loader_obj)

    def _progress(self, path):
        """The progress file the step's module writes (parsed), or None while there is none yet."""
        if not path:
            return None
        read = self._low_level_execute_command(f"cat -- {shlex.quote(path)} 2>/dev/null")
        try:
            return json.loads(read.get("stdout") or "") if read.get("rc") == 0 else None
        except ValueError:
            return None  # caught mid-write: the module renames a whole file into place, so the next poll reads it


def _say(host, line):
    """One line of the output (a terminal, or AWX's job output) while the task runs: which host's step, where it stands."""
    display.display(f"[{host}] {line}")
