"""airlock.lock.json: sections merged, rewritten only on change, and no writer's entries lost to another's."""

import json
import multiprocessing

from ansible_collections.airlock.airgap.plugins.module_utils.integrity import lockfile


def test_sections_merge_by_key_and_other_sections_stay(tmp_path):
    path = str(tmp_path / "airlock.lock.json")
    assert lockfile.merge_section(path, "charts", [{"file": "b.tgz", "v": 1}, {"file": "a.tgz", "v": 1}], key=lambda e: e["file"])
    assert lockfile.merge_section(path, "models", [{"name": "m"}], key=lambda e: e["name"])
    assert lockfile.merge_section(path, "charts", [{"file": "b.tgz", "v": 2}], key=lambda e: e["file"])
    lock = json.loads((tmp_path / "airlock.lock.json").read_text())
    assert lock == {"version": 1, "charts": [{"file": "a.tgz", "v": 1}, {"file": "b.tgz", "v": 2}], "models": [{"name": "m"}]}


def test_an_unchanged_lock_is_not_rewritten_and_check_mode_writes_nothing(tmp_path):
    path = tmp_path / "airlock.lock.json"
    lockfile.merge_section(str(path), "charts", [{"file": "a.tgz"}], key=lambda e: e["file"])
    before = path.stat().st_mtime_ns
    assert not lockfile.merge_section(str(path), "charts", [{"file": "a.tgz"}], key=lambda e: e["file"])
    assert path.stat().st_mtime_ns == before
    assert lockfile.merge_section(str(path), "charts", [{"file": "c.tgz"}], key=lambda e: e["file"], check_mode=True)
    assert "c.tgz" not in path.read_text()


def _add(path, number):
    lockfile.merge_section(path, "models", [{"name": f"m{number:03d}"}], key=lambda e: e["name"])


def test_writers_at_once_lose_no_entries(tmp_path):
    path = str(tmp_path / "airlock.lock.json")
    with multiprocessing.get_context("fork").Pool(8) as pool:
        pool.starmap(_add, [(path, n) for n in range(64)])
    assert len(json.loads((tmp_path / "airlock.lock.json").read_text())["models"]) == 64
    assert [p.name for p in tmp_path.iterdir()] == ["airlock.lock.json"], "no lock or temporary file left beside it"


def test_check_mode_creates_nothing_not_even_the_folder(tmp_path):
    path = tmp_path / "new-bundle" / "airlock.lock.json"
    assert lockfile.merge_section(str(path), "images", [{"source": "a"}], key=lambda entry: entry["source"], check_mode=True)
    assert not (tmp_path / "new-bundle").exists()
