# Copyright (c) 2026, airlock.airgap contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The one error the chart engine reports to users, worded to name the chart and the fix."""

from __future__ import annotations

from ansible_collections.airlock.airgap.plugins.module_utils.errors import AirlockError


class ChartError(AirlockError):
    """A chart cannot be read, resolved, fetched, completed or pushed; the message says which and why."""
