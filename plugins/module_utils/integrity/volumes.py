# Copyright (c) 2026, airlock.airgap contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""One byte stream written as numbered volumes of a fixed size, and read back as one.

Removable media have file size limits (4 GiB on FAT32), so the transfer tar is cut like
`split -b`: each volume is hashed as it is written, takes its final name only when it is
complete, and is verified again before anything reads it on the far side.
"""

from __future__ import annotations

import hashlib
import os
import queue
import tempfile
import threading

from ansible_collections.airlock.airgap.plugins.module_utils.errors import InvalidInput


class VolumeWriter:
    """A write-only file object spilling into NAME.000, NAME.001, … of at most volume_size bytes."""

    def __init__(self, directory, name, volume_size):
        if volume_size <= 0:
            raise InvalidInput("volume_size must be positive")
        self.directory, self.name, self.volume_size = directory, name, volume_size
        self.volumes = []  # [{"name", "size", "sha256"}] of completed volumes
        self._handle = self._temporary = self._hasher = None
        self._written = 0

    def write(self, data):
        view = memoryview(data)
        while view:
            if self._handle is None:
                self._open()
            room = self.volume_size - self._written
            piece = view[:room]
            self._handle.write(piece)
            self._hasher.update(piece)
            self._written += len(piece)
            view = view[len(piece):]
            if self._written == self.volume_size:
                self._finish()
        return len(data)

    def close(self):
        if self._handle is not None:
            self._finish()

    def abort(self):
        """Remove the volume being written: never leave a half volume under a final name."""
        if self._handle is not None:
            self._handle.close()
            self._hasher.hexdigest()  # let its thread end
            os.unlink(self._temporary)
            self._handle = None

    def _open(self):
        descriptor, self._temporary = tempfile.mkstemp(prefix=f".{self.name}.partial-", dir=self.directory)
        self._handle = os.fdopen(descriptor, "wb")
        self._hasher, self._written = _BackgroundHasher(), 0

    def _finish(self):
        self._handle.flush()
        os.fsync(self._handle.fileno())
        self._handle.close()
        self._handle = None
        name = f"{self.name}.{len(self.volumes):03d}"
        os.chmod(self._temporary, 0o644)
        os.replace(self._temporary, os.path.join(self.directory, name))
        self.volumes.append({"name": name, "size": self._written, "sha256": self._hasher.hexdigest()})


class _BackgroundHasher:
    """sha256 on another core while the volume is written (hashlib releases the GIL)."""

    def __init__(self):
        self._hasher = hashlib.sha256()
        self._queue = queue.Queue(maxsize=64)
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        self._digest = None

    def update(self, data):
        self._queue.put(bytes(data))

    def hexdigest(self):
        if self._digest is None:
            self._queue.put(None)
            self._thread.join()
            self._digest = self._hasher.hexdigest()
        return self._digest

    def _run(self):
        for block in iter(self._queue.get, None):
            self._hasher.update(block)


class VolumeReader:
    """The volumes, in order, as one seekable read-only file (no reassembled copy on disk)."""

    def __init__(self, paths):
        self.paths = list(paths)
        self.sizes = [os.path.getsize(p) for p in self.paths]
        self.starts = [sum(self.sizes[:n]) for n in range(len(self.sizes))]
        self.total = sum(self.sizes)
        self.position = 0
        self._open = {}

    def seekable(self):
        return True

    def readable(self):
        return True

    def tell(self):
        return self.position

    def seek(self, offset, whence=os.SEEK_SET):
        base = {os.SEEK_SET: 0, os.SEEK_CUR: self.position, os.SEEK_END: self.total}[whence]
        self.position = max(0, base + offset)
        return self.position

    def read(self, size=-1):
        wanted = self.total - self.position if size is None or size < 0 else min(size, self.total - self.position)
        chunks = []
        while wanted > 0:
            number = self._volume_at(self.position)
            handle = self._handle(number)
            handle.seek(self.position - self.starts[number])
            data = handle.read(min(wanted, self.starts[number] + self.sizes[number] - self.position))
            if not data:
                break
            chunks.append(data)
            self.position += len(data)
            wanted -= len(data)
        return b"".join(chunks)

    def close(self):
        for handle in self._open.values():
            handle.close()
        self._open.clear()

    def _volume_at(self, position):
        number = 0
        while number + 1 < len(self.starts) and self.starts[number + 1] <= position:
            number += 1
        return number

    def _handle(self, number):
        if number not in self._open:
            self._open[number] = open(self.paths[number], "rb")  # pylint: disable=consider-using-with
        return self._open[number]
