# Copyright (c) 2026, airlock.airgap contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Plain files across the gap: into a bundle folder from HTTP(S), S3 or a local path, and out of it.

Each file's sha256 is given, or learned on its first fetch and kept in the lock's ``files``
section, which then pins it: a source that later serves other bytes is refused. On the enclave
side the lock (hostile until checked, like everything carried) says what each file must hold,
and a file goes to a folder or an S3 bucket only once its bytes prove it.
"""

from __future__ import annotations

import dataclasses
import json
import os
import urllib.parse

from ansible_collections.airlock.airgap.plugins.module_utils.files import transfer
from ansible_collections.airlock.airgap.plugins.module_utils.files.transfer import FileError
from ansible_collections.airlock.airgap.plugins.module_utils.http import transport
from ansible_collections.airlock.airgap.plugins.module_utils.integrity import lockfile
from ansible_collections.airlock.airgap.plugins.module_utils.models import s3store
from ansible_collections.airlock.airgap.plugins.module_utils.models import snapshot as snapshots
from ansible_collections.airlock.airgap.plugins.module_utils.models.errors import ModelError

SECTION = "files"


@dataclasses.dataclass(frozen=True)
class FileSpec:
    source: str
    name: str
    sha256: str = None

    @property
    def scheme(self):
        return "s3" if self.source.startswith("s3://") else "http" if self.source.startswith(("http://", "https://")) else "local"


@dataclasses.dataclass(frozen=True)
class Settings:  # pylint: disable=too-many-instance-attributes
    """How sources are reached: HTTP headers and TLS, retries and resumes, and the S3 store's credentials."""

    headers: dict = None
    validate_certs: bool = True
    ca_file: str = None
    retry: transport.RetryPolicy = transport.RetryPolicy()
    timeout: int = 300
    s3: s3store.S3Settings = None
    check_mode: bool = False


def parse(entry):
    """One files: entry (a URL or path string, or a dict with src, and optionally name and sha256) -> FileSpec."""
    if isinstance(entry, str):
        entry = {"src": entry}
    if not isinstance(entry, dict) or not isinstance(entry.get("src"), str) or not entry["src"].strip():
        raise FileError(f"{entry!r}: each file needs src (an http(s):// URL, s3://BUCKET/KEY or a local path)")
    unknown = sorted(set(entry) - {"src", "name", "sha256"})
    if unknown:
        raise FileError(f"{entry['src']}: unknown key(s) {', '.join(unknown)}; a file takes src, name and sha256")
    source = entry["src"].strip()
    if source.startswith("file://"):
        source = urllib.parse.unquote(urllib.parse.urlparse(source).path)
    name = entry.get("name") or os.path.basename(urllib.parse.unquote(urllib.parse.urlparse(source).path).rstrip("/"))
    try:
        return FileSpec(source, transfer.check_name(name, f"{source}: the"), transfer.check_sha256(entry.get("sha256"), source))
    except FileError as error:
        raise FileError(f"{error}; give name") from error


def locked_entries(lock_file):
    """The lock's files section, each entry checked (a lock from a bundle is not trusted): name -> entry."""
    if not lock_file or not os.path.isfile(lock_file):
        return {}
    try:
        with open(lock_file, encoding="utf-8") as handle:
            listed = json.load(handle).get(SECTION, [])
    except (OSError, ValueError, AttributeError) as error:
        raise FileError(f"{lock_file} is not a readable lock ({error}): write it again with file_mirror state=fetched") from error
    entries = {}
    for entry in listed if isinstance(listed, list) else [None]:
        if not isinstance(entry, dict) or not isinstance(entry.get("size"), int) or not isinstance(entry.get("source"), str):
            raise FileError(f"{lock_file}: the files section holds {entry!r}, not a file record; write the lock again")
        name = transfer.check_name(entry.get("name"), f"{lock_file}: a")
        entries[name] = dict(entry, sha256=transfer.check_sha256(entry.get("sha256"), f"{lock_file}: {name}") or "")
    return entries


def fetch(specs, folder, lock_file, settings):
    """Fetch every file into folder, verified: (one result per file, whether the lock changed). The lock learns (and then
    pins) each sha256."""
    locked = locked_entries(lock_file)
    names = [spec.name for spec in specs]
    twice = sorted({name for name in names if names.count(name) > 1})
    if twice:
        raise FileError(f"several files would be called {', '.join(twice)} in {folder}: give each a distinct name")
    results = [fetch_one(spec, folder, locked, lock_file, settings) for spec in specs]
    entries = [{key: result[key] for key in ("name", "source", "sha256", "size")} for result in results if result["sha256"]]
    lock_changed = bool(lock_file) and lockfile.merge_section(lock_file, SECTION, entries, lambda entry: entry["name"], settings.check_mode)
    return results, lock_changed


