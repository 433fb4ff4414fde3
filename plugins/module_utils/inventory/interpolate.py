# Copyright (c) 2026, airlock.airgap contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Compose's variable interpolation and env files, so an image behind `${TAG:-1.2}` is the image Compose runs.

Follows the compose-spec interpolation rules: `$VAR`, `${VAR}`, `${VAR:-default}` (unset or
empty), `${VAR-default}` (unset), `${VAR:+alt}`, `${VAR+alt}`, `${VAR:?error}`, `${VAR?error}`,
defaults that nest further references, and `$$` for a literal `$`.
"""

from __future__ import annotations

import os
import re
import shlex

_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_ASSIGNMENT = re.compile(r"^\s*(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)=(.*)$")
_SOURCE = re.compile(r"^\s*(?:source|\.)\s+(\S+)")


class InterpolationError(ValueError):
    """A `${VAR:?message}` whose variable is missing, or a malformed expression."""


class Interpolator:
    """Expands strings against a variable mapping; remembers variables used but never set."""

    def __init__(self, variables):
        self.variables = dict(variables)
        self.unset = set()

    def expand(self, text: str) -> str:
        result, end = self._expand(text, 0, closing=False)
        if end != len(text):
            raise InterpolationError(f"unbalanced '}}' in {text!r}")
        return result

    def _expand(self, text, position, closing):
        """Expand from position to the end (or, when closing, to the '}' ending a default); returns (text, index after)."""
        out = []
        while position < len(text):
            char = text[position]
            if closing and char == "}":
                return "".join(out), position
            if char != "$":
                out.append(char)
                position += 1
                continue
            value, position = self._reference(text, position + 1)
            out.append(value)
        if closing:
            raise InterpolationError(f"missing '}}' in {text!r}")
        return "".join(out), position

    def _reference(self, text, position):
        if position < len(text) and text[position] == "$":
            return "$", position + 1
        if position < len(text) and text[position] == "{":
            return self._braced(text, position + 1)
        name = _NAME.match(text, position)
        if not name:
            return "$", position
        return self._value(name.group()), name.end()

    def _braced(self, text, position):
        name = _NAME.match(text, position)
        if not name:
            raise InterpolationError(f"invalid variable name at {position} in {text!r}")
        position = name.end()
        operator = next((op for op in (":-", ":?", ":+", "-", "?", "+") if text.startswith(op, position)), "")
        word, end = self._expand(text, position + len(operator), closing=True) if operator else ("", position)
        if end >= len(text) or text[end] != "}":
            raise InterpolationError(f"missing '}}' in {text!r}")
        return self._apply(name.group(), operator, word), end + 1

    def _apply(self, name, operator, word):
        is_set = name in self.variables
        empty = not self.variables.get(name)
        if operator in (":-", "-"):
            use_default = empty if operator == ":-" else not is_set
            return word if use_default else self.variables[name]
        if operator in (":+", "+"):
            use_alternative = not empty if operator == ":+" else is_set
            return word if use_alternative else ""
        if operator in (":?", "?") and (empty if operator == ":?" else not is_set):
            raise InterpolationError(f"required variable {name} is missing: {word or 'it must be set'}")
        return self._value(name)

    def _value(self, name):
        if name not in self.variables:
            self.unset.add(name)
        return self.variables.get(name, "")

    def expand_tree(self, node):
        """Every string in a compose structure expanded (keys are not, as in Compose)."""
        if isinstance(node, dict):
            return {key: self.expand_tree(value) for key, value in node.items()}
        if isinstance(node, list):
            return [self.expand_tree(value) for value in node]
        if isinstance(node, str):
            return self.expand(node)
        return node


def read_env_file(path, interpolator=None) -> dict:
    """KEY=VALUE lines (an `export ` prefix, quotes and comments allowed), expanded against what is known so far."""
    variables = {}
    with open(path, encoding="utf-8") as handle:
        for line in handle:
            match = _ASSIGNMENT.match(line)
            if match:
                variables[match.group(1)] = _env_value(match.group(2), interpolator, variables)
    return variables


def _env_value(raw, interpolator, so_far):
    raw = raw.strip()
    if raw[:1] == "'" and raw.rfind("'") > 0:
        return raw[1:raw.rfind("'")]
    if raw[:1] == '"' and raw.rfind('"') > 0:
        raw = raw[1:raw.rfind('"')]
    else:
        raw = raw.split(" #", 1)[0].strip()
    if interpolator is None:
        return raw
    scoped = Interpolator({**interpolator.variables, **so_far})
    return scoped.expand(raw)


def read_wrapper_script(path, interpolator) -> dict:
    """Variables a shell wrapper sets: the env files it sources (`source f`, `. f`) and its `export VAR=value` lines.

    Read, never run: only static assignments count, as a wrapper that computes its variables cannot be known offline.
    """
    variables = {}
    base = os.path.dirname(os.path.abspath(path))
    with open(path, encoding="utf-8") as handle:
        for line in handle:
            sourced = _SOURCE.match(line)
            assignment = _ASSIGNMENT.match(line)
            scoped = Interpolator({**interpolator.variables, **variables})
            if sourced:
                target = os.path.join(base, scoped.expand(sourced.group(1).strip("'\"")))
                variables.update(read_env_file(target, scoped))
            elif assignment and "$(" not in assignment.group(2) and "`" not in assignment.group(2):
                words = shlex.split(assignment.group(2), comments=True) or [""]
                variables[assignment.group(1)] = scoped.expand(words[0])
    return variables
