"""chart_mirror against real services: a loopback HTTP chart repository, the testbed's registries, the real helm.

The fixture chart `app` depends on a folder (file://), a chart vendored in charts/, a chart in
the HTTP repository, and (through its file:// dependency) a chart that the real `helm push`
put in the registry. The mirrored archive must render with `helm template` in a network
namespace with no network at all and empty Helm homes, and charts pushed by the module must
come back through the real `helm pull oci://`.
"""

import hashlib
import io
import json
import os
import shutil
import subprocess
import tarfile
import uuid

import pytest

from chart_repo_server import serving
from module_runner import run_module
from testbed import pki

pytestmark = pytest.mark.testbed

FIXTURES = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "fixtures", "charts")
REPO_USER, REPO_PASSWORD = "charts", "s3cret-chart-password"
SUBCHART_CONFIGMAPS = ("app-demo", "sidecar-demo", "metrics-demo", "vendored-demo", "cache-demo")


def sha256(path):
    with open(path, "rb") as handle:
        return "sha256:" + hashlib.sha256(handle.read()).hexdigest()


def archive_names(path):
    with tarfile.open(path) as tar:
        return sorted(tar.getnames())


def inner_archive_names(data):
    with tarfile.open(fileobj=io.BytesIO(data)) as tar:
        return sorted(tar.getnames())


def member(path, name):
    with tarfile.open(path) as tar:
        return tar.extractfile(name).read()


@pytest.fixture
def helm(testbed, tmp_path):
    """The real helm with empty config, cache and data homes: it knows no repository and no login."""
    homes = {key: str(tmp_path / "helm-home" / key.lower()) for key in ("HELM_CONFIG_HOME", "HELM_CACHE_HOME", "HELM_DATA_HOME")}
    env = dict(os.environ, **homes)

    def run(*args, offline=False):
        argv = [testbed.helm, *args]
        if offline:
            argv = ["unshare", "--net", "--", *argv]  # a new network namespace: not even loopback is up
        completed = subprocess.run(argv, capture_output=True, text=True, env=env, timeout=120, check=False)
        assert completed.returncode == 0, f"helm {' '.join(args)} failed:\n{completed.stderr}"
        return completed.stdout
    return run


def copy_fixture(name, target, replacements):
    shutil.copytree(os.path.join(FIXTURES, name), target)
    chart_yaml = os.path.join(target, "Chart.yaml")
    with open(chart_yaml, encoding="utf-8") as handle:
        text = handle.read()
    for old, new in replacements.items():
        text = text.replace(old, new)
    with open(chart_yaml, "w", encoding="utf-8") as handle:
        handle.write(text)


@pytest.fixture
def chart_repo(helm, tmp_path):
    """cache 0.1.0, 0.2.0 and 0.3.0-rc.1 made by helm package and indexed by helm repo index, behind Basic auth."""
    folder = tmp_path / "repo"
    folder.mkdir()
    for version in ("0.1.0", "0.2.0", "0.3.0-rc.1"):
        copy_fixture("cache", tmp_path / f"cache-{version}", {"version: 0.2.0": f"version: {version}"})
        helm("package", str(tmp_path / f"cache-{version}"), "-d", str(folder))
    helm("repo", "index", str(folder))
    with serving(folder, REPO_USER, REPO_PASSWORD) as (url, seen):
        yield {"url": url, "folder": folder, "seen": seen}


@pytest.fixture
def oci_charts(testbed, helm, tmp_path):
    """metrics 0.5.0 pushed by the real helm to the public registry under charts/ (a unique path per test)."""
    location = f"oci://{testbed.public_registry}/charts-{uuid.uuid4().hex[:8]}"
    helm("package", os.path.join(FIXTURES, "metrics"), "-d", str(tmp_path / "packaged"))
    packaged = str(tmp_path / "packaged" / "metrics-0.5.0.tgz")
    helm("push", packaged, location, "--plain-http")
    return {"location": location, "packaged": packaged}


