# Copyright (c) 2026, airlock.airgap contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The runtime engines' error, in a module of its own so every runtime module can raise it without importing another."""

from __future__ import annotations

from ansible_collections.airlock.airgap.plugins.module_utils.oci.errors import OciError


class RuntimeFailure(OciError):
    """The container runtime is missing, unreachable or refused; the message says which and what to do."""
