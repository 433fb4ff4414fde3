# Copyright (c) 2026, airlock.airgap contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Jinja filter: the line a role prints while a long step runs. Documented in progress_line.yml next to this file."""

from __future__ import annotations

from ansible.errors import AnsibleFilterError

from ansible_collections.airlock.airgap.plugins.module_utils.report import units


def progress_line(progress, label, waited=0, finished=False):
    """What is done and what remains, from a module's progress file (parsed), or how long it has run without one;
    finished: what was done, and in how long."""
    if not progress:
        return f"{label}: working, {units.duration(float(waited))} so far"
    try:
        done, total, per_second = int(progress["bytes_done"]), int(progress["bytes_total"]), int(progress.get("bytes_per_second") or 0)
        unsized = 0 if finished else int(progress.get("unsized") or 0)
        if unsized:
            return units.growing_line(label, done, total, per_second, unsized, int(progress.get("items") or 0))
        return units.progress_line(label, done, total, per_second, float(progress.get("seconds") or 0), finished)
    except (KeyError, TypeError, ValueError) as error:
        raise AnsibleFilterError(f"the progress file of {label} is not what the modules write (bytes_done, bytes_total): {error}") from error


class FilterModule:  # pylint: disable=too-few-public-methods
    def filters(self):
        return {"progress_line": progress_line}