@pytest.fixture
def app_source(tmp_path, chart_repo, oci_charts):
    """app and sidecar as folders whose Chart.yaml point at this test's repository and registry."""
    source = tmp_path / "src"
    copy_fixture("app", source / "app", {"http://chart-repo.invalid": chart_repo["url"]})
    copy_fixture("sidecar", source / "sidecar", {"oci://oci-registry.invalid/charts": oci_charts["location"]})
    (source / "app" / "notes").mkdir()
    (source / "app" / "notes" / "todo.txt").write_text("never shipped: .helmignore says notes/\n")
    (source / "app" / "values.yaml.swp").write_text("never shipped: .helmignore says *.swp\n")
    return source


@pytest.fixture
def source_settings(testbed, chart_repo):
    return {
        "repositories": [{"url": chart_repo["url"], "username": REPO_USER, "password": REPO_PASSWORD}],
        "registries": [{"host": testbed.public_registry, "insecure": True}],
    }


def test_every_dependency_travels_inside_and_helm_templates_with_no_network(helm, app_source, source_settings, tmp_path):
    bundle = tmp_path / "bundle"
    args = dict(source_settings, charts=[{"path": str(app_source / "app")}], dest=str(bundle / "charts"),
                lock_file=str(bundle / "airlock.lock.json"))

    planned = run_module("chart_mirror", args, check_mode=True)
    assert not planned.get("failed"), planned.get("msg")
    assert planned["changed"] and not bundle.exists()

    first = run_module("chart_mirror", args)
    assert not first.get("failed"), first.get("msg")
    assert first["changed"]
    archive = bundle / "charts" / "app-1.0.0.tgz"
    names = archive_names(archive)
    assert "app/charts/sidecar-0.3.0.tgz" in names and "app/charts/cache-0.2.0.tgz" in names
    assert "app/charts/vendored/Chart.yaml" in names
    assert not [n for n in names if "notes/" in n or n.endswith(".swp")]
    assert "sidecar/charts/metrics-0.5.0.tgz" in inner_archive_names(member(archive, "app/charts/sidecar-0.3.0.tgz"))
    tree = {d["name"]: d for d in first["charts"][0]["dependencies"]}
    assert tree["cache"]["version"] == "0.2.0"  # the highest allowed by >=0.1.0 <1.0.0; 0.3.0-rc.1 is a prerelease
    assert tree["sidecar"]["dependencies"][0]["name"] == "metrics"

    rendered = helm("template", "demo", str(archive), offline=True)
    for name in SUBCHART_CONFIGMAPS:
        assert f"name: \"{name}\"\n" in rendered, f"{name} missing from the offline render:\n{rendered}"

    with open(bundle / "airlock.lock.json", encoding="utf-8") as handle:
        locked = json.load(handle)["charts"]
    assert [(c["name"], c["version"], c["file"], c["digest"]) for c in locked] == \
        [("app", "1.0.0", "charts/app-1.0.0.tgz", sha256(archive))]

    written_at = os.stat(archive).st_mtime_ns
    again = run_module("chart_mirror", args)
    assert not again.get("failed"), again.get("msg")
    assert again["changed"] is False
    assert os.stat(archive).st_mtime_ns == written_at
    assert sorted(os.listdir(bundle / "charts")) == ["app-1.0.0.tgz"]


def test_a_repository_chart_is_chosen_by_constraint_and_kept_byte_for_byte(chart_repo, source_settings, tmp_path):
    dest = tmp_path / "charts"
    result = run_module("chart_mirror", dict(source_settings, dest=str(dest), charts=[
        {"name": "cache", "repo": chart_repo["url"], "version": "~0.1"},
        {"name": "cache", "repo": chart_repo["url"]},
    ]))
    assert not result.get("failed"), result.get("msg")
    assert sorted(os.listdir(dest)) == ["cache-0.1.0.tgz", "cache-0.2.0.tgz"]  # no version: newest release, not the rc
    for version in ("0.1.0", "0.2.0"):
        assert sha256(dest / f"cache-{version}.tgz") == sha256(chart_repo["folder"] / f"cache-{version}.tgz")
    assert all(c["digest"] == c["source_digest"] for c in result["charts"])
    assert REPO_PASSWORD not in result["_stdout"]


