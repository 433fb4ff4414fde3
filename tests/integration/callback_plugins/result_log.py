"""A test-only callback: every task's result and the play recap, as ansible-playbook saw them, into one JSON file.

ansible-core has no JSON callback of its own (ansible.posix has); tests read what Ansible made of each
result here: AIRLOCK_RESULT_LOG names the file.
"""

import json
import os

from ansible.plugins.callback import CallbackBase

DOCUMENTATION = """
name: result_log
type: aggregate
short_description: task results and the recap as JSON, for tests
description: Writes every task result (as Ansible judged it) and the recap per host to the file named by AIRLOCK_RESULT_LOG.
"""


class CallbackModule(CallbackBase):
    CALLBACK_VERSION = 2.0
    CALLBACK_TYPE = "aggregate"
    CALLBACK_NAME = "result_log"
    CALLBACK_NEEDS_ENABLED = False

    def __init__(self):
        super().__init__()
        self.tasks = {}

    def _record(self, result, status):
        self.tasks[result.task_name] = {"status": status, "result": dict(result._result)}  # pylint: disable=protected-access

    def v2_runner_on_ok(self, result):
        self._record(result, "changed" if result.is_changed() else "ok")

    def v2_runner_on_failed(self, result, ignore_errors=False):
        self._record(result, "failed")

    def v2_runner_on_skipped(self, result):
        self._record(result, "skipped")

    def v2_playbook_on_stats(self, stats):
        recap = {host: stats.summarize(host) for host in sorted(stats.processed)}
        with open(os.environ["AIRLOCK_RESULT_LOG"], "w", encoding="utf-8") as handle:
            json.dump({"tasks": self.tasks, "recap": recap}, handle, default=str)
