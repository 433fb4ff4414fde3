# Copyright (c) 2026, airlock.airgap contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The one error type the model engines raise for bad input, bad sources and bad stores."""

from __future__ import annotations


class ModelError(Exception):
    """A model could not be staged, pushed, pulled or verified; the message names the thing and the fix."""
