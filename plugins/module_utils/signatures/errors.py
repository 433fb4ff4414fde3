# Copyright (c) 2026, airlock.airgap contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The one error of the signature engine: its message names the thing refused and the fix."""

from __future__ import annotations


class SignatureError(ValueError):
    """A signature, key, policy or trusted root that cannot be used or does not verify."""
