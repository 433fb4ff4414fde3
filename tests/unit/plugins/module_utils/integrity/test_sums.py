"""The sha256sum format, both ways, and tree verification."""

import hashlib
import json
import os

import pytest

from ansible_collections.airlock.airgap.plugins.module_utils.integrity import sums

HEX = "a" * 64


@pytest.mark.parametrize("name", ["plain.txt", "dir/with space.bin", "back\\slash", "new\nline", "./x"])
def test_format_then_parse_round_trips_every_name(name):
    assert sums.parse(sums.format_line(HEX, name)) == {os.path.normpath(name[2:] if name.startswith("./") else name): HEX}


def test_escaped_lines_start_with_a_backslash_like_coreutils():
    assert sums.format_line(HEX, "a\\b") == f"\\{HEX}  a\\\\b\n"


def test_binary_mode_lines_are_read_too():
    assert sums.parse(f"{HEX} *blob\n") == {"blob": HEX}


def test_a_malformed_line_is_named_by_number():
    with pytest.raises(sums.SumsError, match="line 2"):
        sums.parse(f"{HEX}  ok\nnot a sum line\n")


def make_tree(root):
    (root / "blobs" / "sha256").mkdir(parents=True)
    data = {"a.txt": b"alpha\n", "sub/b.bin": os.urandom(5000)}
    for name, content in data.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_bytes(content)
    blob = b"blob content"
    (root / "blobs" / "sha256" / hashlib.sha256(blob).hexdigest()).write_bytes(blob)
    (root / "link").symlink_to("a.txt")
    return data


def test_write_lists_regular_files_not_links_nor_itself(tmp_path):
    make_tree(tmp_path)
    changed, files, _bytes = sums.write(str(tmp_path), workers=2)
    listed = sums.read(str(tmp_path / "SHA256SUMS"))
    assert changed and files == 3
    assert "link" not in listed and "SHA256SUMS" not in listed
    assert sums.write(str(tmp_path))[0] is False


def test_verify_reports_missing_extra_and_mismatched(tmp_path):
    make_tree(tmp_path)
    sums.write(str(tmp_path))
    (tmp_path / "a.txt").write_bytes(b"alphA\n")
    (tmp_path / "sub" / "b.bin").unlink()
    (tmp_path / "new.txt").write_text("surprise")
    found = sums.verify(str(tmp_path))
    assert (found.mismatched, found.missing, found.extra) == (["a.txt"], ["sub/b.bin"], ["new.txt"])
    assert not found.ok


def test_by_name_alone_checks_self_named_blobs(tmp_path):
    make_tree(tmp_path)
    assert sums.verify(str(tmp_path), by_name=True).checked == 1
    blob = next((tmp_path / "blobs" / "sha256").iterdir())
    blob.write_bytes(b"tampered")
    assert sums.verify(str(tmp_path), by_name=True).mismatched == [os.path.relpath(blob, tmp_path)]


def test_no_sums_file_and_no_by_name_is_a_clear_error(tmp_path):
    with pytest.raises(sums.SumsError, match="state=present"):
        sums.verify(str(tmp_path))


def test_progress_file_reaches_the_total(tmp_path):
    data = make_tree(tmp_path)
    progress = tmp_path.parent / "progress.json"
    sums.write(str(tmp_path), progress_path=str(progress))
    state = json.loads(progress.read_text())
    assert state["files_done"] == state["files_total"] == 3
    assert state["bytes_done"] == sum(len(v) for v in data.values()) + len(b"blob content")


def test_digests_hashed_during_an_unpack_are_not_read_again(tmp_path):
    make_tree(tmp_path)
    sums.write(str(tmp_path))
    listed = sums.read(str(tmp_path / "SHA256SUMS"))
    found = sums.verify(str(tmp_path), known={"a.txt": listed["a.txt"]})
    assert found.ok and found.bytes == sum(os.path.getsize(tmp_path / p) for p in listed if p != "a.txt")
    assert sums.verify(str(tmp_path), known={"a.txt": "0" * 64}).mismatched == ["a.txt"]