def test_an_archive_that_does_not_match_the_index_is_refused_and_nothing_is_left(chart_repo, source_settings, tmp_path):
    shutil.copyfile(chart_repo["folder"] / "cache-0.1.0.tgz", chart_repo["folder"] / "cache-0.2.0.tgz")
    dest = tmp_path / "charts"
    result = run_module("chart_mirror", dict(source_settings, dest=str(dest),
                                             charts=[{"name": "cache", "repo": chart_repo["url"], "version": "0.2.0"}]))
    assert result.get("failed")
    assert "cache-0.2.0.tgz" in result["msg"] and "index" in result["msg"] and "nothing was written" in result["msg"]
    assert not dest.exists() or not os.listdir(dest)


def test_repository_credentials_missing_or_wrong_are_named(chart_repo, tmp_path):
    chart = [{"name": "cache", "repo": chart_repo["url"], "version": "0.2.0"}]
    missing = run_module("chart_mirror", {"charts": chart, "dest": str(tmp_path / "a")})
    assert missing.get("failed") and "needs credentials" in missing["msg"]
    wrong = run_module("chart_mirror", {"charts": chart, "dest": str(tmp_path / "b"),
                                        "repositories": [{"url": chart_repo["url"], "username": REPO_USER, "password": "wrong"}]})
    assert wrong.get("failed") and "credentials were refused" in wrong["msg"]
    assert "wrong" not in wrong["msg"]


def test_credentials_stay_with_the_repository_unless_passed_on(helm, chart_repo, tmp_path):
    folder = tmp_path / "split"
    folder.mkdir()
    shutil.copyfile(chart_repo["folder"] / "cache-0.2.0.tgz", folder / "cache-0.2.0.tgz")
    with serving(folder) as (archive_host, archive_requests):
        helm("repo", "index", str(folder), "--url", archive_host)  # the index points archives at another origin
        with serving(folder, REPO_USER, REPO_PASSWORD) as (index_host, _index_requests):
            for pass_credentials, dest in ((False, "kept"), (True, "passed")):
                result = run_module("chart_mirror", {
                    "charts": [{"name": "cache", "repo": index_host, "version": "0.2.0"}], "dest": str(tmp_path / dest),
                    "repositories": [{"url": index_host, "username": REPO_USER, "password": REPO_PASSWORD,
                                      "pass_credentials": pass_credentials}]})
                assert not result.get("failed"), result.get("msg")
    assert [(path, authorization is not None) for path, authorization in archive_requests] == \
        [("/cache-0.2.0.tgz", False), ("/cache-0.2.0.tgz", True)]


def test_an_https_repository_is_verified_against_the_ca_given(chart_repo, tmp_path):
    tls = pki.make_ca_and_server_cert(str(tmp_path / "tls"))
    chart = [{"name": "cache", "repo": None, "version": "0.2.0"}]
    with serving(chart_repo["folder"], tls=(tls["server.crt"], tls["server.key"])) as (url, _seen):
        chart[0]["repo"] = url
        unverified = run_module("chart_mirror", {"charts": chart, "dest": str(tmp_path / "a")})
        verified = run_module("chart_mirror", {"charts": chart, "dest": str(tmp_path / "b"),
                                               "repositories": [{"url": url, "ca_file": tls["ca.crt"]}]})
    assert unverified.get("failed") and "TLS verification" in unverified["msg"] and "ca_file" in unverified["msg"]
    assert not verified.get("failed"), verified.get("msg")
    assert sha256(tmp_path / "b" / "cache-0.2.0.tgz") == sha256(chart_repo["folder"] / "cache-0.2.0.tgz")


