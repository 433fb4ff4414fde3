# Copyright (c) 2026, airlock.airgap contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The one writer: a text file is replaced only when its content changes, and never in check mode."""

from __future__ import annotations

import os

import pytest

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


def test_a_folder_replaces_the_old_one_only_when_built_whole(tmp_path):
    destination = tmp_path / "export"
    destination.mkdir()
    (destination / "old").write_text("old")
    with pytest.raises(RuntimeError):
        with atomic.replacing_folder(str(destination), ".export-") as building:
            (tmp_path / building / "half").write_text("half")
            raise RuntimeError("a digest did not match")
    assert sorted(os.listdir(tmp_path)) == ["export"] and sorted(os.listdir(destination)) == ["old"]
    with atomic.replacing_folder(str(destination), ".export-") as building:
        assert os.stat(building).st_mode & 0o777 == 0o700
        (tmp_path / building / "new").write_text("new")
    assert sorted(os.listdir(tmp_path)) == ["export"] and sorted(os.listdir(destination)) == ["new"]
