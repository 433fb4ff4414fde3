# Copyright (c) 2026, airlock.airgap contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The one writer: a text file is replaced only when its content changes, and never in check mode."""

from __future__ import annotations

import os

from ansible_collections.airlock.airgap.plugins.module_utils.integrity import atomic


def test_text_is_written_once_then_left_alone_and_check_mode_writes_nothing(tmp_path):
    path = tmp_path / "out" / "report.json"
    assert atomic.write_text_if_changed(str(path), "{}\n", check_mode=True)
    assert not path.exists()
    assert atomic.write_text_if_changed(str(path), "{}\n")
    os.utime(path, (1, 1))
    assert not atomic.write_text_if_changed(str(path), "{}\n")
    assert path.stat().st_mtime == 1
    assert atomic.write_text_if_changed(str(path), "{}\n\n")
    assert path.read_text() == "{}\n\n"
    assert sorted(os.listdir(path.parent)) == ["report.json"]
