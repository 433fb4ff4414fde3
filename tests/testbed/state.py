"""The testbed's state directory: where it is, who holds it, and what runs from it."""

import contextlib
import fcntl
import json
import os
import tempfile
import time

STATE_FILE = "testbed.json"


def default_dir():
    """One well-known place per user, so `down` and a later `up` find a running testbed."""
    explicit = os.environ.get("AIRLOCK_TESTBED_DIR")
    if explicit:
        return os.path.abspath(explicit)
    return os.path.join(tempfile.gettempdir(), f"airlock-testbed-{os.getuid()}")


@contextlib.contextmanager
def exclusive(state_dir, wait=True, patience=0.0):
    """Hold the testbed's lock so two `up`/`down` never interleave.

    With wait=False a lock held for longer than patience seconds raises BlockingIOError:
    the caller refuses clearly instead of hanging.
    """
    os.makedirs(state_dir, exist_ok=True)
    with open(os.path.join(state_dir, ".lock"), "a+", encoding="utf-8") as handle:
        if wait:
            fcntl.flock(handle, fcntl.LOCK_EX)
        else:
            _lock_within(handle, patience)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _lock_within(handle, patience):
    deadline = time.monotonic() + patience
    while True:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return
        except BlockingIOError:
            if time.monotonic() >= deadline:
                raise
            time.sleep(0.5)


def load(state_dir):
    """The recorded state, or an empty one when none was written."""
    try:
        with open(os.path.join(state_dir, STATE_FILE), encoding="utf-8") as handle:
            return json.load(handle)
    except FileNotFoundError:
        return {"services": {}}


def save(state_dir, state):
    """Write atomically: a crash mid-write never leaves a state file that lies."""
    path = os.path.join(state_dir, STATE_FILE)
    temporary = f"{path}.tmp.{os.getpid()}"
    with open(temporary, "w", encoding="utf-8") as handle:
        json.dump(state, handle, indent=2, sort_keys=True)
    os.replace(temporary, path)


def forget(state_dir):
    with contextlib.suppress(FileNotFoundError):
        os.unlink(os.path.join(state_dir, STATE_FILE))