def test_a_chart_helm_pushed_comes_back_byte_for_byte(oci_charts, source_settings, tmp_path):
    dest = tmp_path / "charts"
    result = run_module("chart_mirror", dict(source_settings, dest=str(dest),
                                             charts=[{"name": "metrics", "repo": oci_charts["location"], "version": "0.5.0"}]))
    assert not result.get("failed"), result.get("msg")
    assert sha256(dest / "metrics-0.5.0.tgz") == sha256(oci_charts["packaged"])

    ranged = run_module("chart_mirror", dict(source_settings, dest=str(tmp_path / "ranged"),
                                             charts=[{"name": "metrics", "repo": oci_charts["location"], "version": "~0.5"}]))
    assert not ranged.get("failed"), ranged.get("msg")
    assert sha256(tmp_path / "ranged" / "metrics-0.5.0.tgz") == sha256(oci_charts["packaged"]), "a range is chosen from the tags"
    missing = run_module("chart_mirror", dict(source_settings, dest=str(tmp_path / "none"),
                                              charts=[{"name": "metrics", "repo": oci_charts["location"], "version": "^1"}]))
    assert missing["failed"] and "no tag satisfies '^1'" in missing["msg"] and "0.5.0" in missing["msg"]


def test_pushed_charts_are_what_helm_pull_oci_reads(testbed, helm, app_source, source_settings, private_registry_settings, tmp_path):
    charts = tmp_path / "bundle" / "charts"
    mirrored = run_module("chart_mirror", dict(source_settings, charts=[{"path": str(app_source / "app")}], dest=str(charts)))
    assert not mirrored.get("failed"), mirrored.get("msg")
    provenance = "-----BEGIN PGP SIGNED MESSAGE-----\nstand-in: helm pull --prov saves what was pushed\n"
    (charts / "app-1.0.0.tgz.prov").write_text(provenance)
    targets = [
        (f"oci://{testbed.private_registry}/enclave/charts", [private_registry_settings],
         ["--ca-file", testbed.private_ca, "--username", testbed.private_user, "--password", testbed.private_password]),
        (f"oci://{testbed.public_registry}/plain-{uuid.uuid4().hex[:8]}/charts",
         [{"host": testbed.public_registry, "insecure": True}], ["--plain-http"]),
    ]
    for destination, registries, helm_flags in targets:
        args = {"state": "pushed", "dest": str(charts), "destination": destination, "registries": registries}
        planned = run_module("chart_mirror", args, check_mode=True)
        assert not planned.get("failed"), planned.get("msg")
        pushed = run_module("chart_mirror", args)
        assert not pushed.get("failed"), pushed.get("msg")
        assert planned["changed"] and pushed["changed"]  # check mode pushed nothing: the real run still had work
        assert [c["reference"] for c in pushed["charts"]] == [f"{destination}/app:1.0.0"]
        pulled = tmp_path / "pulled" / hashlib.sha256(destination.encode()).hexdigest()[:8]
        pulled.mkdir(parents=True)
        helm("pull", f"{destination}/app", "--version", "1.0.0", "--prov", "-d", str(pulled), *helm_flags)
        assert sha256(pulled / "app-1.0.0.tgz") == sha256(charts / "app-1.0.0.tgz")
        assert (pulled / "app-1.0.0.tgz.prov").read_text() == provenance
        rendered = helm("template", "demo", str(pulled / "app-1.0.0.tgz"), offline=True)
        assert all(f"name: \"{name}\"\n" in rendered for name in SUBCHART_CONFIGMAPS)
        again = run_module("chart_mirror", args)
        assert not again.get("failed"), again.get("msg")
        assert again["changed"] is False and again["charts"][0]["digest"] == pushed["charts"][0]["digest"]


def test_a_tar_entry_escaping_the_chart_is_refused(tmp_path):
    crafted = tmp_path / "evil-0.1.0.tgz"
    with tarfile.open(crafted, "w:gz") as tar:
        for name, data in (("evil/Chart.yaml", b"apiVersion: v2\nname: evil\nversion: 0.1.0\n"), ("evil/../../escaped", b"x")):
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    dest = tmp_path / "charts"
    result = run_module("chart_mirror", {"charts": [{"path": str(crafted)}], "dest": str(dest)})
    assert result.get("failed") and "evil/../../escaped" in result["msg"] and "escapes" in result["msg"]
    assert not dest.exists()


