# Copyright (c) 2026, airlock.airgap contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""image_preload's controller side: with state=received, send the export archive to the node in one stream.

A node's export is one file (an OCI archive, state=exported with format=archive), so it travels
by the connection's own file transfer (sftp or scp over the SSH connection Ansible already holds
open) as one stream, into the task's temporary directory on the node; the module then unpacks it
there, every blob verified before it takes its name, and the temporary directory goes with the
task. Every other state runs the module unchanged.

Image layers are compressed already, so SSH's own compression (`-C`, in Ansible's default
`ssh_args`) would only spend CPU on both ends: measured on the sealed enclave, it made the
transfer five times slower than `tar c | ssh node tar x`. The archive therefore goes through a
master connection of its own without `-C`; everything else keeps the connection as configured.
"""

from __future__ import annotations

import contextlib
import os
import shlex

from ansible.errors import AnsibleActionFail
from ansible.plugins.action import ActionBase

MODULE = "airlock.airgap.image_preload"


class ActionModule(ActionBase):
    TRANSFERS_FILES = True
    _supports_async = True  # a long import runs with async and poll: 0, its progress read while it runs (the preload role)

    def run(self, tmp=None, task_vars=None):
        result = super().run(tmp, task_vars or {})
        del tmp  # tmp no longer has any effect
        arguments = dict(self._task.args)
        wrap_async = self._task.async_val and not self._connection.has_native_async
        try:
            if arguments.get("state") == "received" and not self._task.check_mode:
                arguments["archive"] = self._ship(arguments.get("archive"))
            result.update(self._execute_module(module_name=MODULE, module_args=arguments, task_vars=task_vars,
                                               wrap_async=wrap_async))
        finally:
            if not wrap_async:  # an async job's wrapper removes the temporary directory when the module ends
                self._remove_tmp_path(self._connection._shell.tmpdir)  # pylint: disable=protected-access
        return result

    def _ship(self, archive):
        """The archive's path on the node, after one transfer of the controller's file."""
        if not archive or not os.path.isfile(os.path.expanduser(archive)):
            raise AnsibleActionFail(f"archive {archive!r} is not a file on the controller: write it first with state=exported and "
                                    "format=archive (delegate_to: localhost)")
        shell = self._connection._shell  # pylint: disable=protected-access
        remote = shell.join_path(shell.tmpdir, "export.tar")
        with self._uncompressed():
            self._transfer_file(os.path.expanduser(archive), remote)
        self._fixup_perms2((shell.tmpdir, remote))
        return remote

    @contextlib.contextmanager
    def _uncompressed(self):
        """The ssh connection without -C, over a control socket of its own (the shared master keeps its compression)."""
        if self._connection.transport != "ssh" or "-C" not in shlex.split(self._connection.get_option("ssh_args") or ""):
            yield
            return
        saved = {name: self._connection.get_option(name) for name in ("ssh_args", "control_path")}
        kept = [argument for argument in shlex.split(saved["ssh_args"]) if argument != "-C"]
        self._connection.set_option("ssh_args", shlex.join(kept))
        self._connection.set_option("control_path", "%(directory)s/%%C-uncompressed")
        try:
            yield
        finally:
            for name, value in saved.items():
                self._connection.set_option(name, value)