def fetch_one(spec, folder, locked, lock_file, settings):
    expected = spec.sha256 or _pinned(spec, locked)
    if expected is None and not lock_file:
        raise FileError(f"{spec.source}: give its sha256, or a lock_file in which the sha256 of its first fetch is recorded")
    final = os.path.join(folder, spec.name)
    if expected and transfer.holds(final, expected):
        return _result(spec, expected, os.path.getsize(final), moved=0)
    if settings.check_mode:  # it would be fetched (its size known only when the lock has it)
        size = locked.get(spec.name, {}).get("size", 0)
        return dict(_result(spec, expected or "", size, moved=size), changed=True)
    partial = transfer.Partial(folder, spec.name, resume=bool(expected) and spec.scheme == "http")
    if spec.scheme == "http":
        transfer.fetch_http(partial, spec.source, settings)
    elif spec.scheme == "s3":
        transfer.fetch_s3(partial, *_store_and_key(spec.source, settings))
    else:
        transfer.fetch_local(partial, spec.source)
    size, sha256 = partial.commit(expected, spec.source)
    return _result(spec, sha256, size, moved=size)


def _pinned(spec, locked):
    """The sha256 the lock learned for this file, when it came from the same source."""
    entry = locked.get(spec.name)
    return entry["sha256"] if entry and entry["source"] == spec.source and entry["sha256"] else None


def _store_and_key(source, settings):
    bucket, _slash, key = source[len("s3://"):].partition("/")
    if not bucket or not key:
        raise FileError(f"{source} names no object: use s3://BUCKET/KEY")
    if s3store.boto3 is None:
        raise FileError(f"{source}: boto3 is needed for s3:// sources; install it on the host running the task")
    base = settings.s3 or s3store.S3Settings(bucket=bucket)
    return s3store.Store(dataclasses.replace(base, bucket=bucket, prefix="")), key


def _result(spec, sha256, size, moved):
    return {"name": spec.name, "source": spec.source, "sha256": sha256, "size": size, "bytes_moved": moved, "changed": bool(moved)}


def publish(folder, lock_file, dest, settings):
    """Every file the lock lists, from folder to the dest folder or the S3 store, each proven by its sha256 first."""
    locked = locked_entries(lock_file)
    if not locked:
        raise FileError(f"{lock_file} lists no files: fetch them on the connected side with file_mirror state=fetched and its lock_file")
    if settings.s3:
        return _publish_to_store(folder, locked, settings)
    return [_copy_verified(folder, entry, dest, settings.check_mode) for entry in locked.values()]


def _copy_verified(folder, entry, dest, check_mode):
    source = os.path.join(folder, entry["name"])
    if transfer.holds(os.path.join(dest, entry["name"]), entry["sha256"]):
        return _locked_result(entry, moved=0)
    if check_mode:
        _prove(source, entry)
        return _locked_result(entry, moved=entry["size"])
    partial = transfer.Partial(dest, entry["name"], resume=False)
    transfer.fetch_local(partial, source, follow_links=False)
    partial.commit(entry["sha256"], source)
    return _locked_result(entry, moved=entry["size"])


def _publish_to_store(folder, locked, settings):
    try:
        store = s3store.Store(settings.s3)
        store.check_bucket()
        results = []
        for entry in locked.values():
            record = snapshots.FileEntry(entry["name"], entry["size"], entry["sha256"], entry["sha256"])
            if store.has(store.key(entry["name"]), record):
                results.append(_locked_result(entry, moved=0))
                continue
            source = os.path.join(folder, entry["name"])
            _prove(source, entry)
            if not settings.check_mode:
                store.upload(store.key(entry["name"]), source, record)
            results.append(_locked_result(entry, moved=entry["size"]))
        return results
    except ModelError as error:
        raise FileError(str(error)) from error


def _prove(path, entry):
    """Refuse a bundle file that is missing, a link, or not the bytes the lock names."""
    if not transfer.holds(path, entry["sha256"]):
        raise FileError(f"{path} is missing, a link, or not the {entry['size']} bytes of sha256 {entry['sha256']} the lock names: "
                        "the bundle's copy is damaged; carry the bundle again (receive verifies it against SHA256SUMS)")


def _locked_result(entry, moved):
    return {"name": entry["name"], "source": entry["source"], "sha256": entry["sha256"], "size": entry["size"],
            "bytes_moved": moved, "changed": bool(moved)}
