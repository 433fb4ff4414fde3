"""ConfinedRoot: hostile names resolved through what is on disk, never written outside the root."""

import os

import pytest

from ansible_collections.airlock.airgap.plugins.module_utils.integrity.confined import ConfinedRoot, UnsafePath, check_link_target, is_temporary


@pytest.fixture
def root(tmp_path):
    (tmp_path / "root").mkdir()
    (tmp_path / "outside").mkdir()
    return tmp_path / "root"


def write_text(tree, relative, text):
    tree.write(relative, lambda handle: handle.write(text.encode()))


def test_writes_files_and_folders_beneath_the_root(root):
    tree = ConfinedRoot(str(root))
    write_text(tree, "a/b/c.txt", "hello")
    assert (root / "a" / "b" / "c.txt").read_text() == "hello"
    assert not [name for name in os.listdir(root / "a" / "b") if is_temporary(name)]


@pytest.mark.parametrize("name", ["../x", "/etc/x", "a/../../x", "", ".", "a\\b", "a\0b"])
def test_names_that_leave_the_root_are_refused(root, name):
    with pytest.raises(UnsafePath):
        write_text(ConfinedRoot(str(root)), name, "x")


def test_a_link_on_the_way_is_never_followed_even_when_it_stays_inside(root):
    tree = ConfinedRoot(str(root))
    tree.symlink("foo", ".")
    with pytest.raises(UnsafePath, match="is a link or a file"):
        tree.symlink("foo/bar", "..")
    assert not os.path.lexists(root / "bar")


def test_a_link_planted_by_hand_leads_no_write_outside(root):
    os.symlink(str(root.parent / "outside"), root / "models")
    tree = ConfinedRoot(str(root))
    with pytest.raises(UnsafePath):
        write_text(tree, "models/w.bin", "payload")
    with pytest.raises(UnsafePath):
        tree.unlink("models/anything")
    assert not os.listdir(root.parent / "outside")


@pytest.mark.parametrize("link,target", [
    ("up", ".."), ("a/b", "../../x"), ("a/b", "/etc/passwd"), ("a/b", "c/../../x"), ("a/b", ""),
])
def test_link_targets_that_could_leave_are_refused(link, target):
    with pytest.raises(UnsafePath):
        check_link_target(link, target)


def test_a_link_through_an_existing_link_that_leaves_is_refused(root):
    os.symlink(str(root.parent / "outside"), root / "hand-made")
    with pytest.raises(UnsafePath, match="outside"):
        ConfinedRoot(str(root)).symlink("x", "hand-made/file")


def test_symlink_is_idempotent_and_replaces_in_one_rename(root):
    tree = ConfinedRoot(str(root))
    assert tree.symlink("snapshots/c/file", "../../blobs/abc")
    assert not tree.symlink("snapshots/c/file", "../../blobs/abc")
    assert tree.symlink("snapshots/c/file", "../../blobs/def")
    assert os.readlink(root / "snapshots" / "c" / "file") == "../../blobs/def"


def test_before_commit_can_refuse_and_nothing_keeps_the_name(root):
    def refuse(handle):
        assert handle.read() == b"bad"
        raise ValueError("digest mismatch")
    with pytest.raises(ValueError):
        ConfinedRoot(str(root)).write("blob", lambda handle: handle.write(b"bad"), before_commit=refuse)
    assert os.listdir(root) == []


def test_unlink_and_status_never_follow_links(root):
    (root.parent / "outside" / "x").write_text("precious")
    os.symlink("../outside/x", root / "link")
    tree = ConfinedRoot(str(root))
    assert tree.status("link") is not None and tree.readlink("link") == "../outside/x"
    assert tree.unlink("link") and (root.parent / "outside" / "x").exists()
    assert tree.status("missing/deeper") is None and not tree.unlink("missing")
