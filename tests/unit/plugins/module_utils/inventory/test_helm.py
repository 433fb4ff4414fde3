# Copyright (c) 2026, airlock.airgap contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""helm pull with credentials: the password goes to helm's standard input, never on a command line."""

from __future__ import annotations

import os
import subprocess

import pytest

from ansible_collections.airlock.airgap.plugins.module_utils.inventory import helm

PASSWORD = "s3cret-pw"


class FakeHelm:
    """Records each helm call (argv, stdin) and leaves an archive where `helm pull` is told to."""

    def __init__(self):
        self.calls = []
        self.files_seen = {}

    def __call__(self, argv, **kwargs):
        self.calls.append((list(argv), kwargs.get("input")))
        for flag in ("--registry-config", "--repository-config"):
            if flag in argv and argv[1] == "pull":
                path = argv[argv.index(flag) + 1]
                self.files_seen[path] = os.path.isdir(os.path.dirname(path))
        if argv[1] == "pull":
            destination = argv[argv.index("--destination") + 1]
            with open(os.path.join(destination, "platform-1.4.0.tgz"), "wb"):
                pass
        return subprocess.CompletedProcess(argv, 0, stdout="", stderr="")


@pytest.fixture
def fake_helm(monkeypatch):
    fake = FakeHelm()
    monkeypatch.setattr(helm.subprocess, "run", fake)
    return fake


def option(argv, flag):
    return argv[argv.index(flag) + 1]


def test_oci_credentials_go_through_registry_login_on_stdin(fake_helm, tmp_path):
    source = helm.ChartSource("oci://registry.lan:5000/charts/platform", version="1.4.0", username="ci", password=PASSWORD,
                              ca_file="/etc/ca.pem")
    assert helm.pull("helm", source, str(tmp_path)) == str(tmp_path / "platform-1.4.0.tgz")
    (login, login_input), (pull, pull_input) = fake_helm.calls
    assert login[:4] == ["helm", "registry", "login", "registry.lan:5000"] and "--password-stdin" in login and login_input == PASSWORD
    assert option(login, "--username") == "ci" and option(login, "--ca-file") == "/etc/ca.pem"
    assert pull[:3] == ["helm", "pull", "oci://registry.lan:5000/charts/platform"] and pull_input is None
    assert option(pull, "--registry-config") == option(login, "--registry-config")
    assert all(PASSWORD not in argument for argv, _input in fake_helm.calls for argument in argv)
    assert list(fake_helm.files_seen.values()) == [True]
    assert not any(os.path.exists(path) for path in fake_helm.files_seen)


def test_http_repository_credentials_go_through_repo_add_on_stdin(fake_helm, tmp_path):
    source = helm.ChartSource("platform", repo="https://charts.lan/stable", version="1.4.0", username="ci", password=PASSWORD)
    helm.pull("helm", source, str(tmp_path))
    (add, add_input), (pull, _pull_input) = fake_helm.calls
    assert add[:3] == ["helm", "repo", "add"] and add[4] == "https://charts.lan/stable" and "--password-stdin" in add and add_input == PASSWORD
    assert pull[2] == f"{add[3]}/platform" and "--repo" not in pull and option(pull, "--version") == "1.4.0"
    for flag in ("--repository-config", "--repository-cache"):
        assert option(pull, flag) == option(add, flag)
        assert not os.path.exists(option(add, flag))
    assert all(PASSWORD not in argument for argv, _input in fake_helm.calls for argument in argv)


def test_without_credentials_one_pull_as_before(fake_helm, tmp_path):
    helm.pull("helm", helm.ChartSource("platform", repo="http://charts.lan", version="1.4.0"), str(tmp_path))
    assert [argv for argv, _input in fake_helm.calls] == [
        ["helm", "pull", "platform", "--destination", str(tmp_path), "--repo", "http://charts.lan", "--version", "1.4.0"]]


def test_a_refused_login_says_so_without_the_password(monkeypatch, tmp_path):
    def refuse(argv, **_kwargs):
        return subprocess.CompletedProcess(argv, 1, stdout="", stderr="Error: login attempt failed: 401 Unauthorized")
    monkeypatch.setattr(helm.subprocess, "run", refuse)
    source = helm.ChartSource("oci://registry.lan/charts/platform", username="ci", password=PASSWORD)
    with pytest.raises(helm.ChartError, match="helm registry login to registry.lan failed: .*401") as raised:
        helm.pull("helm", source, str(tmp_path))
    assert PASSWORD not in str(raised.value)
