# Copyright (c) 2026, airlock.airgap contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The index of a bundle's volumes, read as the hostile input it is.

The index crosses the air gap beside the volumes, so whoever hands over a disk writes it.
Every key is checked for its type and shape before anything is read or touched through it:
volume names must be the volumes' own names (no path), digests must be digests, and a
differential base must name one of the two files a base can be, with real digests.
"""

from __future__ import annotations

import re

from ansible_collections.airlock.airgap.plugins.module_utils import jsontext
from ansible_collections.airlock.airgap.plugins.module_utils.errors import AirlockError

INDEX_SUFFIX = ".index.json"
LOCK_NAME = "airlock.lock.json"
SUMS_NAME = "SHA256SUMS"
_HEX = re.compile(r"^[0-9a-f]{64}$")
_DIGEST = re.compile(r"^sha256:[0-9a-f]{64}$")


class BundleIndexError(AirlockError, ValueError):
    """The index is not one this collection wrote: the message names the key and what it must be."""


def _is_int(value):
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def _is_text(value):
    return isinstance(value, str)


def _is_hex(value):
    return isinstance(value, str) and bool(_HEX.match(value))


def _is_digest(value):
    return isinstance(value, str) and bool(_DIGEST.match(value))


def _is_digest_or_none(value):
    return value is None or _is_digest(value)


def _is_normal_relative(value):
    if not isinstance(value, str) or "\0" in value or "\\" in value:
        return False
    parts = value.split("/")
    return bool(value) and all(part not in ("", ".", "..") for part in parts)


def _is_number(value):
    return isinstance(value, (int, float)) and not isinstance(value, bool) and value >= 0


# key: (check, what it must be); volumes and base are checked on their own.
_TOP_KEYS = {
    "name": (_is_text, "a text"),
    "format": (lambda value: value == "tar", "'tar'"),
    "compression": (lambda value: value in ("none", "zstd"), "'none' or 'zstd'"),
    "volume_size": (_is_int, "a whole number of bytes"),
    "fingerprint": (_is_text, "a text"),
    "files": (_is_int, "a whole number"),
    "bytes": (_is_int, "a whole number of bytes"),
    "created": (_is_text, "a time stamp"),
    "lock_sha256": (_is_digest_or_none, "sha256:<64 hex> or null"),
    "seconds": (_is_number, "a number"),
}
_VOLUME_KEYS = {"name", "size", "sha256"}
_BASE_KEYS = {"file", "sha256", "removed", "result_sha256"}


def load(path, name):
    """The index of bundle name at path, every key checked; BundleIndexError names the first that does not fit."""
    index = jsontext.read_written(path, BundleIndexError,
                                  f"{path} does not exist: copy the index with the volumes (it lists them and their digests)",
                                  f"{path} is not a bundle index: {{}}")
    check(index, name, path)
    return index


def check(index, name, path):
    """Refuse an index whose keys, types or shapes are not what pack writes."""
    def refuse(key, expected):
        raise BundleIndexError(f"{path}: {key} must be {expected}; this index was not written by the bundle module "
                               "(or was altered), nothing was read through it: get the volumes and index again")
    if not isinstance(index, dict):
        refuse("the document", "an object")
    for key, value in index.items():
        if key in ("volumes", "base"):
            continue
        if key not in _TOP_KEYS:
            refuse(f"key {key!r}", "absent (unknown key)")
        check_value, expected = _TOP_KEYS[key]
        if not check_value(value):
            refuse(key, expected)
    if "name" in index and index["name"] != name:
        refuse("name", f"{name!r} (the bundle asked for)")
    _check_volumes(index.get("volumes"), name, refuse)
    if "base" in index:
        _check_base(index["base"], refuse)


def _check_volumes(volumes, name, refuse):
    if not isinstance(volumes, list) or not volumes:
        refuse("volumes", "a non-empty list")
    for number, volume in enumerate(volumes):
        where = f"volumes[{number}]"
        if not isinstance(volume, dict) or set(volume) != _VOLUME_KEYS:
            refuse(where, "an object with exactly name, size and sha256")
        if volume["name"] != f"{name}.tar.{number:03d}":
            refuse(f"{where}.name", f"{name}.tar.{number:03d} (volumes are named in order, never by path)")
        if not _is_int(volume["size"]):
            refuse(f"{where}.size", "a whole number of bytes")
        if not _is_hex(volume["sha256"]):
            refuse(f"{where}.sha256", "64 lowercase hex digits")


def _check_base(base, refuse):
    if not isinstance(base, dict) or set(base) != _BASE_KEYS:
        refuse("base", "an object with exactly file, sha256, removed and result_sha256")
    if base["file"] not in (SUMS_NAME, LOCK_NAME):
        refuse("base.file", f"{SUMS_NAME} or {LOCK_NAME}")
    if not _is_digest(base["sha256"]):
        refuse("base.sha256", "sha256:<64 hex> (the digest of the base the enclave holds)")
    if not _is_digest_or_none(base["result_sha256"]):
        refuse("base.result_sha256", "sha256:<64 hex> or null")
    if not isinstance(base["removed"], list) or not all(_is_normal_relative(path) for path in base["removed"]):
        refuse("base.removed", "a list of normalised relative paths inside the bundle (no '..', no absolute path)")
    if base["file"] == LOCK_NAME and base["removed"]:
        refuse("base.removed", f"empty for a {LOCK_NAME} base (it removes nothing)")
