# Copyright (c) 2026, airlock.airgap contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Compose's variable interpolation, env files and wrapper scripts, so an image behind `${TAG:-1.2}` is the image Compose runs.

Follows the compose-spec interpolation rules: `$VAR`, `${VAR}`, `${VAR:-default}` (unset or
empty), `${VAR-default}` (unset), `${VAR:+alt}`, `${VAR+alt}`, `${VAR:?error}`, `${VAR?error}`,
defaults that nest further references, and `$$` for a literal `$`.

A wrapper script is shell, read and never run. Vendor scripts compute some values (`$(date)`,
`$((n * 2))`, `$1`, `${1#*=}` in a `case` branch of their option parsing); such a line is
skipped with a warning naming the file and line, so it neither fails the inventory nor sets a
value the script would not, and the rest of the script is still read.
"""

from __future__ import annotations

import os
import re
import shlex

from ansible_collections.airlock.airgap.plugins.module_utils.errors import AirlockError

_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_ASSIGNMENT = re.compile(r"^\s*(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)=(.*)$")
_SOURCE = re.compile(r"^\s*(?:source|\.)\s+(.*)$")
# `declare -x X=v`, `readonly X=v`, `local X=v`, `typeset X=v`: assignments too, behind a builtin and its flags.
_DECLARED = re.compile(r"^\s*(?:declare|typeset|readonly|local)(?:\s+-[A-Za-z]+)*\s+([A-Za-z_][A-Za-z0-9_]*)=(.*)$")
# `: "${X:=default}"` (or without quotes): sets X to the default when it is unset or empty.
_DEFAULTED = re.compile(r"""^\s*:\s+["']?\$\{([A-Za-z_][A-Za-z0-9_]*)(:?)=([^}]*)\}["']?\s*(?:#.*)?$""")
# Commands that set variables only when the script runs.
_RUNTIME_SETTERS = re.compile(r"^\s*(?:eval|read|mapfile|readarray|getopts)\b")
_SINGLE_QUOTED = re.compile(r"'([^']*)'(?=\s|;|$)")
_OPERATORS = (":-", ":?", ":+", "-", "?", "+")
_COMPOSE_FORMS = "${VAR}, ${VAR:-default}, ${VAR-default}, ${VAR:+alt}, ${VAR+alt}, ${VAR:?error} and ${VAR?error}"
# A `${` that does not open one of the Compose forms: `${1#*=}`, `${VAR%%x}`, `${VAR/a/b}`, `${#VAR}`, `${VAR:0:3}`...
_SHELL_ONLY_BRACES = re.compile(r"\$\{(?![A-Za-z_][A-Za-z0-9_]*(?:\}|:?[-+?]|$))")
# What only running a script gives, looked for before interpolation (which reads `$$` and `$1` the Compose way).
_RUNTIME_CONSTRUCTS = (
    (re.compile(r"\$\(\("), "an arithmetic expansion $((...))"),
    (re.compile(r"\$\(|`"), "a command substitution"),
    (re.compile(r"\$[0-9@*#?$!-]"), "a positional or special parameter ($1, $@, $#, $$...)"),
    (_SHELL_ONLY_BRACES, "a shell parameter expansion"),
)


class InterpolationError(AirlockError, ValueError):
    """A `${VAR:?message}` whose variable is missing, or a malformed expression."""


class SkippedLine(Exception):
    """A wrapper script line the reader cannot take without running the script; the message says why."""


class Interpolator:
    """Expands strings against a variable mapping.

    Remembers the variables used but never set, and in `warnings` the wrapper script lines skipped
    while its variables were read, so a caller can tell the user what the list may lack.
    """

    def __init__(self, variables):
        self.variables = dict(variables)
        self.unset = set()
        self.warnings = []

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
        if _SHELL_ONLY_BRACES.match(text, position - 2):
            closing = text.find("}", position)
            written = text[position - 2:closing + 1] if closing >= 0 else text[position - 2:]
            raise InterpolationError(f"{written!r} in {text!r} is not an expansion Compose reads: it reads {_COMPOSE_FORMS}, "
                                     "and $$ for a literal $")
        name = _NAME.match(text, position)
        position = name.end()
        operator = next((op for op in _OPERATORS if text.startswith(op, position)), "")
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
    """KEY=VALUE lines (an `export ` prefix, quotes and comments allowed), expanded against what is known so far.

    Compose refuses an env file it cannot interpolate, and so does this; the error names the line.
    """
    variables = {}
    with open(path, encoding="utf-8") as handle:
        for number, line in enumerate(handle, 1):
            match = _ASSIGNMENT.match(line)
            if not match:
                continue
            try:
                variables[match.group(1)] = _env_value(match.group(2), interpolator, variables)
            except InterpolationError as error:
                raise InterpolationError(f"line {number}: {error}") from error
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
    """Variables a shell wrapper sets: its `VAR=value` and `export VAR=value` lines, and those of the files it sources.

    Read, never run: only static values count. Every line whose value only running the script
    gives is skipped, with a warning in interpolator.warnings naming the file and line.
    """
    script = _WrapperScript(path, interpolator)
    script.read(path)
    return script.variables


class _WrapperScript:
    """One wrapper script being read: what it has set so far, and the files being read (a file sourcing itself stops)."""

    def __init__(self, path, interpolator):
        self.base = os.path.dirname(os.path.abspath(path))  # stands for the folder the script is run from
        self.interpolator = interpolator
        self.variables = {}
        self.reading = []

    def read(self, path):
        """Every line of the file; a line that is not UTF-8 text is skipped with a warning, as any line not understood."""
        self.reading.append(os.path.realpath(path))
        try:
            with open(path, encoding="utf-8", errors="replace") as handle:
                for number, line in enumerate(handle, 1):
                    try:
                        self._line(line)
                    except SkippedLine as reason:
                        self.interpolator.warnings.append(f"{path} line {number} skipped ({line.strip()}): {reason}")
        finally:
            self.reading.pop()

    def _line(self, line):
        if "\ufffd" in line:
            raise SkippedLine("it is not UTF-8 text")
        sourced = _SOURCE.match(line)
        assignment = _ASSIGNMENT.match(line) or _DECLARED.match(line)
        defaulted = _DEFAULTED.match(line)
        if _RUNTIME_SETTERS.match(line):
            raise SkippedLine("it sets variables only when the script runs; give what an image depends on in compose[].variables")
        if sourced:
            self._source(sourced.group(1))
        elif defaulted:
            self._default(*defaulted.groups())
        elif assignment:
            name = assignment.group(1)
            try:
                self.variables[name] = _shell_word(assignment.group(2), self._scope())
            except SkippedLine as reason:
                raise SkippedLine(f"{reason}; give {name} in compose[].variables if an image depends on it") from reason

    def _default(self, name, colon, raw):
        """`: "${X:=default}"`: X takes the default when unset (or, with the colon, empty)."""
        scope = self._scope()
        current = scope.variables.get(name)
        if current is None or (colon and not current):
            self.variables[name] = _shell_word(f'"{raw}"', scope)

    def _source(self, raw):
        """A `source FILE` line: the file is read as shell too, unless its path is known only at run time or it cannot be read."""
        scope = self._scope()
        sourced = _shell_word(raw, scope)
        if not sourced:
            raise SkippedLine("it names no file")
        target = os.path.normpath(os.path.join(self.base, sourced))
        if scope.unset:
            raise SkippedLine(f"the sourced path uses {', '.join(sorted(scope.unset))}, set only when the script runs; "
                              "give it in compose[].variables or list the file in compose[].env_files")
        if os.path.realpath(target) in self.reading:
            raise SkippedLine(f"{target} is already being read")
        try:
            self.read(target)
        except (OSError, UnicodeDecodeError) as error:
            raise SkippedLine(f"cannot read the sourced file {target}: {error}") from error

    def _scope(self):
        """What a line sees: the project's variables so far, overridden by what this script has set."""
        return Interpolator({**self.interpolator.variables, **self.variables})


def _shell_word(raw, interpolator) -> str:
    """The first word of a shell value, expanded as the shell would; SkippedLine where only running the script could."""
    if raw[:1].isspace():  # `X= cmd` or `X= # note`: the value is empty
        return ""
    literal = _SINGLE_QUOTED.match(raw)
    if literal:
        return literal.group(1)
    lexer = shlex.shlex(raw, posix=True)
    lexer.whitespace_split = True
    lexer.commenters = ""  # a `#` inside a word (`${1#*=}`) starts no comment; only the first word is read
    try:
        word = lexer.get_token() or ""
    except ValueError as error:
        raise SkippedLine("a quote does not close on the line") from error
    construct = next((what for pattern, what in _RUNTIME_CONSTRUCTS if pattern.search(word)), None)
    if construct:
        raise SkippedLine(f"it uses {construct}, which the reader does not evaluate (scripts are read, never run)")
    try:
        return interpolator.expand(word)
    except InterpolationError as error:
        raise SkippedLine(str(error)) from error
