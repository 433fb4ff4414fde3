"""Chart archives and folders read safely; charts packed byte-reproducibly."""

import io
import os
import tarfile

import pytest

from ansible_collections.airlock.airgap.plugins.module_utils.charts import archive
from ansible_collections.airlock.airgap.plugins.module_utils.charts.errors import ChartError

CHART_YAML = b"apiVersion: v2\nname: demo\nversion: 1.2.3\n"


def tgz(entries):
    """entries: (name, bytes) for files, (name, None, linkname) for symlinks."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        for entry in entries:
            info = tarfile.TarInfo(entry[0])
            if entry[1] is None:
                info.type, info.linkname = tarfile.SYMTYPE, entry[2]
                tar.addfile(info)
            else:
                info.size = len(entry[1])
                tar.addfile(info, io.BytesIO(entry[1]))
    return buffer.getvalue()


def write_chart(root, files):
    for relative, data in files.items():
        path = os.path.join(root, relative)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "wb") as handle:
            handle.write(data)


def test_an_archive_reads_into_paths_below_its_top_folder():
    chart = archive.from_archive_bytes(tgz([("demo/Chart.yaml", CHART_YAML), ("demo/templates/a.yaml", b"a: 1\n")]), "demo.tgz")
    assert (chart.name, chart.version, chart.archive_name) == ("demo", "1.2.3", "demo-1.2.3.tgz")
    assert sorted(chart.files) == ["Chart.yaml", "templates/a.yaml"]


@pytest.mark.parametrize("name", ["demo/../../etc/passwd", "/etc/passwd", "Chart.yaml", "demo//x"])
def test_entries_escaping_the_chart_folder_are_refused(name):
    with pytest.raises(ChartError, match="escapes the chart's folder"):
        archive.from_archive_bytes(tgz([("demo/Chart.yaml", CHART_YAML), (name, b"x")]), "evil.tgz")


def test_links_in_an_archive_are_refused():
    with pytest.raises(ChartError, match="a link in a chart archive"):
        archive.from_archive_bytes(tgz([("demo/Chart.yaml", CHART_YAML), ("demo/values.yaml", None, "/etc/shadow")]), "evil.tgz")


def test_two_top_folders_are_refused():
    with pytest.raises(ChartError, match="holds one chart"):
        archive.from_archive_bytes(tgz([("demo/Chart.yaml", CHART_YAML), ("other/Chart.yaml", CHART_YAML)]), "two.tgz")


def test_not_a_gzip_is_named():
    with pytest.raises(ChartError, match="not a readable chart archive"):
        archive.from_archive_bytes(b"<html>login</html>", "page.tgz")


def test_chart_yaml_needs_name_and_version():
    with pytest.raises(ChartError, match="name and a version"):
        archive.from_archive_bytes(tgz([("demo/Chart.yaml", b"apiVersion: v2\nname: demo\n")]), "demo.tgz")


def test_packing_is_reproducible_and_reads_back(tmp_path):
    chart = archive.from_files({"values.yaml": b"x: 1\n", "Chart.yaml": CHART_YAML, "templates/b.yaml": b"b\n"}, "mem")
    first, second = archive.pack(chart), archive.pack(chart)
    assert first == second
    again = archive.from_archive_bytes(first, "packed")
    assert again.files == chart.files
    with tarfile.open(fileobj=io.BytesIO(first)) as tar:
        assert tar.getnames()[0] == "demo/Chart.yaml"
        assert {(m.mtime, m.mode, m.uid) for m in tar.getmembers()} == {(0, 0o644, 0)}


def test_a_folder_honours_helmignore_and_follows_links_inside(tmp_path):
    root = tmp_path / "demo"
    write_chart(root, {"Chart.yaml": CHART_YAML, ".helmignore": b"# comment\n*.swp\nsecret/\n!keep.swp\n",
                       "values.yaml": b"a: 1\n", "values.yaml.swp": b"x", "keep.swp": b"k", "secret/key": b"k",
                       "templates/a.yaml": b"a\n"})
    os.symlink("values.yaml", root / "linked.yaml")
    chart = archive.from_folder(str(root))
    assert sorted(chart.files) == [".helmignore", "Chart.yaml", "keep.swp", "linked.yaml", "templates/a.yaml", "values.yaml"]
    assert chart.files["linked.yaml"] == b"a: 1\n"


def test_a_link_out_of_a_folder_is_refused(tmp_path):
    root = tmp_path / "demo"
    write_chart(root, {"Chart.yaml": CHART_YAML})
    (tmp_path / "outside.txt").write_text("private")
    os.symlink(tmp_path / "outside.txt", root / "values.yaml")
    with pytest.raises(ChartError, match="outside the chart"):
        archive.from_folder(str(root))


def test_subcharts_are_found_as_archives_and_folders():
    sub_archive = tgz([("cache/Chart.yaml", b"apiVersion: v2\nname: cache\nversion: 0.1.0\n")])
    chart = archive.from_files({"Chart.yaml": CHART_YAML, "charts/cache-0.1.0.tgz": sub_archive,
                                "charts/lib/Chart.yaml": b"apiVersion: v2\nname: lib\nversion: 2.0.0\n",
                                "charts/README.md": b"not a chart"}, "mem")
    found = chart.subcharts()
    assert {entry: sub.name for entry, sub in found.items()} == {"cache-0.1.0.tgz": "cache", "lib": "lib"}


def test_requirements_yaml_declares_dependencies_of_apiversion_v1():
    chart = archive.from_files({"Chart.yaml": b"apiVersion: v1\nname: old\nversion: 1.0.0\n",
                                "requirements.yaml": b"dependencies:\n- name: lib\n  version: 1.x\n  repository: file://../lib\n"}, "mem")
    assert chart.dependencies() == [{"name": "lib", "version": "1.x", "repository": "file://../lib"}]
