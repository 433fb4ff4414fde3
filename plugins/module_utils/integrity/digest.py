# Copyright (c) 2026, airlock.airgap contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Content digests: parse them strictly and verify bytes against them while they stream.

Every byte that crosses the air gap is checked against the digest that names it, as it
passes, so nothing unverified is ever committed under a trusted name.
"""

from __future__ import annotations

import hashlib
import re

from ansible_collections.airlock.airgap.plugins.module_utils.errors import AirlockError, InvalidInput

_HEX_LENGTHS = {"sha256": 64, "sha384": 96, "sha512": 128}
_DIGEST = re.compile(r"^(sha256|sha384|sha512):([a-f0-9]+)$")
READ_SIZE = 1024 * 1024
FILE_READ_SIZE = 4 * 1024 * 1024
# Hashing reads into a buffer that stays in a core's L2 cache between the read and the hash: with
# 4 MiB the bytes leave the cache before SHA-256 reaches them, which costs a tenth more CPU per byte.
HASH_READ_SIZE = 256 * 1024


class DigestMismatch(AirlockError, ValueError):
    """The bytes received are not the bytes the digest names."""

    def __init__(self, what, expected, actual):
        super().__init__(f"{what}: content digest is {actual}, expected {expected}; the source served "
                         "corrupted or different content, nothing was committed")
        self.expected = expected
        self.actual = actual


def parse(digest):
    """Split 'sha256:<hex>' into (algorithm, hex); refuse anything else by name."""
    match = _DIGEST.match(digest or "")
    if not match or len(match.group(2)) != _HEX_LENGTHS[match.group(1)]:
        raise InvalidInput(f"{digest!r} is not a valid content digest (expected sha256:<64 hex>, sha384:<96 hex> or sha512:<128 hex>)")
    return match.group(1), match.group(2)


def of_bytes(data, algorithm="sha256"):
    return f"{algorithm}:{hashlib.new(algorithm, data).hexdigest()}"


def of_file(path, algorithm="sha256"):
    return f"{algorithm}:{hex_of_file(path, algorithm)}"


def hex_of_file(path, algorithm="sha256"):
    """The file's digest in hex; reads into one reused buffer, each hashed without the GIL."""
    with open(path, "rb", buffering=0) as handle:
        return hex_of_open_file(handle, algorithm)


def hex_of_open_file(handle, algorithm="sha256"):
    """hex_of_file for a file already open (one opened without following links, say), read from where it stands."""
    hasher = hashlib.new(algorithm)
    buffer = bytearray(HASH_READ_SIZE)
    view = memoryview(buffer)
    for count in iter(lambda: handle.readinto(buffer), 0):
        hasher.update(view[:count])
    return hasher.hexdigest()


class Verifier:
    """Hash bytes as they pass; check() at the end raises unless they match the digest and size."""

    def __init__(self, expected, size=None, what="blob"):
        self.expected = expected
        self.algorithm = parse(expected)[0]
        self.size = size
        self.what = what
        self.count = 0
        self._hasher = hashlib.new(self.algorithm)

    def update(self, block):
        self._hasher.update(block)
        self.count += len(block)
        if self.size is not None and self.count > self.size:
            raise DigestMismatch(self.what, self.expected, f"more than the {self.size} bytes declared")

    def through(self, chunks):
        """Pass chunks on as they are hashed; once they end, check() (raising DigestMismatch unless they match)."""
        for block in chunks:
            self.update(block)
            yield block
        self.check()

    def check(self):
        if self.size is not None and self.count != self.size:
            raise DigestMismatch(self.what, f"{self.expected} ({self.size} bytes)", f"{self.count} bytes")
        actual = f"{self.algorithm}:{self._hasher.hexdigest()}"
        if actual != self.expected:
            raise DigestMismatch(self.what, self.expected, actual)
