# Copyright (c) 2026, airlock.airgap contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Chart versions and version constraints, read as Helm reads them (Masterminds/semver v3).

A dependency in Chart.yaml says `version: ^1.2.0` or `~0.3` or `>=1.0.0 <2.0.0 || 3.x`;
the connected side must pick the same version `helm dependency build` would, or the
enclave renders a different chart than the one that was reviewed.
"""

from __future__ import annotations

import dataclasses
import functools
import re

from ansible_collections.airlock.airgap.plugins.module_utils.charts.errors import ChartError

_VERSION_RE = re.compile(r"v?(\d+)(?:\.(\d+))?(?:\.(\d+))?(?:-([0-9A-Za-z.-]+))?(?:\+([0-9A-Za-z.-]+))?")
_PART = r"(?:\d+|[xX*])"
_CONSTRAINT_RE = re.compile(rf"(=|!=|>=|=>|<=|=<|>|<|~>|~|\^)?\s*v?({_PART}(?:\.{_PART}){{0,2}}(?:-[0-9A-Za-z.-]+)?(?:\+[0-9A-Za-z.-]+)?)")
_HYPHEN_RE = re.compile(r"^\s*(\S+)\s+-\s+(\S+)\s*$")
_WILDCARDS = ("x", "X", "*")


@functools.total_ordering
@dataclasses.dataclass(frozen=True)
class Version:
    """major.minor.patch[-prerelease]; build metadata is kept for display but never compared."""

    major: int
    minor: int
    patch: int
    prerelease: str = ""
    build: str = dataclasses.field(default="", compare=False)

    def __str__(self):
        return f"{self.major}.{self.minor}.{self.patch}" + (f"-{self.prerelease}" if self.prerelease else "") + \
            (f"+{self.build}" if self.build else "")

    def _key(self):
        return (self.major, self.minor, self.patch, _prerelease_key(self.prerelease))

    def __lt__(self, other):
        return self._key() < other._key()

    def __eq__(self, other):
        return isinstance(other, Version) and self._key() == other._key()

    def __hash__(self):
        return hash(self._key())


def parse_version(text):
    """A version as Helm accepts it (a leading v and missing minor/patch allowed); None when it is not one."""
    match = _VERSION_RE.fullmatch(str(text).strip())
    if not match:
        return None
    major, minor, patch, prerelease, build = match.groups()
    return Version(int(major), int(minor or 0), int(patch or 0), prerelease or "", build or "")


def _prerelease_key(prerelease):
    """A release sorts after its prereleases; numeric identifiers compare as numbers, below words."""
    if not prerelease:
        return (1, ())
    return (0, tuple((0, int(p), "") if p.isdigit() else (1, 0, p) for p in prerelease.split(".")))


@dataclasses.dataclass(frozen=True)
class _Comparison:
    operator: str
    version: Version

    def allows(self, version):
        bound = self.version
        return {
            "=": version == bound, "!=": version != bound, ">": version > bound, ">=": version >= bound,
            "<": version < bound, "<=": version <= bound,
        }[self.operator]


class Constraint:
    """An OR of AND-groups of comparisons; a prerelease only matches a group that names one."""

    def __init__(self, text):
        self.text = str(text).strip()
        self.groups = [_parse_group(group, self.text) for group in self.text.split("||")]

    def allows(self, version):
        return any(_group_allows(group, version) for group in self.groups)

    def best(self, versions):
        """The highest version allowed, or None."""
        allowed = [v for v in versions if self.allows(v)]
        return max(allowed) if allowed else None

    def __str__(self):
        return self.text


def _group_allows(group, version):
    if version.prerelease and not any(c.version.prerelease for c in group):
        return False
    return all(c.allows(version) for c in group)


def _parse_group(text, whole):
    text = text.strip()
    if text in ("",) + _WILDCARDS:
        return [_Comparison(">=", Version(0, 0, 0))]
    hyphen = _HYPHEN_RE.match(text)
    if hyphen:
        return _lower(">=", hyphen.group(1), whole) + _upper("<=", hyphen.group(2), whole)
    comparisons = []
    position = 0
    for match in _CONSTRAINT_RE.finditer(text):
        if text[position:match.start()].strip(" ,"):
            raise ChartError(f"version constraint {whole!r} cannot be read near {text[position:match.start()]!r}")
        comparisons.extend(_expand(match.group(1) or "=", match.group(2), whole))
        position = match.end()
    if text[position:].strip(" ,") or not comparisons:
        raise ChartError(f"version constraint {whole!r} cannot be read near {text[position:]!r}; "
                         "write it as Helm does, for example 1.2.3, ^1.2.0, ~1.2, >=1.0.0 <2.0.0 or 1.x")
    return comparisons


def _split(text, whole):
    """(numbers given, count of numbers before the first wildcard, prerelease)."""
    core, _dash, prerelease = text.partition("+")[0].partition("-")
    parts = core.split(".")
    numbers = []
    for part in parts:
        if part in _WILDCARDS:
            break
        numbers.append(int(part))
    if not numbers and parts[0] not in _WILDCARDS:
        raise ChartError(f"version constraint {whole!r}: {text!r} is not a version")
    return numbers, prerelease


def _version(numbers, prerelease=""):
    padded = (numbers + [0, 0, 0])[:3]
    return Version(padded[0], padded[1], padded[2], prerelease)


def _next(numbers):
    """The first version above every version that starts with these numbers."""
    if not numbers:
        return None
    bumped = numbers[:-1] + [numbers[-1] + 1]
    return _version(bumped)


def _lower(operator, text, whole):
    numbers, prerelease = _split(text, whole)
    return [_Comparison(operator, _version(numbers, prerelease))]


def _upper(operator, text, whole):
    numbers, prerelease = _split(text, whole)
    if len(numbers) < 3 and operator == "<=":
        upper = _next(numbers)
        return [_Comparison("<", upper)] if upper else []
    return [_Comparison(operator, _version(numbers, prerelease))]


def _expand(operator, text, whole):
    numbers, prerelease = _split(text, whole)
    exact = _version(numbers, prerelease)
    if operator in ("=",) and len(numbers) < 3:
        return _range(exact, _next(numbers))
    if operator == "!=" and len(numbers) < 3:
        upper = _next(numbers)
        return [_Comparison("<", exact)] + ([] if upper is None else [_Comparison(">=", upper)])
    if operator in ("~", "~>"):
        return _range(exact, _next(numbers[:2] if len(numbers) > 1 else numbers))
    if operator == "^":
        return _range(exact, _caret_ceiling(numbers))
    if operator == ">" and len(numbers) < 3:
        upper = _next(numbers)
        return [_Comparison(">=", upper)] if upper else [_Comparison("<", Version(0, 0, 0))]
    if operator in ("<=", "=<"):
        return _upper("<=", text, whole)
    return [_Comparison({"=>": ">="}.get(operator, operator), exact)]


def _caret_ceiling(numbers):
    """^ allows changes that do not modify the left-most non-zero number given."""
    for index, number in enumerate(numbers):
        if number != 0 or index == len(numbers) - 1:
            return _next(numbers[:index + 1])
    return None


def _range(lower, upper):
    return [_Comparison(">=", lower)] + ([_Comparison("<", upper)] if upper else [])
