"""image_inventory on fixture charts, manifests and a Compose project, against what the vendors' grep finds.

The vendor guides say: `helm template … | grep -oE 'image:.*' | sort -u`. Each test runs that
exact pipeline on the same input and asserts what it misses, so the comparison cannot quietly
become equal.
"""

import json
import os
import socket
import subprocess
import sys
import time
import urllib.request

import pytest

from module_runner import run_module

from ansible_collections.airlock.airgap.plugins.module_utils.oci import reference

pytestmark = pytest.mark.testbed

FIXTURES = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "fixtures", "inventory")
PLATFORM = os.path.join(FIXTURES, "charts", "platform")
COMPOSE = os.path.join(FIXTURES, "compose")
WORKER_DIGEST = "sha256:87eba76e7f3164534045ba922e7770fb58bbd14ad732bbf5ba6f11cc56989e6e"

PLATFORM_DIRECT = {
    "quay.io/acme/api:2.3.1",                                  # split registry/repository/tag
    f"ghcr.io/acme/worker@{WORKER_DIGEST}",                    # quoted and digest-pinned
    "docker.io/acme/migrate:1.0",                              # init container
    "registry.example.com:5000/acme/operator:v0.9",            # registry port
    "docker.io/acme/lib:0.4",                                  # subchart
    "docker.io/library/nginx:1.25.4",                          # subchart sidecar, tag from the parent's values
    "docker.io/library/alpine:latest",                         # CronJob, bare name
    "docker.io/acme/agent:3.1",                                # custom resource behind a Capabilities gate
}
PLATFORM_INDIRECT = {
    "docker.io/envoyproxy/envoy:v1.30.1",                      # operator argument
    "docker.io/library/busybox:1.36",                          # env value
    "nvcr.io/nvidia/k8s/runner:24.01",                         # JSON in a ConfigMap
}
COMPOSE_DIRECT = {
    "quay.io/acme/api:2.4.0",                                  # ${REGISTRY} from the wrapper, ${API_TAG} from .env
    "docker.io/library/redis:7.2@sha256:5fb8a9b5a4d8fb8d5d3e11e1b2ef6a7ce1b7d2e6c5b4a3f2e1d0c9b8a7f6e5d4",
    "nvcr.io/nvidia/tritonserver:24.08-py3",                   # profile gpu, ${TRITON_VERSION-…} from a sourced file
    "docker.io/library/busybox:latest",                        # profile debug
}
COMPOSE_INDIRECT = {"quay.io/acme/sandbox:5.0", "ghcr.io/acme/fetcher:0.7"}


def naive_grep(command, cwd=None):
    """The vendor guides' pipeline, verbatim: its unique `image:` lines."""
    completed = subprocess.run(["bash", "-o", "pipefail", "-c", f"{command} | grep -oE 'image:.*' | sort -u"],
                               capture_output=True, text=True, check=True, cwd=cwd, timeout=120)
    return completed.stdout.splitlines()


def as_images(lines):
    """The grep's lines read as generously as possible: quotes stripped, normalised when they parse at all."""
    images = set()
    for line in lines:
        text = line[len("image:"):].strip().strip("'\"")
        try:
            images.add(str(reference.parse(text)))
        except reference.InvalidReference:
            images.add(text)
    return images


def found(result):
    assert not result.get("failed"), result.get("msg")
    return {e["image"] for e in result["images"]}, {e["image"] for e in result["indirect"]}


def test_platform_chart_every_trap_found_and_what_grep_gets_wrong(testbed):
    result = run_module("image_inventory", {"charts": [{"chart": PLATFORM}], "helm_binary": testbed.helm})
    direct, indirect = found(result)
    assert direct == PLATFORM_DIRECT
    assert indirect == PLATFORM_INDIRECT
    assert result["gated_images"] == ["docker.io/acme/agent:3.1"]
    assert result["invalid"] == [] and result["parse_errors"] == []
    api = next(e for e in result["images"] if e["image"] == "quay.io/acme/api:2.3.1")
    assert api["sources"] == [{"file": "platform/templates/api.yaml", "object": "Deployment/release-api",
                               "path": "spec.template.spec.containers[0].image", "via": "container",
                               "written": "quay.io/acme/api:2.3.1", "confidence": "direct"}]
    runner = next(e for e in result["indirect"] if e["image"].startswith("nvcr.io"))
    assert runner["sources"][0]["path"] == "data.runner.json.image"

    grep = as_images(naive_grep(f"{testbed.helm} template release {PLATFORM}"))
    missed = (PLATFORM_DIRECT | PLATFORM_INDIRECT) - grep
    assert missed == PLATFORM_INDIRECT | {"docker.io/acme/agent:3.1"}
    assert grep - PLATFORM_DIRECT == {"ghcr.io/acme/api:1.0"}, "grep takes an annotation for an image"


