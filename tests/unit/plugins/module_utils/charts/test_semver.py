"""Versions and constraints chosen as Helm (Masterminds/semver v3) chooses them."""

import pytest

from ansible_collections.airlock.airgap.plugins.module_utils.charts import semver
from ansible_collections.airlock.airgap.plugins.module_utils.charts.errors import ChartError

AVAILABLE = [semver.parse_version(v) for v in (
    "0.0.3", "0.1.0", "0.1.7", "0.2.0", "0.3.0-rc.1", "1.0.0", "1.2.0", "1.2.9", "1.3.0", "2.0.0-beta.2", "2.0.0", "2.1.0")]


@pytest.mark.parametrize("constraint, chosen", [
    ("", "2.1.0"),
    ("*", "2.1.0"),
    ("1.2.0", "1.2.0"),
    ("=1.2.0", "1.2.0"),
    ("v1.2.0", "1.2.0"),
    ("1.2", "1.2.9"),
    ("1.2.x", "1.2.9"),
    ("1.x", "1.3.0"),
    ("~1.2.0", "1.2.9"),
    ("~1", "1.3.0"),
    ("~> 0.1", "0.1.7"),
    ("^1.2.0", "1.3.0"),
    ("^0.1.0", "0.1.7"),
    ("^0.0.3", "0.0.3"),
    ("^0", "0.2.0"),
    (">=0.1.0 <1.0.0", "0.2.0"),
    (">= 0.1.0, < 1.0.0", "0.2.0"),
    (">1.2", "2.1.0"),
    ("<1.2.0", "1.0.0"),
    ("<=1.2", "1.2.9"),
    ("1.0.0 - 1.2", "1.2.9"),
    ("1.0.0 - 1.2.0", "1.2.0"),
    ("^1.0.0 || ^2.0.0", "2.1.0"),
    ("<1.0.0 || 1.2.x", "1.2.9"),
    ("!=2.1.0", "2.0.0"),
    (">=0.3.0-rc.0 <0.4.0", "0.3.0-rc.1"),
])
def test_the_highest_allowed_version_is_chosen(constraint, chosen):
    assert str(semver.Constraint(constraint).best(AVAILABLE)) == chosen


def test_a_prerelease_is_only_chosen_when_the_constraint_names_one():
    assert semver.Constraint(">=0.2.0 <1.0.0").best(AVAILABLE) == semver.parse_version("0.2.0")
    assert semver.Constraint(">=2.0.0-0").allows(semver.parse_version("2.0.0-beta.2"))


def test_nothing_allowed_gives_none():
    assert semver.Constraint(">=3.0.0").best(AVAILABLE) is None


def test_prereleases_sort_below_their_release_and_numerically():
    ordered = ["1.0.0-alpha", "1.0.0-alpha.1", "1.0.0-alpha.beta", "1.0.0-beta", "1.0.0-beta.2", "1.0.0-beta.11", "1.0.0-rc.1", "1.0.0"]
    assert sorted(semver.parse_version(v) for v in reversed(ordered)) == [semver.parse_version(v) for v in ordered]


def test_build_metadata_is_kept_but_not_compared():
    version = semver.parse_version("1.2.3+build.7")
    assert str(version) == "1.2.3+build.7" and version == semver.parse_version("1.2.3")


@pytest.mark.parametrize("text", ["banana", ">=1.0.0 <", "1.0.0 ~~ 2", ">= one"])
def test_unreadable_constraints_are_named(text):
    with pytest.raises(ChartError, match="version constraint"):
        semver.Constraint(text)


def test_unparsable_versions_are_none():
    assert semver.parse_version("latest") is None
