# Copyright (c) 2026, airlock.airgap contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""One root for every failure an engine reports to a user, and one way for a module to report it.

Every engine error derives from AirlockError, so a module catches one class; the machine's
own faults (a full disk, a permission, a refused connection: OSError, which includes the
requests library's errors) are the only other thing a module expects. Anything else is a
bug in this collection and keeps its traceback as a bug (compare kubernetes.core's
``fail_from_exception``).
"""

from __future__ import annotations

import traceback


class AirlockError(Exception):
    """Base of every failure an engine reports to a user; its message names the thing and the fix."""


class InvalidInput(AirlockError, ValueError):
    """An option or a value read from input has the wrong shape. Also a ValueError, for the callers
    that validate values with the standard library's conventions."""


EXPECTED_ERRORS = (AirlockError, OSError)


def message_of(error, where=None):
    """The user-facing text of an expected error. An OSError names its file (else where, the path the
    task works on) and the reason, not an errno tuple."""
    if isinstance(error, OSError) and error.strerror:
        subject = error.filename if error.filename is not None else where
        return f"{subject}: {error.strerror}" if subject else error.strerror
    return str(error)


def fail_from_exception(module, error, msg=None, where=None, **result):
    """Fail the task with the error's clear message, and its traceback (with the chain of causes)
    in ``exception`` so that ``-vvv`` shows where the failure came from. A ModelError's details
    (extra result keys, such as the files that failed) are returned with it."""
    details = getattr(error, "details", None) or {}
    text = msg if msg is not None else message_of(error, where)
    module.fail_json(msg=text, exception="".join(traceback.format_exception(error)), **{**details, **result})