def test_a_closed_capability_gate_is_reported_not_silent(testbed):
    chart = {"chart": PLATFORM}
    reported = run_module("image_inventory", {"charts": [chart], "helm_binary": testbed.helm, "capability_gates": "report"})
    direct, _indirect = found(reported)
    assert "docker.io/acme/agent:3.1" not in direct
    assert reported["capability_gates"] == [{"chart": PLATFORM, "api_version": "acme.io/v1", "passed": False,
                                             "templates": ["platform/templates/agent.yaml"]}]
    assert "acme.io/v1" in json.dumps(reported["warnings"])
    passed = run_module("image_inventory", {"charts": [dict(chart, api_versions=["acme.io/v1"])], "helm_binary": testbed.helm,
                                            "capability_gates": "report"})
    assert "docker.io/acme/agent:3.1" in found(passed)[0] and passed["gated_images"] == []


def test_packaged_chart_and_values_that_override_the_subchart(testbed, tmp_path):
    subprocess.run([testbed.helm, "package", PLATFORM, "--destination", str(tmp_path)], check=True, capture_output=True, timeout=60)
    archive = str(tmp_path / "platform-1.4.0.tgz")
    site = tmp_path / "site.yaml"
    site.write_text("sidecar-lib:\n  proxy:\n    tag: '1.27.0'\nimage:\n  tag: '2.4.0'\n")
    result = run_module("image_inventory", {"charts": [{"chart": archive, "values_files": [str(site)],
                                                        "values": {"migrate.image.tag": "1.1"}}], "helm_binary": testbed.helm})
    direct, _indirect = found(result)
    assert {"docker.io/library/nginx:1.27.0", "quay.io/acme/api:2.4.0", "docker.io/acme/migrate:1.1"} <= direct
    assert "docker.io/library/nginx:1.25.4" not in direct and result["gated_images"] == ["docker.io/acme/agent:3.1"]
    # The subchart's own values file names a proxy that no release of this chart runs.
    values_only = run_module("image_inventory", {"values_files": [os.path.join(PLATFORM, "charts", "sidecar-lib", "values.yaml")]})
    assert found(values_only)[0] == {"docker.io/library/nginx:1.25.0", "docker.io/acme/lib:0.4"}


def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_for(url, attempts=50):
    for _attempt in range(attempts):
        try:
            with urllib.request.urlopen(url, timeout=2):
                return
        except OSError:
            time.sleep(0.1)
    raise AssertionError(f"{url} never answered")


