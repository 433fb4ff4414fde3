# Copyright (c) 2026, airlock.airgap contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Charts rendered by the real `helm template`, never guessed from values files.

Parent values override subchart defaults and templates assemble references from several
values, so only the render says which images a release runs. A chart from an HTTP repo or an
OCI registry is fetched with `helm pull` into a temporary folder first (on the connected side;
in the enclave, use the archives `airlock.airgap.chart_mirror` wrote).
"""

from __future__ import annotations

import dataclasses
import glob
import json
import os
import subprocess
import tempfile
from typing import Optional

from ansible_collections.airlock.airgap.plugins.module_utils.charts.errors import ChartError

RENDER_TIMEOUT = 300


@dataclasses.dataclass
class ChartSource:  # pylint: disable=too-many-instance-attributes
    """One chart and how to render it, as the user would pass it to `helm template`."""

    chart: str
    release_name: str = "release"
    namespace: str = "default"
    values_files: list = dataclasses.field(default_factory=list)
    values: dict = dataclasses.field(default_factory=dict)
    kube_version: Optional[str] = None
    api_versions: list = dataclasses.field(default_factory=list)
    include_crds: bool = True
    repo: Optional[str] = None
    version: Optional[str] = None
    username: Optional[str] = None
    password: Optional[str] = None
    plain_http: bool = False
    ca_file: Optional[str] = None

    @property
    def is_remote(self) -> bool:
        return self.chart.startswith("oci://") or bool(self.repo)


def template_arguments(source: ChartSource, chart_path: str, api_versions=(), extra_values_files=()) -> list:
    """The `helm template` argv (after the binary) for source, with more API versions and values files."""
    argv = ["template", source.release_name, chart_path, "--namespace", source.namespace]
    for values_file in list(source.values_files) + list(extra_values_files):
        argv += ["--values", values_file]
    for key, value in sorted(source.values.items()):
        argv += ["--set-json", f"{key}={json.dumps(value)}"]
    if source.kube_version:
        argv += ["--kube-version", source.kube_version]
    for version in sorted(set(source.api_versions) | set(api_versions)):
        argv += ["--api-versions", version]
    if source.include_crds:
        argv.append("--include-crds")
    return argv


def render(helm_binary, source: ChartSource, chart_path: str, api_versions=(), extra_values_files=()) -> str:
    """The rendered manifests; ChartError with helm's own words when it refuses."""
    argv = [helm_binary] + template_arguments(source, chart_path, api_versions, extra_values_files)
    completed = _run(argv, f"helm template of {source.chart}")
    return completed.stdout


def pull(helm_binary, source: ChartSource, destination: str) -> str:
    """Fetch a remote chart's archive into destination with `helm pull`; returns its path.

    Credentials never go on a command line (any local user can read /proc/*/cmdline): helm reads the password on
    its standard input (`helm registry login` for OCI, `helm repo add` for an HTTP repo) into a registry or repository
    config in a private temporary folder, which `helm pull` is pointed at and which is removed afterwards.
    """
    with tempfile.TemporaryDirectory(prefix="airlock-helm-auth-") as auth:
        argv = [helm_binary, "pull", source.chart, "--destination", destination]
        if source.username and source.chart.startswith("oci://"):
            argv += ["--registry-config", _registry_login(helm_binary, source, auth)]
        elif source.username and source.repo:
            argv[2] = f"{_repo_add(helm_binary, source, auth)}/{source.chart}"
            argv += ["--repository-config", os.path.join(auth, "repositories.yaml"), "--repository-cache", os.path.join(auth, "cache")]
        elif source.repo:
            argv += ["--repo", source.repo]
        if source.version:
            argv += ["--version", source.version]
        if source.plain_http:
            argv.append("--plain-http")
        if source.ca_file:
            argv += ["--ca-file", source.ca_file]
        _run(argv, f"helm pull of {source.chart}")
    archives = glob.glob(os.path.join(destination, "*.tgz"))
    if len(archives) != 1:
        raise ChartError(f"helm pull of {source.chart} left {len(archives)} archives in {destination}, expected one")
    return archives[0]


def _registry_login(helm_binary, source: ChartSource, auth) -> str:
    """`helm registry login --password-stdin` into a registry config in auth; returns the config's path."""
    registry = source.chart[len("oci://"):].split("/", 1)[0]
    config = os.path.join(auth, "registry.json")
    # An entry already there keeps helm from handing the password to a credential helper it detects on the PATH
    # (docker-credential-secretservice, -pass), which would outlive this folder: it is written into the file instead.
    with os.fdopen(os.open(config, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), "w", encoding="utf-8") as handle:
        json.dump({"auths": {registry: {}}}, handle)
    argv = [helm_binary, "registry", "login", registry, "--username", source.username, "--password-stdin", "--registry-config", config]
    if source.plain_http:
        argv.append("--plain-http")
    if source.ca_file:
        argv += ["--ca-file", source.ca_file]
    _run(argv, f"helm registry login to {registry}", stdin=source.password or "")
    return config


def _repo_add(helm_binary, source: ChartSource, auth) -> str:
    """`helm repo add --password-stdin` into a repository config and cache in auth; returns the repository's name."""
    name = "airlock-source"
    argv = [helm_binary, "repo", "add", name, source.repo, "--username", source.username, "--password-stdin",
            "--repository-config", os.path.join(auth, "repositories.yaml"), "--repository-cache", os.path.join(auth, "cache")]
    if source.ca_file:
        argv += ["--ca-file", source.ca_file]
    _run(argv, f"helm repo add of {source.repo}", stdin=source.password or "")
    return name


class LocalChart:
    """Context manager: a local path for the source's chart, pulled into a temporary folder when remote."""

    def __init__(self, helm_binary, source: ChartSource):
        self.helm_binary = helm_binary
        self.source = source
        self._scratch = None

    def __enter__(self) -> str:
        if not self.source.is_remote:
            if not os.path.exists(self.source.chart):
                raise ChartError(f"chart {self.source.chart} does not exist: give a chart folder, a .tgz, an oci:// reference or a repo")
            return self.source.chart
        self._scratch = tempfile.TemporaryDirectory(prefix="airlock-chart-")  # pylint: disable=consider-using-with
        return pull(self.helm_binary, self.source, self._scratch.name)

    def __exit__(self, *exc_info):
        if self._scratch:
            self._scratch.cleanup()


def _run(argv, what, stdin=None):
    """Run helm; stdin (a password) is written to its standard input, which is otherwise empty so helm never prompts."""
    feed = {"input": stdin} if stdin is not None else {"stdin": subprocess.DEVNULL}
    try:
        completed = subprocess.run(argv, capture_output=True, text=True, timeout=RENDER_TIMEOUT, check=False, **feed)
    except FileNotFoundError as error:
        raise ChartError(f"{what}: the helm binary {argv[0]!r} was not found; install helm or set helm_binary") from error
    except subprocess.TimeoutExpired as error:
        raise ChartError(f"{what} took more than {RENDER_TIMEOUT} s and was stopped") from error
    if completed.returncode != 0:
        hint = ""
        if "missing in charts/ directory" in completed.stderr:
            hint = " (its dependencies are not vendored: mirror the chart with airlock.airgap.chart_mirror, or run helm dependency build)"
        raise ChartError(f"{what} failed: {completed.stderr.strip()}{hint}")
    return completed
