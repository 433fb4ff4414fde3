# Copyright (c) 2026, airlock.airgap contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The progress file a long step writes while it runs, for the role that polls it (and a person who watches it).

The file is JSON (bytes_done, bytes_total, files_done, files_total, seconds, bytes_per_second, unsized, items), replaced
whole by a rename, at most once per interval and once more when the step ends. A step that learns its size as it
goes (an image copy reads each image's manifests while earlier layers move; a model is sized as it is staged) starts
with `unsized` items, grows the total with `expect` and counts each item down with `sized`: until none is left, the
total is a lower bound and the progress line says so.
"""

from __future__ import annotations

import json
import threading
import time

from ansible_collections.airlock.airgap.plugins.module_utils.integrity import atomic


class Progress:
    """Bytes done so far, written now and then to a JSON file; with no path, it only counts (check mode writes nothing)."""

    def __init__(self, path, total_bytes=0, total_files=0, interval=1.0, unsized=0):  # pylint: disable=too-many-arguments
        self.path = path
        self.total_bytes, self.total_files = total_bytes, total_files
        self.done_bytes = self.done_files = 0
        self.unsized = self.items = unsized
        self.started = self._last = time.monotonic()
        self.interval = interval
        self._lock = threading.Lock()

    def expect(self, size, files=1):
        """More work learnt while the step runs (a blob named by a manifest just read)."""
        with self._lock:
            self.total_bytes += size
            self.total_files += files

    def sized(self):
        """One of the unsized items has all its bytes in the total now."""
        with self._lock:
            self.unsized = max(0, self.unsized - 1)

    def advance(self, size, files=1):
        with self._lock:
            self.done_bytes += size
            self.done_files += files
            whole = self.done_files == self.total_files and not self.unsized
            if self.path and (time.monotonic() - self._last >= self.interval or whole):
                self._write()

    def finish(self):
        """The last state, written whatever the interval: the role prints it once the step has ended."""
        if self.path:
            with self._lock:
                self._write()

    def _write(self):
        self._last = time.monotonic()
        elapsed = self._last - self.started
        atomic.write_text(self.path, durable=False, text=json.dumps({
            "files_done": self.done_files, "files_total": self.total_files, "bytes_done": self.done_bytes,
            "bytes_total": self.total_bytes, "unsized": self.unsized, "items": self.items, "seconds": round(elapsed, 1),
            "bytes_per_second": int(self.done_bytes / elapsed) if elapsed else 0}) + "\n")
