# Copyright (c) 2026, airlock.airgap contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""A Compose project's variables: what a wrapper script could not give is said, and the user can give it."""

from __future__ import annotations

import pytest

from ansible_collections.airlock.airgap.plugins.module_utils.inventory import compose


@pytest.fixture
def project(tmp_path):
    (tmp_path / "docker-compose.yml").write_text("services:\n  api:\n    image: ${REGISTRY}/acme/api:${TAG}\n")
    (tmp_path / "conf").mkdir()
    (tmp_path / "conf" / "versions.env").write_text("TAG=2.0\n")
    (tmp_path / "run.sh").write_text('REGISTRY=quay.io\nsource "${CONF_DIR}/versions.env"\nTAG="${TAG}-${1#*=}"\n')
    return tmp_path


def test_the_scan_carries_the_skipped_script_lines(project):
    scanned = compose.scan(compose.ComposeSource([str(project / "docker-compose.yml")], scripts=[str(project / "run.sh")]))
    assert [f.written for f in scanned.findings] == ["quay.io/acme/api:"]
    assert [w.split(" skipped")[0] for w in scanned.warnings] == [f"{project / 'run.sh'} line 2", f"{project / 'run.sh'} line 3"]


def test_variables_given_are_seen_by_the_scripts_and_win(project):
    source = compose.ComposeSource([str(project / "docker-compose.yml")], scripts=[str(project / "run.sh")],
                                   variables={"CONF_DIR": str(project / "conf"), "REGISTRY": "ghcr.io"})
    scanned = compose.scan(source)
    assert [f.image for f in scanned.findings] == ["ghcr.io/acme/api:2.0"]
    assert len(scanned.warnings) == 1 and "line 3" in scanned.warnings[0]


def test_an_env_file_compose_would_refuse_fails_naming_the_file_and_line(project):
    (project / ".env").write_text("A=1\nB=${A%%x}\n")
    with pytest.raises(compose.ComposeError, match=r"\.env: line 2: '\$\{A%%x\}' in '\$\{A%%x\}' is not an expansion Compose reads"):
        compose.scan(compose.ComposeSource([str(project / "docker-compose.yml")]))


def test_include_extends_and_compose_profiles(tmp_path):
    (tmp_path / "db").mkdir()
    (tmp_path / "db" / "compose.yaml").write_text("services:\n  db:\n    image: postgres:${PG}\n")
    (tmp_path / "db" / ".env").write_text("PG=15\nREGISTRY=db.local\n")
    (tmp_path / "base.yaml").write_text("services:\n  base:\n    image: python:3.12\n    env_file: base.env\n")
    (tmp_path / "base.env").write_text("HELPER_IMAGE=acme/helper:1\n")
    (tmp_path / ".env").write_text("MODE=gpu\nCOMPOSE_PROFILES=${MODE}\nREGISTRY=ghcr.io\n")
    (tmp_path / "docker-compose.yml").write_text(
        "include:\n  - db/compose.yaml\nservices:\n  api:\n    extends: {file: base.yaml, service: base}\n    image: ${REGISTRY}/acme/api:1\n"
        "  gpu:\n    profiles: [gpu]\n    image: acme/gpu:1\n  cpu:\n    profiles: [cpu, debug]\n    image: acme/cpu:1\n")
    scanned = compose.scan(compose.ComposeSource([str(tmp_path / "docker-compose.yml")]))
    assert sorted((f.image, f.condition) for f in scanned.findings) == [
        ("docker.io/acme/cpu:1", "profile cpu or debug is active"), ("docker.io/acme/gpu:1", None), ("docker.io/acme/helper:1", None),
        ("docker.io/library/postgres:15", None), ("ghcr.io/acme/api:1", None)]


def test_an_extends_of_a_service_that_is_not_there_names_it(tmp_path):
    (tmp_path / "docker-compose.yml").write_text("services:\n  api:\n    extends: base\n")
    with pytest.raises(compose.ComposeError, match="services.api extends base, which .* does not define"):
        compose.scan(compose.ComposeSource([str(tmp_path / "docker-compose.yml")]))
