# Copyright (c) 2026, airlock.airgap contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Errors of the OCI engine, each worded to name the image and the fix."""

from __future__ import annotations

from ansible_collections.airlock.airgap.plugins.module_utils.errors import AirlockError
from ansible_collections.airlock.airgap.plugins.module_utils.http.transport import HttpError


class OciError(AirlockError):
    """Base of every failure the OCI engine reports to a user."""


class RegistryError(OciError, HttpError):
    """The registry answered with an error, or could not be reached within the retries (status and code say what it answered)."""


class AuthenticationError(RegistryError):
    """The registry refused our credentials (or we had none and it needs some)."""


class NotFound(RegistryError):
    """The repository, tag, manifest or blob does not exist there."""


class PlatformMissing(OciError):
    """A requested platform is not in the source image."""
