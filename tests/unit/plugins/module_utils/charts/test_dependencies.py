"""Charts made self-contained from local sources: file:// folders and vendored charts, no network."""

import io
import os
import tarfile

import pytest

from ansible_collections.airlock.airgap.plugins.module_utils.charts import archive, dependencies, sources
from ansible_collections.airlock.airgap.plugins.module_utils.charts.errors import ChartError


class NoNetwork:
    """A fetcher for charts that must not need one: any remote dependency is a test failure."""

    def remote(self, repository, name, constraint):
        raise AssertionError(f"{name} from {repository} ({constraint}) should not have been fetched")


def write(root, files):
    for relative, text in files.items():
        path = os.path.join(root, relative)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "w", encoding="utf-8") as handle:
            handle.write(text)


def chart_yaml(name, version, dependencies_yaml=""):
    return f"apiVersion: v2\nname: {name}\nversion: {version}\n" + (f"dependencies:\n{dependencies_yaml}" if dependencies_yaml else "")


def names_in(data):
    with tarfile.open(fileobj=io.BytesIO(data)) as tar:
        return sorted(tar.getnames())


def test_file_dependencies_are_packed_into_charts_down_the_tree(tmp_path):
    write(tmp_path / "app", {"Chart.yaml": chart_yaml("app", "1.0.0", "- name: mid\n  version: ^0.1.0\n  repository: file://../mid\n")})
    write(tmp_path / "mid", {"Chart.yaml": chart_yaml("mid", "0.1.5", "- name: leaf\n  version: 2.x\n  repository: file://../leaf\n")})
    write(tmp_path / "leaf", {"Chart.yaml": chart_yaml("leaf", "2.4.0"), "templates/cm.yaml": "kind: ConfigMap\n"})
    completed = dependencies.complete(sources.local(str(tmp_path / "app")), NoNetwork())
    assert completed.added
    assert names_in(completed.data) == ["app/Chart.yaml", "app/charts/mid-0.1.5.tgz"]
    mid = archive.from_archive_bytes(completed.data, "app").files["charts/mid-0.1.5.tgz"]
    assert "mid/charts/leaf-2.4.0.tgz" in names_in(mid)
    assert completed.dependencies == [{"name": "mid", "version": "0.1.5", "source": str(tmp_path / "mid"), "dependencies": [
        {"name": "leaf", "version": "2.4.0", "source": str(tmp_path / "leaf"), "dependencies": []}]}]


def test_a_complete_archive_keeps_its_bytes(tmp_path):
    write(tmp_path / "app", {"Chart.yaml": chart_yaml("app", "1.0.0", "- name: lib\n  version: 1.0.0\n"),
                             "charts/lib/Chart.yaml": chart_yaml("lib", "1.0.0")})
    packed = archive.pack(archive.from_folder(str(tmp_path / "app")))
    (tmp_path / "app-1.0.0.tgz").write_bytes(packed)
    completed = dependencies.complete(sources.local(str(tmp_path / "app-1.0.0.tgz")), NoNetwork())
    assert not completed.added and completed.data == packed
    assert completed.dependencies == [{"name": "lib", "version": "1.0.0", "source": "vendored", "dependencies": []}]


def test_a_stale_vendored_chart_is_refused(tmp_path):
    write(tmp_path / "app", {"Chart.yaml": chart_yaml("app", "1.0.0", "- name: lib\n  version: ^2.0.0\n"),
                             "charts/lib/Chart.yaml": chart_yaml("lib", "1.0.0")})
    with pytest.raises(ChartError, match="charts/lib is lib 1.0.0, but Chart.yaml asks for '\\^2.0.0'"):
        dependencies.complete(sources.local(str(tmp_path / "app")), NoNetwork())


def test_a_file_dependency_an_archive_does_not_carry_is_named(tmp_path):
    write(tmp_path / "app", {"Chart.yaml": chart_yaml("app", "1.0.0", "- name: lib\n  version: 1.0.0\n  repository: file://../lib\n")})
    (tmp_path / "app-1.0.0.tgz").write_bytes(archive.pack(archive.from_folder(str(tmp_path / "app"))))
    with pytest.raises(ChartError, match="give the parent chart as a folder"):
        dependencies.complete(sources.local(str(tmp_path / "app-1.0.0.tgz")), NoNetwork())


def test_a_dependency_with_no_repository_and_no_copy_is_named(tmp_path):
    write(tmp_path / "app", {"Chart.yaml": chart_yaml("app", "1.0.0", "- name: lib\n  version: 1.0.0\n")})
    with pytest.raises(ChartError, match="names no repository and is not in charts/"):
        dependencies.complete(sources.local(str(tmp_path / "app")), NoNetwork())


