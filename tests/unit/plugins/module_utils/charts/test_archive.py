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


def test_a_relative_symlink_inside_the_chart_is_refused_too():
    with pytest.raises(ChartError, match="refusing tar entry 'demo/values.yaml': a link in a chart archive"):
        archive.from_archive_bytes(tgz([("demo/Chart.yaml", CHART_YAML), ("demo/values.yaml", None, "Chart.yaml")]), "evil.tgz")


@pytest.mark.parametrize("target", ["demo/Chart.yaml", "/etc/shadow", "../../etc/shadow"])
def test_hardlinks_in_an_archive_are_refused_wherever_they_point(target):
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        info = tarfile.TarInfo("demo/Chart.yaml")
        info.size = len(CHART_YAML)
        tar.addfile(info, io.BytesIO(CHART_YAML))
        link = tarfile.TarInfo("demo/values.yaml")
        link.type, link.linkname = tarfile.LNKTYPE, target
        tar.addfile(link)
    with pytest.raises(ChartError, match="refusing tar entry 'demo/values.yaml': a link in a chart archive"):
        archive.from_archive_bytes(buffer.getvalue(), "evil.tgz")


@pytest.mark.parametrize("kind", [tarfile.FIFOTYPE, tarfile.CHRTYPE, tarfile.BLKTYPE])
def test_devices_and_fifos_in_an_archive_are_refused(kind):
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        info = tarfile.TarInfo("demo/Chart.yaml")
        info.size = len(CHART_YAML)
        tar.addfile(info, io.BytesIO(CHART_YAML))
        special = tarfile.TarInfo("demo/dev")
        special.type = kind
        tar.addfile(special)
    with pytest.raises(ChartError, match="a special file in a chart archive"):
        archive.from_archive_bytes(buffer.getvalue(), "evil.tgz")


@pytest.mark.parametrize("version", ["1.0.0/../../../../tmp/pwned", "../../x", "1.0.0/x", "'1.0.0\\n'", "'1.0.0 '", "latest",
                                     "1..0", "1.0.0-", "1.0.0+", "1.0.0-a..b", "[1]", "true", "{a: 1}", "\u0661.\u0662.\u0663"])
def test_a_version_that_is_not_semver_is_refused(version):
    """Chart.yaml's version becomes a file name (<name>-<version>.tgz) and an OCI tag: a '/' must never pass."""
    chart_yaml = f"apiVersion: v2\nname: demo\nversion: {version}\n".encode()
    with pytest.raises(ChartError, match="is not a semantic version"):
        archive.from_archive_bytes(tgz([("demo/Chart.yaml", chart_yaml)]), "evil.tgz")


@pytest.mark.parametrize("version, expected", [("'1.2.3'", "1.2.3"), ("v1.2.3", "v1.2.3"), ("1.2.3-rc.1+build.4", "1.2.3-rc.1+build.4"),
                                               ("1.2", "1.2"), ("1.0", "1.0"), ("2", "2"), ("0.0.0-alpha-1", "0.0.0-alpha-1")])
def test_versions_helm_accepts_are_kept(version, expected):
    chart = archive.from_files({"Chart.yaml": f"apiVersion: v2\nname: demo\nversion: {version}\n".encode()}, "mem")
    assert chart.version == expected
    assert chart.archive_name == f"demo-{expected}.tgz"


@pytest.mark.parametrize("name", ["../evil", "a/b", "'..'", "'.'", "a b", "a$b", "'a\\nb'", "\u00fcn\u00efcode", "[x]", "123"])
def test_a_name_helm_would_not_create_is_refused(name):
    with pytest.raises(ChartError, match="not a valid chart name"):
        archive.from_files({"Chart.yaml": f"apiVersion: v2\nname: {name}\nversion: 1.0.0\n".encode()}, "mem")


@pytest.mark.parametrize("name", ["demo", "My_Chart.v2", "a-b", "x..y"])
def test_names_helm_allows_are_kept(name):
    assert archive.from_files({"Chart.yaml": f"apiVersion: v2\nname: {name}\nversion: 1.0.0\n".encode()}, "mem").name == name


def test_a_file_over_helms_limit_is_refused_by_name_from_an_archive_and_a_folder(tmp_path):
    big = b"x" * (archive.MAX_FILE_BYTES + 1)
    with pytest.raises(ChartError, match=f"refusing demo/files/big.bin: .* over Helm's limit of {archive.MAX_FILE_BYTES} bytes"):
        archive.from_archive_bytes(tgz([("demo/Chart.yaml", CHART_YAML), ("demo/files/big.bin", big)]), "big.tgz")
    write_chart(tmp_path / "demo", {"Chart.yaml": CHART_YAML, "files/big.bin": big})
    with pytest.raises(ChartError, match=f"refusing files/big.bin: .* over Helm's limit of {archive.MAX_FILE_BYTES} bytes"):
        archive.from_folder(str(tmp_path / "demo"))