def test_one_copy_of_a_dependency_serves_all_its_aliases(helm, chart_repo, source_settings, tmp_path):
    parent = tmp_path / "src" / "parent"
    copy_fixture("cache", parent, {"name: cache": "name: parent", "version: 0.2.0": "version: 1.0.0"})
    with open(parent / "Chart.yaml", "a", encoding="utf-8") as handle:
        handle.write(f"dependencies:\n"
                     f"  - name: cache\n    alias: first\n    version: \">=0.1.0 <1.0.0\"\n    repository: {chart_repo['url']}\n"
                     f"  - name: cache\n    alias: second\n    version: 0.2.x\n    repository: {chart_repo['url']}\n")
    dest = tmp_path / "bundle" / "charts"
    result = run_module("chart_mirror", dict(source_settings, charts=[{"path": str(parent)}], dest=str(dest)))
    assert not result.get("failed"), result.get("msg")
    archive = dest / "parent-1.0.0.tgz"
    assert archive_names(archive) == ["parent/Chart.yaml", "parent/charts/cache-0.2.0.tgz", "parent/templates/configmap.yaml"]
    assert [path for path, _authorization in chart_repo["seen"] if path.endswith(".tgz")] == ["/cache-0.2.0.tgz"]
    rendered = helm("template", "demo", str(archive), offline=True)
    assert all(f"name: \"{name}-demo\"\n" in rendered for name in ("parent", "first", "second")), rendered

    # The mirrored archive carries cache once: mirrored again with no repository access, both aliases find it.
    again = run_module("chart_mirror", {"charts": [{"path": str(archive)}], "dest": str(tmp_path / "again")})
    assert not again.get("failed"), again.get("msg")
    assert sha256(tmp_path / "again" / "parent-1.0.0.tgz") == sha256(archive)
    assert [d["name"] for d in again["charts"][0]["dependencies"]] == ["cache"]


def test_an_index_listing_another_version_than_the_archive_holds_is_refused(helm, chart_repo, tmp_path):
    folder = tmp_path / "lying"
    folder.mkdir()
    shutil.copyfile(chart_repo["folder"] / "cache-0.2.0.tgz", folder / "cache-0.2.0.tgz")
    helm("repo", "index", str(folder))
    index = (folder / "index.yaml").read_text(encoding="utf-8")
    assert "version: 0.2.0" in index
    (folder / "index.yaml").write_text(index.replace("version: 0.2.0", "version: 9.0.0"), encoding="utf-8")
    dest = tmp_path / "charts"
    with serving(folder) as (url, _seen):
        result = run_module("chart_mirror", {"charts": [{"name": "cache", "repo": url, "version": "9.0.0"}], "dest": str(dest)})
    assert result.get("failed") and "holds cache 0.2.0" in result["msg"] and "as version 9.0.0" in result["msg"]
    assert not dest.exists() or not os.listdir(dest)


def test_a_chart_versioned_with_a_v_is_pulled_by_its_own_tag(testbed, helm, source_settings, tmp_path):
    location = f"oci://{testbed.public_registry}/vtag-{uuid.uuid4().hex[:8]}"
    copy_fixture("metrics", tmp_path / "metrics", {"version: 0.5.0": "version: v0.6.0"})
    helm("package", str(tmp_path / "metrics"), "-d", str(tmp_path / "packaged"))
    packaged = tmp_path / "packaged" / "metrics-v0.6.0.tgz"
    helm("push", str(packaged), location, "--plain-http")
    dest = tmp_path / "charts"
    result = run_module("chart_mirror", dict(source_settings, dest=str(dest),
                                             charts=[{"name": "metrics", "repo": location, "version": "v0.6.0"}]))
    assert not result.get("failed"), result.get("msg")
    assert result["charts"][0]["source"] == f"{location}/metrics:v0.6.0"
    assert sha256(dest / "metrics-v0.6.0.tgz") == sha256(packaged)