def test_repository_aliases_are_refused_with_the_fix():
    with pytest.raises(ChartError, match="give the URL itself"):
        sources.Sources(None, None).remote("@bitnami", "redis", "^18")


def test_a_cycle_stops_at_the_depth_limit(tmp_path):
    write(tmp_path / "a", {"Chart.yaml": chart_yaml("a", "1.0.0", "- name: b\n  version: 1.0.0\n  repository: file://../b\n")})
    write(tmp_path / "b", {"Chart.yaml": chart_yaml("b", "1.0.0", "- name: a\n  version: 1.0.0\n  repository: file://../a\n")})
    with pytest.raises(ChartError, match="deeper than"):
        dependencies.complete(sources.local(str(tmp_path / "a")), NoNetwork())


class Counting:
    """A fetcher serving charts from memory, counting what it was asked for."""

    def __init__(self, charts):
        self.charts = charts
        self.asked = []

    def remote(self, repository, name, constraint):
        self.asked.append((name, constraint))
        data = self.charts[name]
        return sources.Obtained(archive.from_archive_bytes(data, name), data, f"{repository}/{name}", None)


ALIASES = ("- name: redis\n  alias: cache\n  version: ^1.0.0\n  repository: {repo}\n"
           "- name: redis\n  alias: queue\n  version: 1.x\n  repository: {repo}\n")


def app_archive(tmp_path, dependencies_yaml, vendored):
    """app-1.0.0.tgz with these dependencies declared and these charts already in charts/ (name, version)."""
    write(tmp_path / "app", {"Chart.yaml": chart_yaml("app", "1.0.0", dependencies_yaml)})
    for name, version in vendored:
        write(tmp_path / "sub", {"Chart.yaml": chart_yaml(name, version)})
        (tmp_path / "app" / "charts").mkdir(exist_ok=True)
        (tmp_path / "app" / "charts" / f"{name}-{version}.tgz").write_bytes(archive.pack(archive.from_folder(str(tmp_path / "sub"))))
    data = archive.pack(archive.from_folder(str(tmp_path / "app")))
    (tmp_path / "app-1.0.0.tgz").write_bytes(data)
    return sources.local(str(tmp_path / "app-1.0.0.tgz")), data


@pytest.mark.parametrize("repo", ["https://charts.test", "file://../redis"])
def test_one_vendored_chart_serves_every_alias_of_it(tmp_path, repo):
    obtained, data = app_archive(tmp_path, ALIASES.format(repo=repo), [("redis", "1.2.0")])
    completed = dependencies.complete(obtained, NoNetwork())
    assert not completed.added and completed.data == data
    assert completed.dependencies == [{"name": "redis", "version": "1.2.0", "source": "vendored", "dependencies": []}]


def test_a_dependency_fetched_for_one_alias_serves_the_next(tmp_path):
    obtained, _data = app_archive(tmp_path, ALIASES.format(repo="https://charts.test"), [])
    redis = archive.pack(archive.from_files({"Chart.yaml": chart_yaml("redis", "1.4.0").encode()}, "mem"))
    fetcher = Counting({"redis": redis})
    completed = dependencies.complete(obtained, fetcher)
    assert fetcher.asked == [("redis", "^1.0.0")]
    assert names_in(completed.data) == ["app/Chart.yaml", "app/charts/redis-1.4.0.tgz"]
    assert [d["version"] for d in completed.dependencies] == ["1.4.0"]


def test_aliases_asking_different_versions_each_get_the_vendored_copy_they_allow(tmp_path):
    declared = ("- name: redis\n  alias: old\n  version: ~1.0.0\n  repository: https://charts.test\n"
                "- name: redis\n  alias: new\n  version: ^2.0.0\n  repository: https://charts.test\n")
    obtained, data = app_archive(tmp_path, declared, [("redis", "1.0.3"), ("redis", "2.1.0")])
    completed = dependencies.complete(obtained, NoNetwork())
    assert not completed.added and completed.data == data
    assert [d["version"] for d in completed.dependencies] == ["1.0.3", "2.1.0"]


def test_an_alias_no_vendored_copy_allows_is_still_a_stale_copy(tmp_path):
    declared = "- name: redis\n  alias: cache\n  version: ^3.0.0\n  repository: https://charts.test\n"
    obtained, _data = app_archive(tmp_path, declared, [("redis", "1.0.3"), ("redis", "2.1.0")])
    with pytest.raises(ChartError, match="charts/redis-1.0.3.tgz is redis 1.0.3, but Chart.yaml asks for '\\^3.0.0'"):
        dependencies.complete(obtained, NoNetwork())
