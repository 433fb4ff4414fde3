# Copyright (c) 2026, airlock.airgap contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Compose's interpolation, operator by operator, as the compose-spec defines it."""

from __future__ import annotations

import os
import re

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


VENDOR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "..", "..", "fixtures", "inventory", "vendor")


def skipped_lines(interpolator):
    """{line number: warning} of the wrapper script lines skipped."""
    return {int(re.search(r" line (\d+) skipped", w).group(1)): w for w in interpolator.warnings}


def test_a_vendor_run_sh_is_read_around_the_lines_only_running_it_could_give():
    script = os.path.join(VENDOR, "run.sh")
    interpolator = Interpolator({})
    found = read_wrapper_script(script, interpolator)
    assert found == {"API_TAG": "2.6.0", "MODEL_NAME": "meta/llama3-8b-instruct", "REGISTRY": "nvcr.io/acme", "WORKER_TAG": "1.8.0",
                     "PYTHON_OVERRIDE": "", "GPUS": "all", "LITERAL": "${1#*=} stays as written"}
    skipped = skipped_lines(interpolator)
    assert sorted(skipped) == [7, 11, 26, 29, 32, 41, 42, 43, 44, 45, 46, 47]
    assert all(w.startswith(f"{script} line ") for w in interpolator.warnings)
    assert 'PYTHON_OVERRIDE="PYTHON_VERSION=${1#*=}"' in skipped[26] and "shell parameter expansion" in skipped[26]
    assert "give PYTHON_OVERRIDE in compose[].variables" in skipped[26]
    assert "command substitution" in skipped[7] and "command substitution" in skipped[45]
    assert "uses HOME" in skipped[11] and "env_files" in skipped[11]
    assert "positional or special parameter" in skipped[32] and "positional or special parameter" in skipped[47]
    assert "arithmetic expansion" in skipped[46]


@pytest.mark.parametrize("line, construct", [
    ('X="PYTHON_VERSION=${1#*=}"', "shell parameter expansion"),
    ("X=${TAG%%-*}", "shell parameter expansion"),
    ("X=${TAG#v}", "shell parameter expansion"),
    ("X=${TAG/a/b}", "shell parameter expansion"),
    ("X=${TAG:0:3}", "shell parameter expansion"),
    ("X=${TAG:=1}", "shell parameter expansion"),
    ("X=${TAG^^}", "shell parameter expansion"),
    ("X=${#TAG}", "shell parameter expansion"),
    ("X=${!TAG}", "shell parameter expansion"),
    ("X=${ARRAY[0]}", "shell parameter expansion"),
    ("export X=$(git describe --tags)", "command substitution"),
    ("X=\"v$(cat VERSION)\"", "command substitution"),
    ("X=`date`", "command substitution"),
    ("X=$((MAJOR + 1))", "arithmetic expansion"),
    ("X=$1", "positional or special parameter"),
    ("X=\"$@\"", "positional or special parameter"),
    ("X=$$", "positional or special parameter"),
    ("X=$?", "positional or special parameter"),
    ("X=\"unterminated", "a quote does not close on the line"),
    ("X=${TAG", "missing '}'"),
    ("source", "it names no file"),
    ('. "$(dirname "$0")/common.sh"', "command substitution"),
])
def test_each_construct_only_running_a_script_gives_is_skipped_with_its_line(tmp_path, line, construct):
    script = tmp_path / "run.sh"
    script.write_text(f"TAG=1.0\nX=kept\n{line}\nAFTER=read\n")
    interpolator = Interpolator({})
    assert read_wrapper_script(str(script), interpolator) == {"TAG": "1.0", "X": "kept", "AFTER": "read"}
    assert len(interpolator.warnings) == 1 and interpolator.warnings[0].startswith(f"{script} line 3 skipped ({line}): ")
    assert construct in interpolator.warnings[0]


