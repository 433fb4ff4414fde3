"""Platform parsing and selection from an index, arm64's default variant included."""

import pytest

from ansible_collections.airlock.airgap.plugins.module_utils.oci import platforms
from ansible_collections.airlock.airgap.plugins.module_utils.oci.errors import PlatformMissing

INDEX = [
    {"digest": "sha256:a", "platform": {"os": "linux", "architecture": "amd64"}},
    {"digest": "sha256:b", "platform": {"os": "linux", "architecture": "arm64", "variant": "v8"}},
    {"digest": "sha256:c", "platform": {"os": "linux", "architecture": "arm", "variant": "v7"}},
]


@pytest.mark.parametrize("text", ["linux", "linux/", "/amd64", "linux/arm64/v8/x", ""])
def test_parse_refuses_what_is_not_os_arch_variant(text):
    with pytest.raises(ValueError, match="os/architecture"):
        platforms.parse(text)


@pytest.mark.parametrize("wanted,digests", [
    ("linux/amd64", ["sha256:a"]),
    ("linux/arm64", ["sha256:b"]),
    ("linux/arm64/v8", ["sha256:b"]),
    ("linux/arm/v7", ["sha256:c"]),
])
def test_select_matches_arm64_with_or_without_v8(wanted, digests):
    assert [d["digest"] for d in platforms.select(INDEX, [platforms.parse(wanted)], "img")] == digests


def test_select_keeps_order_and_no_duplicates():
    wanted = [platforms.parse("linux/arm64"), platforms.parse("linux/amd64"), platforms.parse("linux/arm64/v8")]
    assert [d["digest"] for d in platforms.select(INDEX, wanted, "img")] == ["sha256:b", "sha256:a"]


def test_missing_platform_lists_what_the_source_has():
    with pytest.raises(PlatformMissing, match=r"img has no linux/s390x image; it has: linux/amd64, linux/arm/v7, linux/arm64/v8"):
        platforms.select(INDEX, [platforms.parse("linux/s390x")], "img")


def test_arm_v7_does_not_match_arm_v6():
    assert not platforms.parse("linux/arm/v6").matches(platforms.parse("linux/arm/v7"))
