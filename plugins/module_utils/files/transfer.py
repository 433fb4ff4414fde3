# Copyright (c) 2026, airlock.airgap contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""One file into a folder, verified while it streams, under its name only once its sha256 matches.

The bytes go to ``.airlock-partial-<name>`` beside the final name and are hashed as they are
written. An HTTP download (through the collection's HTTP transport) cut midway resumes where it
stopped (``Range``, with ``If-Range`` so a file that changed meanwhile starts over); a download that keeps failing leaves its partial file,
and the next run resumes it when the sha256 is known (the final check then covers every byte).
Bytes that do not match are deleted: nothing unverified ever gets the final name.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
import urllib.parse

from ansible_collections.airlock.airgap.plugins.module_utils.errors import AirlockError
from ansible_collections.airlock.airgap.plugins.module_utils.http import transport
from ansible_collections.airlock.airgap.plugins.module_utils.integrity.confined import TEMPORARY_PREFIX, parts_of
from ansible_collections.airlock.airgap.plugins.module_utils.integrity.digest import FILE_READ_SIZE

SHA256_HEX = re.compile(r"^[0-9a-f]{64}$")


class FileError(AirlockError):
    """A file could not be fetched, verified or placed; the message names it and the fix."""


def check_name(name, what="file"):
    """A file name from outside: one component, not hidden (temporary names start with a dot), no NUL."""
    parts = parts_of(name, what) if isinstance(name, str) else None
    if not parts or len(parts) != 1 or name != parts[0] or name.startswith("."):
        raise FileError(f"{what} name {name!r} must be one plain file name (no '/', not starting with '.')")
    return name


def check_sha256(value, what):
    """A sha256 as 64 lowercase hex (a 'sha256:' prefix is accepted), or None when not given."""
    if value in (None, ""):
        return None
    text = str(value).strip().lower()
    text = text[len("sha256:"):] if text.startswith("sha256:") else text
    if not SHA256_HEX.match(text):
        raise FileError(f"{what}: sha256 {value!r} is not 64 hex characters")
    return text


def partial_path(folder, name):
    return os.path.join(folder, f"{TEMPORARY_PREFIX}{check_name(name)}")


def holds(path, sha256):
    """Whether the regular file at path (not a link) holds bytes of this sha256."""
    try:
        descriptor = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC)
    except OSError:
        return False
    with os.fdopen(descriptor, "rb", buffering=0) as handle:
        return hash_open(handle)[1] == sha256


def hash_open(handle):
    """(size, sha256 hex) of an open file, read from where it stands."""
    hasher = hashlib.sha256()
    size = 0
    for block in iter(lambda: handle.read(FILE_READ_SIZE), b""):
        hasher.update(block)
        size += len(block)
    return size, hasher.hexdigest()


class Partial:
    """The file being written: appended to, hashed as it grows, committed or discarded."""

    def __init__(self, folder, name, resume):
        self.folder, self.name = folder, check_name(name)
        self.path = partial_path(folder, name)
        self.hasher = hashlib.sha256()
        self.size = 0
        self._appending = None
        os.makedirs(folder, exist_ok=True)
        if resume and os.path.isfile(self.path) and not os.path.islink(self.path):
            with open(self.path, "rb") as handle:
                for block in iter(lambda: handle.read(FILE_READ_SIZE), b""):
                    self.hasher.update(block)
                    self.size += len(block)
        else:
            self.restart()

    def restart(self):
        """Drop the bytes held; while append writes (a download starting over), its file is emptied rather than replaced."""
        if self._appending is not None:
            self._appending.truncate(0)
        else:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(self.path)
            descriptor = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600)
            os.close(descriptor)
        self.hasher = hashlib.sha256()
        self.size = 0

    def append(self, blocks):
        with open(self.path, "ab") as handle:
            self._appending = handle
            try:
                for block in blocks:
                    handle.write(block)
                    self.hasher.update(block)
                    self.size += len(block)
            finally:
                self._appending = None

    def commit(self, expected, source):
        """Give the bytes their name when they are the expected ones (any, when None); else delete them and raise."""
        actual = self.hasher.hexdigest()
        if expected is not None and actual != expected:
            self.discard()
            raise FileError(f"{self.name} from {source}: sha256 is {actual} ({self.size} bytes), expected {expected}; the source served "
                            "different or corrupted content, nothing was kept under its name (check the sha256, or the source)")
        os.chmod(self.path, 0o644)
        os.replace(self.path, os.path.join(self.folder, self.name))
        return self.size, actual

    def discard(self):
        with contextlib.suppress(FileNotFoundError):
            os.unlink(self.path)


def fetch_http(partial, url, settings):
    """Download url into partial through the HTTP transport: each request retried, and a cut resumed with Range from where the
    partial stands (If-Range, so a file that changed meanwhile starts over); the commit then checks the sha256 over every byte."""
    client = transport.Transport(urllib.parse.urlsplit(url).netloc, settings.retry,
                                 settings.timeout, verify=settings.ca_file or settings.validate_certs, tls_advice="give its CA bundle (ca_file)")

    def open_range(headers):
        response = client.request("GET", url, what=url, headers={**(settings.headers or {}), **headers}, stream=True)
        if response.status_code >= 400 and not (response.status_code == 416 and "Range" in headers):
            response.close()
            raise FileError(f"{url} answered HTTP {response.status_code} {response.reason}: check the URL"
                            f"{' and the headers (credentials)' if response.status_code in (401, 403) else ''}")
        return response

    try:
        partial.append(client.download(open_range, what=url, offset=partial.size, restart=partial.restart))
    except transport.HttpError as error:
        raise FileError(f"{error}; run again: the bytes fetched are kept and the download resumes there when the sha256 is known") from error


def fetch_local(partial, path, follow_links=True):
    """Copy a local file into partial; follow_links=False refuses a link (a bundle's file is never one)."""
    partial.restart()
    try:
        flags = os.O_RDONLY | os.O_CLOEXEC | (0 if follow_links else os.O_NOFOLLOW)
        with os.fdopen(os.open(path, flags), "rb") as handle:
            partial.append(iter(lambda: handle.read(FILE_READ_SIZE), b""))
    except OSError as error:
        raise FileError(f"{path} cannot be read ({error.strerror}): give an existing file") from error


def fetch_s3(partial, store, key):
    partial.restart()
    with open(partial.path, "ab") as handle:
        store.download(key, _HashingSink(partial, handle), f"s3://{store.settings.bucket}/{key}")


class _HashingSink:  # pylint: disable=too-few-public-methods
    """A write-only stream into a Partial's file (no seek, so boto3 hands the parts over in order)."""

    def __init__(self, partial, handle):
        self.partial, self.handle = partial, handle

    def write(self, block):
        self.handle.write(block)
        self.partial.hasher.update(block)
        self.partial.size += len(block)
