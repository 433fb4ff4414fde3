# Copyright (c) 2026, airlock.airgap contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""JSON read from outside (registries, archives, layouts, lock files, helpers' output), parsed into a
clear error instead of the standard library's ValueError, which a module would not expect."""

from __future__ import annotations

import json

from ansible_collections.airlock.airgap.plugins.module_utils.errors import InvalidInput


def parse(raw, what):
    """The JSON value of raw (bytes or text); InvalidInput naming what when it is not JSON."""
    try:
        return json.loads(raw)
    except ValueError as error:
        raise InvalidInput(f"{what} is not valid JSON ({error})") from error


def read(path, what=None):
    """The JSON value of the file at path (read as UTF-8); InvalidInput naming it when it is not JSON, or
    when the path itself cannot name a file (a NUL byte, which open() reports as a ValueError)."""
    if "\0" in str(path):
        raise InvalidInput(f"{path!r} cannot name a file: it holds a NUL byte")
    with open(path, "rb") as handle:
        return parse(handle.read(), what or path)


def read_written(path, error, missing, unreadable):
    """The JSON value of a file the collection wrote earlier (an index, a lock, a report). error(missing) when
    the file is not there, error(unreadable with {} as the reason) when it cannot be read or is not JSON: each
    caller keeps its own error class and says in its own words how to mend it."""
    try:
        with open(path, "rb") as handle:
            return json.loads(handle.read())
    except FileNotFoundError as failure:
        raise error(missing) from failure
    except (OSError, ValueError) as failure:
        raise error(unreadable.format(failure)) from failure
