# Copyright (c) 2026, airlock.airgap contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The one error of the signature engine: its message names the thing refused and the fix."""

from __future__ import annotations

from ansible_collections.airlock.airgap.plugins.module_utils.errors import AirlockError


class SignatureError(AirlockError, ValueError):
    """A signature, key, policy or trusted root that cannot be used or does not verify."""
