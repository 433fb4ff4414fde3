# Copyright (c) 2026, airlock.airgap contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The files of a packed bundle, read in place from its volumes: no unpacked copy on disk.

Publishing from the volumes needs about no disk beyond them (unpacking first needs the
bundle's size again). The tar headers are read once and checked as an unpack checks them;
each file is then read straight from the volumes through its own handle, so several readers
may stream at once. What is not named by its digest (index.json, a model's refs) is checked
against the bundle's SHA256SUMS as it is read; blobs are checked against their digests by
whoever streams them (the copy engine, the model push). What must be on disk after all (the
lock, charts) is unpacked alone, each file checked against SHA256SUMS before it takes its name.
Proving the volumes whole is bundle.verify_volumes' job (the receive role's `state: verified`),
done before.
"""

from __future__ import annotations

import hashlib
import io
import os
import stat
import tarfile

from ansible_collections.airlock.airgap.plugins.module_utils.integrity import bundle, bundle_index, digest as digests, sums
from ansible_collections.airlock.airgap.plugins.module_utils.integrity.confined import ConfinedRoot, parts_of
from ansible_collections.airlock.airgap.plugins.module_utils.integrity.volumes import VolumeReader

# A zstd-packed file up to this size is decompressed into memory when opened (a seekable upload body); a larger one
# streams forward only (a multipart upload reads it so).
SMALL_FILE = 64 * 1024 * 1024


class _Forward(io.RawIOBase):
    """Blocks from a generator as a file that reads only forward."""

    def __init__(self, blocks):
        super().__init__()
        self.blocks, self.pending = blocks, b""

    def readable(self):
        return True

    def readinto(self, buffer):
        while not self.pending:
            self.pending = next(self.blocks, b"")
            if not self.pending:
                return 0
        count = min(len(buffer), len(self.pending))
        buffer[:count] = self.pending[:count]
        self.pending = self.pending[count:]
        return count


class _Window(io.RawIOBase):
    """size bytes from offset of a VolumeReader, as a file of their own (read, seek, tell)."""

    def __init__(self, reader, offset, size):
        super().__init__()
        self.reader, self.offset, self.length, self.position = reader, offset, size, 0

    def readable(self):
        return True

    def seekable(self):
        return True

    def tell(self):
        return self.position

    def seek(self, offset, whence=os.SEEK_SET):
        base = {os.SEEK_SET: 0, os.SEEK_CUR: self.position, os.SEEK_END: self.length}[whence]
        self.position = min(max(0, base + offset), self.length)
        return self.position

    def read(self, size=-1):
        wanted = self.length - self.position if size is None or size < 0 else min(size, self.length - self.position)
        self.reader.seek(self.offset + self.position)
        data = self.reader.read(wanted)
        self.position += len(data)
        return data

    def readinto(self, buffer):
        data = self.read(len(buffer))
        buffer[:len(data)] = data
        return len(data)

    def close(self):
        self.reader.close()
        super().close()


class BundleFiles:
    """Read-only access to the regular files a bundle's volumes hold, by their path in the bundle."""

    def __init__(self, volumes_dir, name):
        self.volumes_dir, self.name = os.path.abspath(volumes_dir), name
        self.where = f"{os.path.join(self.volumes_dir, name)}.tar.*"
        try:
            index = bundle_index.load(os.path.join(volumes_dir, name + bundle_index.INDEX_SUFFIX), name)
        except bundle_index.BundleIndexError as error:
            raise bundle.BundleError(str(error)) from error
        if index.get("base"):
            raise bundle.BundleError(f"{name} is differential: it holds only what changed since the bundle it extends, so it cannot be "
                                     "published in place; unpack it onto that bundle (bundle state: unpacked) and publish from there")
        self.paths = [os.path.join(volumes_dir, volume["name"]) for volume in index["volumes"]]
        reader = VolumeReader(self.paths)
        try:
            with tarfile.open(fileobj=reader, mode="r:", bufsize=bundle.TAR_BUFFER) as tar:
                members = bundle._checked_members(tar, name, self.where)  # pylint: disable=protected-access
        finally:
            reader.close()
        self.entries = {"/".join(parts_of(m.name, "tar entry")): m for m in members}
        self.members = {relative: m for relative, m in self.entries.items() if m.isfile()}
        self._sums = None

    def size(self, relative):
        """The file's size in bytes, or None when the bundle holds no such regular file."""
        member = self.members.get(relative)
        return None if member is None else bundle._original_size(member)  # pylint: disable=protected-access

    def chunks(self, relative):
        """The file's bytes as they stream out of the volumes (a zstd-packed file decompressed on the way)."""
        member = self.members.get(relative)
        if member is None:
            raise FileNotFoundError(f"{relative} is not in the bundle {self.where}")
        reader = VolumeReader(self.paths)
        try:
            # A TarFile over this reader only to stream the member: its headers were checked once, in __init__.
            with tarfile.open(fileobj=reader, mode="r:", bufsize=bundle.TAR_BUFFER) as tar:
                yield from bundle._member_blocks(tar, member)  # pylint: disable=protected-access
        finally:
            reader.close()

    def open(self, relative):
        """The file as a read-only file object: seekable over its bytes in the volumes when stored as is. A zstd-packed
        file is decompressed as it is read: held in memory when small, else a stream that reads only forward."""
        member = self.members.get(relative)
        if member is None:
            raise FileNotFoundError(f"{relative} is not in the bundle {self.where}")
        if bundle.COMPRESSION_KEY not in member.pax_headers:
            return _Window(VolumeReader(self.paths), member.offset_data, member.size)
        if self.size(relative) <= SMALL_FILE:
            return io.BytesIO(b"".join(self.chunks(relative)))
        return _Forward(self.chunks(relative))

    def read_verified(self, relative):
        """The whole (small) file, refused unless it matches the bundle's SHA256SUMS."""
        data = b"".join(self.chunks(relative))
        self._check_listed(relative, hashlib.sha256(data).hexdigest())
        return data

    def _check_listed(self, relative, actual):
        """SHA256SUMS itself is proven by the volumes' digests (bundle.verify_volumes); every other file by it."""
        if relative == sums.SUMS_NAME:
            return
        listed = self._listed().get(relative)
        if listed is None:
            raise bundle.BundleError(f"{relative} in {self.where} is not listed in the bundle's {sums.SUMS_NAME}, so nothing proves it; "
                                     "pack the bundle again after sealing it with the checksum module")
        if listed.removeprefix("sha256:") != actual:
            raise bundle.BundleError(f"{relative} in {self.where} does not match the bundle's {sums.SUMS_NAME} (sha256 {actual}, listed "
                                     f"{listed}): the volumes were changed since they were verified; copy them again")

    def extract(self, target, keep=(), check_mode=False):
        """Unpack the bundle into target except its top folders named in keep (images/), which stay in the volumes
        to be read there in place. Each file is checked against SHA256SUMS before it takes its name; a file already
        there with the listed digest is kept. Returns {"written", "unchanged", "bytes_written"} (in check mode: what would be)
        and the Verification of every regular file unpacked or kept, each proven against SHA256SUMS."""
        if not check_mode:
            os.makedirs(target, exist_ok=True)
        tree = ConfinedRoot(target)
        counts = {"written": 0, "unchanged": 0, "bytes_written": 0}
        proven = sums.Verification()
        for relative, member in sorted(self.entries.items()):
            if relative.split("/", 1)[0] in keep:
                continue
            if member.isdir():
                if not check_mode:
                    tree.makedirs(relative)
            elif member.issym():
                same = tree.readlink(relative) == member.linkname
                counts["unchanged" if same else "written"] += 1
                if not (same or check_mode):
                    tree.symlink(relative, member.linkname)
            elif self._holds_listed(tree, relative):
                counts["unchanged"] += 1
                proven.digests[relative] = self._listed_digest(relative)
            else:
                counts["written"] += 1
                counts["bytes_written"] += self.size(relative)
                if not check_mode:
                    fill, check = self._verified_writer(relative)
                    tree.write(relative, fill, mode=member.mode & 0o755 | 0o644, mtime=member.mtime, before_commit=check)
                    proven.digests[relative] = self._listed_digest(relative)
        proven.checked = len(proven.digests)
        proven.bytes = sum(self.size(relative) for relative in proven.digests)
        return counts, proven

    def _holds_listed(self, tree, relative):
        """Whether the tree already holds this file with the digest SHA256SUMS lists (never followed through a link)."""
        status = tree.status(relative)
        if status is None or not stat.S_ISREG(status.st_mode) or status.st_size != self.size(relative):
            return False
        with tree.open_read(relative) as handle:
            return digests.hex_of_open_file(handle) == self._listed_digest(relative)

    def _listed_digest(self, relative):
        """The digest SHA256SUMS lists for the file; SHA256SUMS itself is taken as the verified volumes hold it."""
        if relative == sums.SUMS_NAME:
            return hashlib.sha256(b"".join(self.chunks(relative))).hexdigest()
        return self._listed().get(relative)

    def _verified_writer(self, relative):
        """(fill, check) for ConfinedRoot.write: fill streams the file out of the volumes hashing it, check refuses
        the temporary file unless that digest is the one SHA256SUMS lists."""
        hasher = hashlib.sha256()

        def fill(handle):
            for block in self.chunks(relative):
                hasher.update(block)
                handle.write(block)

        def check(_handle):
            self._check_listed(relative, hasher.hexdigest())
        return fill, check

    def _listed(self):
        if self._sums is None:
            if sums.SUMS_NAME not in self.members:
                raise bundle.BundleError(f"{self.where} holds no {sums.SUMS_NAME}, so nothing proves its files; seal the bundle with the "
                                         "checksum module (state: present) and pack it again")
            text = b"".join(self.chunks(sums.SUMS_NAME)).decode("utf-8", "surrogateescape")
            self._sums = sums.parse(text, f"{self.where}/{sums.SUMS_NAME}")
        return self._sums
