# Copyright (c) 2026, airlock.airgap contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The error types the model engines raise for bad input, bad sources and bad stores."""

from __future__ import annotations

from ansible_collections.airlock.airgap.plugins.module_utils.errors import AirlockError


class ModelError(AirlockError):
    """A model could not be staged, pushed, pulled or verified; the message names the thing and the fix.
    details are extra result keys for the failed task (a list a playbook can loop over)."""

    def __init__(self, message, **details):
        super().__init__(message)
        self.details = details


class CorruptedFile(ModelError):
    """A file whose bytes are not the ones its record names. It carries the record's entry and what was
    found, so that a caller trying many files can name every corrupted one in one error."""

    def __init__(self, message, entry, found):
        super().__init__(message)
        self.entry = entry
        self.found = found


class CorruptedFiles(ModelError):
    """Every file of one parallel run that did not verify, raised once all of them were tried."""

    def __init__(self, failures):
        super().__init__("; ".join(str(failure) for failure in failures))
        self.failures = failures
