# Copyright (c) 2026, airlock.airgap contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""A machine architecture, as `uname -m` or Docker reports it, as the platform image indexes name."""

from __future__ import annotations

import platform as host

from ansible_collections.airlock.airgap.plugins.module_utils.oci import platforms
from ansible_collections.airlock.airgap.plugins.module_utils.runtime.errors import RuntimeFailure

ARCHITECTURES = {"x86_64": ("amd64", ""), "amd64": ("amd64", ""), "aarch64": ("arm64", "v8"), "arm64": ("arm64", "v8"),
                 "armv7l": ("arm", "v7"), "armv6l": ("arm", "v6"), "ppc64le": ("ppc64le", ""), "s390x": ("s390x", ""),
                 "riscv64": ("riscv64", "")}


def node_platform(machine=None):
    """linux/<arch>[/variant] of this node (or of the machine named), as image indexes name it."""
    machine = machine or host.machine()
    if machine not in ARCHITECTURES:
        raise RuntimeFailure(f"unknown machine architecture {machine!r}; set platform, for example linux/amd64")
    architecture, variant = ARCHITECTURES[machine]
    return platforms.Platform("linux", architecture, variant)
