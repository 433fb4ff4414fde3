# Copyright (c) 2026, airlock.airgap contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Platforms (os/arch/variant) as the OCI image index names them, and choosing among them.

arm64 is matched with or without its default variant v8, as containerd does, so asking for
linux/arm64 never silently misses an index entry written as linux/arm64/v8.
"""

from __future__ import annotations

import dataclasses

from ansible_collections.airlock.airgap.plugins.module_utils.errors import InvalidInput
from ansible_collections.airlock.airgap.plugins.module_utils.oci.errors import PlatformMissing

DEFAULT_VARIANTS = {"arm64": "v8"}


@dataclasses.dataclass(frozen=True)
class Platform:
    os: str
    architecture: str
    variant: str = ""

    def __str__(self):
        return "/".join(p for p in (self.os, self.architecture, self.variant) if p)

    def matches(self, other):
        if (self.os, self.architecture) != (other.os, other.architecture):
            return False
        default = DEFAULT_VARIANTS.get(self.architecture, "")
        return (self.variant or default) == (other.variant or default)


def parse(text):
    """'linux/arm64/v8' -> Platform; a clear error for anything else."""
    parts = (text or "").strip().split("/")
    if len(parts) not in (2, 3) or not all(parts):
        raise InvalidInput(f"platform {text!r} is not os/architecture[/variant], for example linux/amd64 or linux/arm64/v8")
    return Platform(*parts)


def of_descriptor(descriptor):
    platform = descriptor.get("platform") or {}
    return Platform(platform.get("os", ""), platform.get("architecture", ""), platform.get("variant", ""))


def of_config(config):
    return Platform(config.get("os", ""), config.get("architecture", ""), config.get("variant", ""))


def select(descriptors, wanted, what):
    """The index entries matching the wanted platforms; every wanted one must be there."""
    chosen = []
    for platform in wanted:
        found = [d for d in descriptors if platform.matches(of_descriptor(d))]
        if not found:
            available = ", ".join(sorted({str(of_descriptor(d)) for d in descriptors})) or "none"
            raise PlatformMissing(f"{what} has no {platform} image; it has: {available}. "
                                  "Ask for platforms the source has, or 'all'")
        chosen.extend(d for d in found if d not in chosen)
    return chosen
