"""The transfer report's engine: sizes and progress lines as people read them, a hostile lock refused or shown
harmlessly, and a page that carries nothing from outside and escapes what came across the gap."""

import json

import pytest

from ansible_collections.airlock.airgap.plugins.module_utils.report import evidence, html, progress, units


def test_progress_lines_say_what_is_done_and_what_remains():
    assert units.progress_line("images", 12_400_000_000, 40_100_000_000, 85_000_000) == \
        "images: 12.4 of 40.1 GB, 85.0 MB/s, about 5 min left"
    assert units.progress_line("verify", 512, 900, 0) == "verify: 512 of 900 bytes"
    assert units.progress_line("volumes", 91_700_000, 91_700_000, 40_900_000, 2.2, True) == "volumes: 91.7 of 91.7 MB in 2 s, 40.9 MB/s"
    assert units.duration(7800) == "2 h 10 min"
    assert units.growing_line("images", 1_200_000_000, 4_100_000_000, 85_000_000, 3) == \
        "images: 1.2 of at least 4.1 GB, 85.0 MB/s, 3 images not sized yet"
    assert units.growing_line("images", 1_200_000_000, 4_000_000_000, 100_000_000, 30, 40) == \
        "images: 1.2 of at least 4.0 GB, 100.0 MB/s, 30 images not sized yet, about 2 min left if they average the 10 sized"


def test_a_progress_file_that_grows_is_a_lower_bound_until_every_item_is_sized(tmp_path):
    path = tmp_path / "images.progress.json"
    counter = progress.Progress(str(path), unsized=2, interval=3600)
    counter.expect(300)
    counter.sized()
    counter.advance(300)
    assert not path.exists(), "one item is still unsized: no write before the interval"
    counter.expect(700)
    counter.sized()
    counter.advance(700)
    written = json.loads(path.read_text())
    assert (written["bytes_done"], written["bytes_total"], written["unsized"]) == (1000, 1000, 0)


def test_a_counter_without_a_path_writes_nothing(tmp_path):
    counter = progress.Progress(None, unsized=1)
    counter.expect(5)
    counter.advance(5)
    counter.finish()
    assert counter.done_bytes == 5 and not list(tmp_path.iterdir())


def write_bundle(root, lock):
    root.mkdir()
    (root / "airlock.lock.json").write_text(json.dumps(lock), encoding="utf-8")
    return str(root)


def test_a_lock_from_across_the_gap_is_escaped_in_the_page(tmp_path):
    bundle = write_bundle(tmp_path / "bundle", {
        "images": [{"source": "evil.io/<script>alert(1)</script>:1", "digest": "sha256:" + "a" * 64, "platforms": ["linux/amd64"]}],
        "charts": [{"name": "app", "version": "1.0.0", "dependencies": [{"name": "db", "version": "2.0.0", "dependencies": []}]}],
        "models": [{"name": "acme/m", "revision": "main", "files": [{"path": "w.bin", "size": 10, "sha256": "b" * 64}]}],
        "files": [{"path": "client.whl", "size": "not a number", "sha256": "c" * 64}]})
    summary = evidence.collect(bundle, "demo")
    page = html.render(summary)
    assert "<script>" not in page and "&lt;script&gt;" in page
    assert summary["totals"]["images"] == 1 and summary["totals"]["model_bytes"] == 10 and summary["totals"]["file_bytes"] == 0
    assert summary["charts"][0]["dependencies"] == ["db 2.0.0"]
    assert '<td id="total-charts">1</td>' in page and "not verified here yet" in page


@pytest.mark.parametrize("lock", [[], {"images": {"a": 1}}, {"models": ["x"]}])
def test_a_lock_that_is_not_the_collections_is_refused_by_name(tmp_path, lock):
    bundle = write_bundle(tmp_path / "bundle", lock)
    with pytest.raises(evidence.ReportError, match="lock"):
        evidence.collect(bundle, "demo")


def test_a_missing_lock_names_the_file(tmp_path):
    with pytest.raises(evidence.ReportError, match="airlock.lock.json is missing"):
        evidence.collect(str(tmp_path), "demo")