def test_what_a_script_sets_statically_is_kept(tmp_path):
    script = tmp_path / "run.sh"
    script.write_text("A=1 # comment\nexport B=\"${A}-x\"\nC='$(not run) ${1#*=}'\nD=\nE=${UNSET:-d}\nF=$A/y docker compose up\n"
                      "G= # note\nH= 'x' run\nI=#not-a-comment\nJ=2 # it's\n")
    interpolator = Interpolator({"A": "0"})
    assert read_wrapper_script(str(script), interpolator) == {"A": "1", "B": "1-x", "C": "$(not run) ${1#*=}", "D": "", "E": "d", "F": "1/y",
                                                              "G": "", "H": "", "I": "#not-a-comment", "J": "2"}
    assert interpolator.warnings == []


def test_a_sourced_file_is_shell_too_and_its_own_lines_are_named(tmp_path):
    (tmp_path / "common.sh").write_text("REG=quay.io\nBUILD=$(date +%s)\n. ./common.sh\n")
    (tmp_path / "run.sh").write_text(". ./common.sh\nsource ./missing.env\nsource \"$CONFIG_DIR/site.env\"\nIMAGE=${REG}/acme/api\n")
    interpolator = Interpolator({})
    assert read_wrapper_script(str(tmp_path / "run.sh"), interpolator) == {"REG": "quay.io", "IMAGE": "quay.io/acme/api"}
    common, run = str(tmp_path / "common.sh"), str(tmp_path / "run.sh")
    assert [w.split(" skipped")[0] for w in interpolator.warnings] == [f"{common} line 2", f"{common} line 3", f"{run} line 2", f"{run} line 3"]
    assert "already being read" in interpolator.warnings[1]
    assert "cannot read the sourced file" in interpolator.warnings[2] and "missing.env" in interpolator.warnings[2]
    assert "uses CONFIG_DIR" in interpolator.warnings[3]


def test_a_sourced_path_built_from_a_known_variable_is_followed(tmp_path):
    (tmp_path / "conf").mkdir()
    (tmp_path / "conf" / "site.env").write_text("TAG=2.0\n")
    (tmp_path / "run.sh").write_text("source \"${CONFIG_DIR}/site.env\"\n")
    interpolator = Interpolator({"CONFIG_DIR": str(tmp_path / "conf")})
    assert read_wrapper_script(str(tmp_path / "run.sh"), interpolator) == {"TAG": "2.0"}
    assert interpolator.warnings == []


def test_an_env_file_compose_would_refuse_names_its_line(tmp_path):
    (tmp_path / ".env").write_text("A=1\n\nB=${1#*=}\n")
    with pytest.raises(InterpolationError, match=r"^line 3: '\$\{1#\*=\}' in '\$\{1#\*=\}' is not an expansion Compose reads"):
        read_env_file(tmp_path / ".env", Interpolator({}))


@pytest.mark.parametrize("text, written", [("${1#*=}", "${1#*=}"), ("a-${TAG%%-*}-b", "${TAG%%-*}"), ("${A:-${B/x/y}}", "${B/x/y}")])
def test_a_shell_only_expansion_in_compose_is_named(text, written):
    with pytest.raises(InterpolationError, match="is not an expansion Compose reads") as caught:
        Interpolator(VARIABLES).expand(text)
    assert str(caught.value).startswith(repr(written))


def test_declared_and_defaulted_assignments_are_read_and_runtime_setters_warned(tmp_path):
    script = tmp_path / "run.sh"
    script.write_bytes(b'declare -x A=1\nreadonly B=2\n: "${C:=3}"\n: ${A:=9}\nread -r D\n# caf\xe9\n')
    interpolator = Interpolator({})
    assert read_wrapper_script(str(script), interpolator) == {"A": "1", "B": "2", "C": "3"}
    assert [w.split(" skipped")[0] for w in interpolator.warnings] == [f"{script} line 5", f"{script} line 6"]