def test_charts_from_an_oci_registry_and_an_http_repository(testbed, tmp_path, monkeypatch):
    for variable in ("HELM_CACHE_HOME", "HELM_CONFIG_HOME", "HELM_DATA_HOME"):
        monkeypatch.setenv(variable, str(tmp_path / variable.lower()))
    repository = tmp_path / "repository"
    subprocess.run([testbed.helm, "package", PLATFORM, "--destination", str(repository)], check=True, capture_output=True, timeout=60)
    subprocess.run([testbed.helm, "push", str(repository / "platform-1.4.0.tgz"), f"oci://{testbed.public_registry}/charts", "--plain-http"],
                   check=True, capture_output=True, timeout=60)
    oci = run_module("image_inventory", {"helm_binary": testbed.helm, "charts": [
        {"chart": f"oci://{testbed.public_registry}/charts/platform", "version": "1.4.0", "plain_http": True}]})
    assert found(oci) == (PLATFORM_DIRECT, PLATFORM_INDIRECT)

    url = f"http://127.0.0.1:{free_port()}"
    subprocess.run([testbed.helm, "repo", "index", str(repository), "--url", url], check=True, capture_output=True, timeout=60)
    server = subprocess.Popen([sys.executable, "-m", "http.server", "--bind", "127.0.0.1", url.rsplit(":", 1)[1], "--directory", str(repository)],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_for(f"{url}/index.yaml")
        http = run_module("image_inventory", {"helm_binary": testbed.helm, "charts": [{"chart": "platform", "repo": url, "version": "1.4.0"}]})
    finally:
        server.terminate()
        server.wait(timeout=10)
    assert found(http) == (PLATFORM_DIRECT, PLATFORM_INDIRECT)
    missing = run_module("image_inventory", {"helm_binary": testbed.helm, "charts": [{"chart": "platform", "repo": url, "version": "9.9.9"}]})
    assert missing["failed"] and "helm pull of platform failed" in missing["msg"]


def logging_helm(testbed, tmp_path):
    """A helm that records every command line it is given (what /proc/*/cmdline would show) before running the real one."""
    log = tmp_path / "helm-argv.log"
    wrapper = tmp_path / "helm"
    wrapper.write_text(f'#!/bin/sh\nprintf "%s\\n" "$*" >> "{log}"\nexec "{testbed.helm}" "$@"\n')
    wrapper.chmod(0o755)
    return str(wrapper), log


def test_chart_credentials_never_go_on_a_command_line(testbed, tmp_path, monkeypatch, private_registry_settings):
    import chart_repo_server  # pylint: disable=import-outside-toplevel

    for variable in ("HELM_CACHE_HOME", "HELM_CONFIG_HOME", "HELM_DATA_HOME"):
        monkeypatch.setenv(variable, str(tmp_path / variable.lower()))
    helm, log = logging_helm(testbed, tmp_path)
    repository = tmp_path / "repository"
    subprocess.run([testbed.helm, "package", PLATFORM, "--destination", str(repository)], check=True, capture_output=True, timeout=60)

    password = "chart-repo-s3cret"
    with chart_repo_server.serving(repository, username="ci", password=password) as (url, seen):
        subprocess.run([testbed.helm, "repo", "index", str(repository), "--url", url], check=True, capture_output=True, timeout=60)
        http = run_module("image_inventory", {"helm_binary": helm, "charts": [
            {"chart": "platform", "repo": url, "version": "1.4.0", "username": "ci", "password": password}]})
        refused = run_module("image_inventory", {"helm_binary": helm, "charts": [
            {"chart": "platform", "repo": url, "version": "1.4.0", "username": "ci", "password": "wrong"}]})
    assert not http.get("failed"), http.get("msg")
    assert password not in log.read_text()
    assert found(http) == (PLATFORM_DIRECT, PLATFORM_INDIRECT)
    assert {path for path, authorization in seen if authorization} >= {"/index.yaml", "/platform-1.4.0.tgz"}
    assert refused["failed"] and "helm repo add" in refused["msg"] and "wrong" not in refused["msg"]

    registry = private_registry_settings
    login = subprocess.run([testbed.helm, "registry", "login", registry["host"], "--username", registry["username"], "--password-stdin",
                            "--ca-file", registry["ca_file"], "--registry-config", str(tmp_path / "push.json")],
                           input=registry["password"], capture_output=True, text=True, timeout=60, check=False)
    assert login.returncode == 0, login.stderr
    subprocess.run([testbed.helm, "push", str(repository / "platform-1.4.0.tgz"), f"oci://{registry['host']}/charts",
                    "--ca-file", registry["ca_file"], "--registry-config", str(tmp_path / "push.json")], check=True, capture_output=True, timeout=60)
    oci = run_module("image_inventory", {"helm_binary": helm, "charts": [
        {"chart": f"oci://{registry['host']}/charts/platform", "version": "1.4.0", "username": registry["username"],
         "password": registry["password"], "ca_file": registry["ca_file"]}]})
    assert not oci.get("failed"), oci.get("msg")
    assert found(oci) == (PLATFORM_DIRECT, PLATFORM_INDIRECT)

    command_lines = log.read_text()
    assert "registry login" in command_lines and "repo add" in command_lines
    assert password not in command_lines and registry["password"] not in command_lines
    configs = [words[words.index(flag) + 1] for words in map(str.split, command_lines.splitlines())
               for flag in ("--registry-config", "--repository-config") if flag in words]
    assert configs and not any(os.path.exists(path) for path in configs)


def test_manifests_ephemeral_containers_and_what_is_not_an_image():
    result = run_module("image_inventory", {"manifests": [os.path.join(FIXTURES, "manifests")]})
    direct, indirect = found(result)
    assert direct == {"quay.io/acme/api:2.3.1", "docker.io/nicolaka/netshoot:v0.13", "ghcr.io/acme/seed:1.2",
                      "localhost:5000/acme/node-agent@sha256:2c26b46b68ffc68ff99b453c1d30413413422d706483bfa0f98a5e886266e7ae",
                      "ghcr.io/acme/restic-check:0.16"}, "a backup repository is not an image"
    assert indirect == {"docker.io/acme/seed-helper:1.2"}, "redis:6379 is a host and port; a label or /etc/config:ro is not an image"
    assert result["parse_errors"] == []
    grep = as_images(naive_grep(f"cat {os.path.join(FIXTURES, 'manifests')}/*.yaml"))
    assert direct - grep == set() and indirect - grep == indirect


def test_a_document_no_yaml_loader_reads_still_gives_its_images(tmp_path):
    (tmp_path / "broken.yaml").write_text(
        "apiVersion: v1\nkind: Pod\nmetadata: {name: ok}\nspec:\n  containers:\n  - {name: a, image: 'alpine:3.20'}\n---\n"
        "apiVersion: v1\nkind: Pod\nspec:\n  containers:\n  - name: b\n    image: ghcr.io/acme/b:1\n   bad: [indent\n")
    result = run_module("image_inventory", {"manifests": [str(tmp_path)]})
    direct, _indirect = found(result)
    assert direct == {"docker.io/library/alpine:3.20", "ghcr.io/acme/b:1"}
    assert len(result["parse_errors"]) == 1 and result["parse_errors"][0]["document"] == 1


def test_a_document_after_an_end_marker_is_read(tmp_path):
    # YAML 1.2 (and Go's parser, as kubectl and helm read) allows a document after `...` without `---`; PyYAML does not.
    (tmp_path / "ended.yaml").write_text("apiVersion: v1\nkind: Pod\nmetadata: {name: a}\nspec: {containers: [{name: a, image: 'alpine:3.20'}]}\n"
                                         "...\napiVersion: v1\nkind: Pod\nmetadata: {name: b}\nspec: {containers: [{name: b, image: 'ghcr.io/acme/b:1'}]}\n")
    result = run_module("image_inventory", {"manifests": [str(tmp_path)]})
    assert found(result)[0] == {"docker.io/library/alpine:3.20", "ghcr.io/acme/b:1"}
    assert result["parse_errors"] == []


def test_compose_profiles_defaults_env_files_and_wrapper_script():
    project = {"files": [os.path.join(COMPOSE, "docker-compose.yml")], "scripts": [os.path.join(COMPOSE, "start.sh")]}
    result = run_module("image_inventory", {"compose": [dict(project, profiles=["*"])]})
    direct, indirect = found(result)
    assert direct == COMPOSE_DIRECT and indirect == COMPOSE_INDIRECT
    assert result["builds"] == [{"service": "builder", "file": project["files"][0]}]
    grep = naive_grep("cat docker-compose.yml", cwd=COMPOSE)
    assert grep == ["image: \"redis:7.2@sha256:5fb8a9b5a4d8fb8d5d3e11e1b2ef6a7ce1b7d2e6c5b4a3f2e1d0c9b8a7f6e5d4\"",
                    "image: ${REGISTRY:-ghcr.io}/acme/api:${API_TAG:-2.3.1}", "image: busybox",
                    "image: nvcr.io/nvidia/tritonserver:${TRITON_VERSION-24.05}-py3"]
    assert len(as_images(grep) & (COMPOSE_DIRECT | COMPOSE_INDIRECT)) == 2
    as_up_runs = run_module("image_inventory", {"compose": [project]})
    assert found(as_up_runs) == (COMPOSE_DIRECT - COMPOSE_PROFILED, {"quay.io/acme/sandbox:5.0"}), "no COMPOSE_PROFILES: no profiled service"
    assert {(e["image"], tuple(e["conditions"])) for e in as_up_runs["candidates"]} == {
        ("nvcr.io/nvidia/tritonserver:24.08-py3", ("profile gpu is active",)), ("ghcr.io/acme/fetcher:0.7", ("profile gpu is active",)),
        ("docker.io/library/busybox:latest", ("profile debug is active",))}
    default_only = run_module("image_inventory", {"compose": [dict(project, profiles=[], scripts=[])]})
    assert found(default_only)[0] == {"ghcr.io/acme/api:2.4.0", COMPOSE_DIRECT_REDIS}
    assert [s["service"] for s in default_only["skipped_services"]] == ["debug", "gpu-worker"]


COMPOSE_DIRECT_REDIS = next(i for i in COMPOSE_DIRECT if "redis" in i)
COMPOSE_PROFILED = {"nvcr.io/nvidia/tritonserver:24.08-py3", "docker.io/library/busybox:latest"}


def test_digests_resolved_into_the_lock_and_a_missing_tag_listed(testbed, public_images, tmp_path):
    present = public_images[0]
    missing = public_images[0].rsplit(":", 1)[0] + ":no-such-tag"
    (tmp_path / "pods.yaml").write_text(json.dumps({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"},
                                                    "spec": {"containers": [{"name": "a", "image": present},
                                                                            {"name": "b", "image": missing}]}}))
    lock = tmp_path / "airlock.lock.json"
    lock.write_text(json.dumps({"version": 1, "images": [{"destination": "kept"}]}))
    args = {"manifests": [str(tmp_path / "pods.yaml")], "resolve_digests": True, "lock_file": str(lock),
            "registries": [{"host": testbed.public_registry, "insecure": True}]}
    checked = run_module("image_inventory", args, check_mode=True)
    assert checked["changed"] and "inventory" not in json.loads(lock.read_text())
    result = run_module("image_inventory", args)
    assert result["changed"]
    resolved = {e["image"]: e.get("digest") for e in result["images"]}
    head = subprocess.run(["curl", "-sfI", "-H", "Accept: application/vnd.oci.image.index.v1+json,application/vnd.oci.image.manifest.v1+json",
                           f"http://{testbed.public_registry}/v2/{present.split('/', 1)[1].rsplit(':', 1)[0]}/manifests/"
                           f"{present.rsplit(':', 1)[1]}"], capture_output=True, text=True, check=True, timeout=30).stdout
    expected = next(line.split(":", 1)[1].strip() for line in head.splitlines() if line.lower().startswith("docker-content-digest"))
    assert resolved[present] == expected
    assert [u["image"] for u in result["unresolved"]] == [missing] and "no-such-tag" in result["unresolved"][0]["error"]
    written = json.loads(lock.read_text())
    assert written["images"] == [{"destination": "kept"}]
    assert {e["image"]: e["digest"] for e in written["inventory"]["images"]} == {present: expected, missing: None}
    assert run_module("image_inventory", args)["changed"] is False
    failing = run_module("image_inventory", dict(args, fail_on_unresolved=True))
    assert failing["failed"] and missing in failing["msg"]


VENDOR = os.path.join(FIXTURES, "vendor")


def warning_messages(result):
    return [warning["event"]["msg"] for warning in result.get("warnings", [])]


def assert_no_traceback(result):
    assert "exception" not in result and "Traceback" not in result["_stderr"], result["_stderr"]


def test_a_vendor_run_sh_line_the_reader_does_not_understand_is_a_warning_with_its_line_not_a_failure():
    script = os.path.join(VENDOR, "run.sh")
    result = run_module("image_inventory", {"compose": [{"files": [os.path.join(VENDOR, "docker-compose.yml")], "scripts": [script],
                                                         "profiles": ["train"]}]})
    direct, indirect = found(result)
    assert direct == {"nvcr.io/acme/api:2.6.0", "nvcr.io/acme/trainer:3.1"}, "REGISTRY from the script, API_TAG from the file it sources"
    assert indirect == {"nvcr.io/acme/worker:1.8.0"}
    warnings = {int(message.split(" line ")[1].split()[0]): message for message in warning_messages(result)}
    assert sorted(warnings) == [7, 11, 26, 29, 32, 41, 42, 43, 44, 45, 46, 47]
    assert warnings[26].startswith(f'{script} line 26 skipped (PYTHON_OVERRIDE="PYTHON_VERSION=${{1#*=}}"): it uses a shell parameter expansion')
    assert "HOME" in warnings[11] and "env_files" in warnings[11]
    assert_no_traceback(result)


def test_what_a_skipped_line_would_have_set_can_be_given_as_a_variable():
    project = {"files": [os.path.join(VENDOR, "docker-compose.yml")], "scripts": [os.path.join(VENDOR, "run.sh")],
               "variables": {"HOME": os.path.join(VENDOR, "no-such-home")}}
    result = run_module("image_inventory", {"compose": [project]})
    messages = warning_messages(result)
    assert not any(" line 11 skipped" in m and "uses HOME" in m for m in messages), "the sourced path is known now"
    assert any(" line 11 skipped" in m and "cannot read the sourced file" in m and "no-such-home" in m for m in messages)


def test_an_empty_tag_is_invalid_never_latest(tmp_path):
    (tmp_path / "docker-compose.yml").write_text(
        "services:\n  api:\n    image: ${REGISTRY:-ghcr.io}/acme/api:${API_TAG}\n    environment:\n      SIDECAR_IMAGE: 'repo:'\n"
        "    command: ['--init-image=busybox:', '--log-level=debug']\n")
    (tmp_path / "pod.yaml").write_text(json.dumps({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"}, "spec": {"containers": [
        {"name": "a", "image": "host:5000/repo:", "env": [{"name": "WORKER_IMAGE", "value": f"repo:@sha256:{'a' * 64}"}]}]}}))
    args = {"compose": [{"files": [str(tmp_path / "docker-compose.yml")]}], "manifests": [str(tmp_path / "pod.yaml")]}
    result = run_module("image_inventory", args)
    direct, indirect = found(result)
    assert direct == set() and indirect == set(), "no empty tag is read as latest"
    invalid = {entry["written"]: entry for entry in result["invalid"]}
    assert {(written, entry["confidence"]) for written, entry in invalid.items()} == {
        ("ghcr.io/acme/api:", "direct"), ("host:5000/repo:", "direct"),
        ("repo:", "indirect"), ("busybox:", "indirect"), (f"repo:@sha256:{'a' * 64}", "indirect")}
    assert all(entry["error"] == f"invalid image reference {written!r}: the tag is missing after ':' (an empty tag is not 'latest'): "
               "name the tag, e.g. redis:7.2, or pin a digest" for written, entry in invalid.items())
    failing = run_module("image_inventory", dict(args, fail_on_unresolved=True))
    assert failing["failed"] and failing["msg"].startswith("2 image references are invalid or do not resolve: ")
    assert "invalid image reference 'ghcr.io/acme/api:': the tag is missing after ':'" in failing["msg"]
    assert f"(in {tmp_path / 'docker-compose.yml'} at services.api.image)" in failing["msg"]
    assert_no_traceback(failing)


def test_a_compose_env_file_compose_would_refuse_fails_naming_the_file_and_line(tmp_path):
    (tmp_path / "docker-compose.yml").write_text("services:\n  api:\n    image: ghcr.io/acme/api:${TAG}\n")
    (tmp_path / ".env").write_text("# site settings\nTAG=1.0\nSUFFIX=${TAG%%.*}\n")
    result = run_module("image_inventory", {"compose": [{"files": [str(tmp_path / "docker-compose.yml")]}]})
    assert result["failed"]
    assert result["msg"] == (f"{tmp_path / '.env'}: line 3: '${{TAG%%.*}}' in '${{TAG%%.*}}' is not an expansion Compose reads: it reads "
                             "${VAR}, ${VAR:-default}, ${VAR-default}, ${VAR:+alt}, ${VAR+alt}, ${VAR:?error} and ${VAR?error}, "
                             "and $$ for a literal $")
    assert_no_traceback(result)
