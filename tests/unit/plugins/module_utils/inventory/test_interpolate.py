# Copyright (c) 2026, airlock.airgap contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Compose's interpolation, operator by operator, as the compose-spec defines it."""

from __future__ import annotations

import pytest

from ansible_collections.airlock.airgap.plugins.module_utils.inventory.interpolate import (
    InterpolationError,
    Interpolator,
    read_env_file,
    read_wrapper_script,
)

VARIABLES = {"SET": "value", "EMPTY": ""}


@pytest.mark.parametrize("text, expected", [
    ("${SET}", "value"), ("$SET/x", "value/x"), ("${UNSET:-d}", "d"), ("${EMPTY:-d}", "d"), ("${EMPTY-d}", ""),
    ("${UNSET-d}", "d"), ("${SET:+alt}", "alt"), ("${EMPTY:+alt}", ""), ("${EMPTY+alt}", "alt"), ("$$SET", "$SET"),
    ("${UNSET:-${SET}-x}", "value-x"), ("a:${UNSET:-b:${UNSET2:-c}}", "a:b:c"), ("cost $5", "cost $5"),
])
def test_expand(text, expected):
    assert Interpolator(VARIABLES).expand(text) == expected


def test_unset_variables_are_remembered():
    interpolator = Interpolator({})
    assert interpolator.expand("${A}/$B:${C:-x}") == "/:x"
    assert interpolator.unset == {"A", "B"}


@pytest.mark.parametrize("text", ["${UNSET:?set it}", "${UNSET?}", "${SET", "${1X}"])
def test_errors(text):
    with pytest.raises(InterpolationError):
        Interpolator(VARIABLES).expand(text)


def test_env_file_and_wrapper_script(tmp_path):
    (tmp_path / "site.env").write_text("# comment\nexport TAG='1.0 $literal'\nREG=\"quay.io\" \nBASE=${REG}/acme # trailing\n")
    (tmp_path / "start.sh").write_text("#!/bin/sh\n. ./site.env\nexport IMAGE=${BASE}/api\nNOW=$(date)\n")
    assert read_env_file(tmp_path / "site.env", Interpolator({})) == {"TAG": "1.0 $literal", "REG": "quay.io", "BASE": "quay.io/acme"}
    found = read_wrapper_script(str(tmp_path / "start.sh"), Interpolator({}))
    assert found["IMAGE"] == "quay.io/acme/api" and "NOW" not in found
