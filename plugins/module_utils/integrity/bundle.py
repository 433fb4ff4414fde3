# Copyright (c) 2026, airlock.airgap contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The transfer archive: a bundle directory packed into verified volumes, and unpacked safely.

Packing streams a plain tar (blobs are already compressed: no gzip over them) into volumes
of a chosen size, each with its sha256 and an index. Unpacking proves every volume first,
then reads them in place as one tar, refusing any entry that would land outside the
target, and ends with a full verification of the bundle's own SHA256SUMS.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import tarfile
import tempfile
import time
import traceback

from ansible_collections.airlock.airgap.plugins.module_utils.integrity import digest as digests, sums
from ansible_collections.airlock.airgap.plugins.module_utils.integrity.volumes import VolumeReader, VolumeWriter

try:
    import zstandard
    ZSTD_IMPORT_ERROR = None
except ImportError:
    zstandard = None
    ZSTD_IMPORT_ERROR = traceback.format_exc()

INDEX_SUFFIX = ".index.json"
COMPRESSION_KEY = "AIRLOCK.compression"  # pax header of a member stored zstd-compressed
ORIGINAL_SIZE_KEY = "AIRLOCK.size"
# Files that start like this are compressed already: zstd over them costs CPU and saves nothing.
COMPRESSED_MAGIC = (b"\x1f\x8b", b"\x28\xb5\x2f\xfd", b"\xfd7zXZ\x00", b"BZh", b"PK\x03\x04")
TAR_BUFFER = 1024 * 1024
LOCK_NAME = "airlock.lock.json"


class BundleError(ValueError):
    """A bundle or its volumes cannot be packed or trusted; the message names what and why."""


# --- packing -------------------------------------------------------------------------------

def pack(root, out_dir, name, volume_size, check_mode=False, base=None, progress_path=None, compression="none"):  # pylint: disable=too-many-arguments
    """Pack root into out_dir/NAME.tar.NNN volumes + NAME.index.json; unchanged input is not repacked.

    With base (the SHA256SUMS or the airlock.lock.json of the bundle the enclave already
    holds), only files that are new or changed travel; the index records that base.
    """
    root, out_dir = os.path.abspath(root), os.path.abspath(out_dir)
    if out_dir == root or out_dir.startswith(root + os.sep):
        raise BundleError(f"the volumes would be written inside the bundle they pack ({out_dir}); choose a directory outside {root}")
    entries = _walk(root)
    base = _differential_base(root, base) if base else None
    if base:
        entries = [e for e in entries if e not in base["unchanged"]]
    if compression == "zstd" and zstandard is None:
        raise BundleError("compression=zstd needs the Python library zstandard (pip install zstandard)")
    fingerprint = _fingerprint(root, entries) + (f":{base['sha256']}" if base else "") + f":{compression}"
    index_path = os.path.join(out_dir, name + INDEX_SUFFIX)
    previous = _load_index(index_path) if os.path.exists(index_path) else None
    if previous and previous.get("fingerprint") == fingerprint and _volumes_intact(out_dir, previous):
        return False, previous
    if check_mode:
        return True, {"volumes": [], "fingerprint": fingerprint}
    os.makedirs(out_dir, exist_ok=True)
    started = time.monotonic()
    volumes = _write_volumes(root, entries, out_dir, name, volume_size, progress_path, compression)
    for stale in (previous or {}).get("volumes", [])[len(volumes):]:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(os.path.join(out_dir, stale["name"]))
            os.unlink(os.path.join(out_dir, stale["name"] + ".sha256"))
    index = {"name": name, "format": "tar", "compression": compression, "volume_size": volume_size, "fingerprint": fingerprint, "files": len(entries),
             "bytes": sum(v["size"] for v in volumes), "volumes": volumes, "created": _now(),
             "lock_sha256": _lock_digest(root), "seconds": round(time.monotonic() - started, 3)}
    if base:
        index["base"] = {"file": base["file"], "sha256": base["sha256"], "removed": base["removed"],
                         "result_sha256": _digest_or_none(os.path.join(root, base["file"]))}
    sums.write_text_atomically(index_path, json.dumps(index, indent=2, sort_keys=True) + "\n")
    return True, index


def _differential_base(root, base_path):
    """What the enclave holds against this bundle: the files that need not travel, and those to remove.

    A SHA256SUMS base compares every file; an airlock.lock.json base names image digests,
    whose manifests, configs and layers in this bundle's images/ layout then stay home.
    """
    if not os.path.exists(base_path):
        raise BundleError(f"the differential base {base_path} does not exist")
    if os.path.basename(base_path).endswith(".json"):
        with open(base_path, encoding="utf-8") as handle:
            held = json.load(handle)
        image_digests = {d for image in held.get("images", []) for d in (image.get("digest"), image.get("source_digest")) if d}
        return {"file": LOCK_NAME, "sha256": digests.of_file(base_path), "removed": [],
                "unchanged": _blobs_reachable(root, "images", image_digests)}
    own_sums = os.path.join(root, sums.SUMS_NAME)
    if not os.path.exists(own_sums):
        raise BundleError(f"{root} has no {sums.SUMS_NAME}: seal it with the checksum module (state=present) before a differential pack")
    held, current = sums.read(base_path), sums.read(own_sums)
    return {"file": sums.SUMS_NAME, "sha256": digests.of_file(base_path),
            "unchanged": {path for path, digest in current.items() if held.get(path) == digest},
            "removed": sorted(path for path in held if path not in current)}


def _blobs_reachable(root, layout, roots):
    """Blob paths (relative to root) of everything the given manifest or index digests reference."""
    found, pending = set(), list(roots)
    while pending:
        relative = os.path.join(layout, "blobs", *pending.pop().split(":", 1))
        path = os.path.join(root, relative)
        if relative in found or not os.path.isfile(path):
            continue
        found.add(relative)
        if os.path.getsize(path) > 4 * 1024 * 1024:
            continue  # a layer, not a manifest
        try:
            with open(path, "rb") as handle:
                document = json.load(handle)
        except (ValueError, UnicodeDecodeError):
            continue
        if isinstance(document, dict):
            children = document.get("manifests", []) + [document.get("config") or {}] + document.get("layers", [])
            pending += [child["digest"] for child in children if isinstance(child, dict) and child.get("digest")]
    return found


def _digest_or_none(path):
    return digests.of_file(path) if os.path.exists(path) else None


def _walk(root):
    """Every directory, regular file and symlink under root, sorted: a deterministic tar order."""
    found = []
    for directory, subdirectories, files in os.walk(root):
        subdirectories.sort()
        for name in sorted(subdirectories + files):
            found.append(os.path.relpath(os.path.join(directory, name), root))
    return sorted(found)


def _fingerprint(root, entries):
    """What the volumes would hold, without reading file contents: names, kinds, sizes, times."""
    hasher = hashlib.sha256()
    for relative in entries:
        status = os.lstat(os.path.join(root, relative))
        target = os.readlink(os.path.join(root, relative)) if os.path.islink(os.path.join(root, relative)) else ""
        hasher.update(f"{relative}\0{status.st_mode}\0{status.st_size}\0{status.st_mtime_ns}\0{target}\n".encode(errors="surrogateescape"))
    return hasher.hexdigest()


def _write_volumes(root, entries, out_dir, name, volume_size, progress_path=None, compression="none"):  # pylint: disable=too-many-arguments
    sizes = {e: os.lstat(os.path.join(root, e)).st_size for e in entries}
    progress = sums.Progress(progress_path, sum(sizes.values()), len(entries))
    writer = VolumeWriter(out_dir, f"{name}.tar", volume_size)
    try:
        with tarfile.open(fileobj=writer, mode="w|", format=tarfile.PAX_FORMAT, bufsize=TAR_BUFFER) as tar:
            for relative in entries:
                path = os.path.join(root, relative)
                if compression == "zstd" and _worth_compressing(path):
                    _add_compressed(tar, path, relative, out_dir)
                else:
                    tar.add(path, arcname=relative, recursive=False)
                progress.advance(sizes[relative])
        writer.close()
    except BaseException:
        writer.abort()
        raise
    for volume in writer.volumes:
        sums.write_text_atomically(os.path.join(out_dir, volume["name"] + ".sha256"), sums.format_line(volume["sha256"], volume["name"]))
    return writer.volumes


def _worth_compressing(path):
    if os.path.islink(path) or not os.path.isfile(path):
        return False
    with open(path, "rb") as handle:
        head = handle.read(8)
    return bool(head) and not head.startswith(COMPRESSED_MAGIC)


def _add_compressed(tar, path, relative, scratch_dir):
    """Store one file zstd-compressed; its size must precede it, so it is compressed to a temporary first."""
    info = tar.gettarinfo(path, arcname=relative)
    with tempfile.TemporaryFile(dir=scratch_dir) as packed, open(path, "rb") as source:
        zstandard.ZstdCompressor(level=3, threads=-1).copy_stream(source, packed, read_size=TAR_BUFFER, write_size=TAR_BUFFER)
        info.pax_headers = {COMPRESSION_KEY: "zstd", ORIGINAL_SIZE_KEY: str(info.size)}
        info.size = packed.tell()
        packed.seek(0)
        tar.addfile(info, packed)


# --- unpacking -----------------------------------------------------------------------------

def verify_volumes(src_dir, name, workers=None, progress_path=None):
    """Every volume present, whole and matching its digest, or one error naming each that is not."""
    index = _load_index(os.path.join(src_dir, name + INDEX_SUFFIX))
    problems, present = [], []
    for volume in index["volumes"]:
        path = os.path.join(src_dir, volume["name"])
        if not os.path.exists(path):
            problems.append(f"{volume['name']} is missing")
        elif os.path.getsize(path) != volume["size"]:
            problems.append(f"{volume['name']} is {os.path.getsize(path)} bytes, expected {volume['size']} (truncated or replaced)")
        else:
            present.append(volume)
    actual, _total = sums.hash_tree(src_dir, [v["name"] for v in present], workers, progress_path)
    problems += [f"{v['name']} does not match its sha256 (corrupted, or volumes swapped)" for v in present if actual[v["name"]] != v["sha256"]]
    if problems:
        raise BundleError(f"volumes of {name} in {src_dir} cannot be trusted, nothing was unpacked: " + "; ".join(problems))
    return index


def unpack(src_dir, name, target, workers=None, check_mode=False, progress_path=None):
    """Verify the volumes, then extract them in place into target; returns counts of what happened."""
    index = verify_volumes(src_dir, name, workers)
    target = os.path.abspath(target)
    if index.get("base"):
        _check_base(index["base"], target, name)
    if check_mode:
        return {"changed": True, "written": 0, "skipped": 0, "volumes": len(index["volumes"])}
    os.makedirs(target, exist_ok=True)
    reader = VolumeReader([os.path.join(src_dir, v["name"]) for v in index["volumes"]])
    counts = {"written": 0, "skipped": 0, "bytes_written": 0, "digests": {}}
    progress = sums.Progress(progress_path, reader.total, index.get("files", 0))
    try:
        with tarfile.open(fileobj=reader, mode="r:", bufsize=TAR_BUFFER) as tar:
            for member in tar:
                _refuse_unsafe(member, target)
                _extract(tar, member, target, counts)
                progress.advance(member.size)
    except OSError as error:
        raise BundleError(f"unpacking {name} into {target} failed: {error.strerror or error} ({getattr(error, 'filename', '')}); "
                          "free space or fix the target, then run again: files already in place are kept") from None
    finally:
        reader.close()
    removed = _remove(target, index.get("base", {}).get("removed", []))
    counts.update(changed=counts["written"] > 0 or removed > 0, removed=removed, volumes=len(index["volumes"]))
    return counts


def write_volume_report(path, src_dir, name, failure):
    """Evidence for the volumes: each with the sha256 the index promised, when, and the verdict."""
    index_path = os.path.join(src_dir, name + INDEX_SUFFIX)
    index = _load_index(index_path)
    report = {"checked_at": _now(), "index": index_path, "index_sha256": digests.of_file(index_path),
              "lock_sha256": index.get("lock_sha256"), "result": "FAILED" if failure else "verified", "problem": failure,
              "volumes": [{"name": v["name"], "size": v["size"], "sha256": f"sha256:{v['sha256']}"} for v in index["volumes"]]}
    sums.write_text_atomically(path, json.dumps(report, indent=2, sort_keys=True) + "\n")
    return report


def _check_base(base, target, name):
    """A differential bundle applies only onto the bundle it extends (or is already applied)."""
    digest = _digest_or_none(os.path.join(target, base["file"]))
    if digest not in (base["sha256"], base["result_sha256"]):
        raise BundleError(f"{name} is differential: it extends the bundle whose {base['file']} is {base['sha256']}, but {target} "
                          f"holds {digest or 'no bundle'}; unpack the bundle it extends first, nothing was unpacked")


def _remove(target, paths):
    removed = 0
    for relative in paths:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(os.path.join(target, relative))
            removed += 1
    return removed


def _refuse_unsafe(member, target):
    """Absolute paths, .. escapes, links out of the target, devices and FIFOs never touch the disk."""
    name = member.name
    parts = name.replace("\\", "/").split("/")
    if os.path.isabs(name) or ".." in parts:
        raise BundleError(f"refusing tar entry {name!r}: it would be written outside {target}")
    if not (member.isfile() or member.isdir() or member.issym()):
        raise BundleError(f"refusing tar entry {name!r}: {_kind(member)} entries are never unpacked")
    if member.issym():
        landing = os.path.normpath(os.path.join(target, os.path.dirname(name), member.linkname))
        if os.path.isabs(member.linkname) or not (landing == target or landing.startswith(target + os.sep)):
            raise BundleError(f"refusing symlink {name!r} -> {member.linkname!r}: it points outside {target}")


def _kind(member):
    if member.islnk():
        return "hard link"
    if member.ischr() or member.isblk():
        return "device"
    if member.isfifo():
        return "FIFO"
    return "special"


def _extract(tar, member, target, counts):
    path = os.path.join(target, member.name)
    if member.isdir():
        os.makedirs(path, exist_ok=True)
        return
    os.makedirs(os.path.dirname(path), exist_ok=True)
    if member.issym():
        if os.path.islink(path) and os.readlink(path) == member.linkname:
            counts["skipped"] += 1
            return
        _replace_with_symlink(path, member.linkname)
        counts["written"] += 1
        return
    size = _original_size(member)
    if os.path.isfile(path) and not os.path.islink(path) and os.path.getsize(path) == size:
        digest = _same(tar, member, path)
        if digest:
            counts["skipped"] += 1
            counts["digests"][os.path.normpath(member.name)] = digest
            return
    counts["digests"][os.path.normpath(member.name)] = _write_member(tar, member, path)
    counts["written"] += 1
    counts["bytes_written"] += size


def _original_size(member):
    return int(member.pax_headers.get(ORIGINAL_SIZE_KEY, member.size))


def _member_blocks(tar, member):
    """The member's content as stored on disk: zstd members are decompressed as they stream."""
    source = tar.extractfile(member)
    if member.pax_headers.get(COMPRESSION_KEY) == "zstd":
        if zstandard is None:
            raise BundleError(f"{member.name} is zstd-compressed: install the Python library zstandard to unpack it")
        source = zstandard.ZstdDecompressor().stream_reader(source, read_size=TAR_BUFFER)
    written = 0
    for block in iter(lambda: source.read(TAR_BUFFER), b""):
        written += len(block)
        yield block
    if written != _original_size(member):
        raise BundleError(f"{member.name} unpacked to {written} bytes, expected {_original_size(member)}: the volume is damaged")


def _same(tar, member, path):
    """The file's digest when the member holds exactly what is already at path, else None."""
    digest = _digest_of(_member_blocks(tar, member))
    return digest if digest == digests.hex_of_file(path) else None


def _digest_of(blocks):
    hasher = hashlib.sha256()
    for block in blocks:
        hasher.update(block)
    return hasher.hexdigest()


def _write_member(tar, member, path):
    """Temporary name, then rename: an interrupted unpack leaves no half file under a real name.

    Returns the sha256 of what was written, so the final verification need not read it again."""
    descriptor, temporary = tempfile.mkstemp(prefix=".unpack-", dir=os.path.dirname(path))
    hasher = hashlib.sha256()
    try:
        with os.fdopen(descriptor, "wb") as handle:
            for block in _member_blocks(tar, member):
                hasher.update(block)
                handle.write(block)
        os.chmod(temporary, member.mode & 0o755 | 0o644)
        os.utime(temporary, (member.mtime, member.mtime))
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temporary)
        raise
    return hasher.hexdigest()


def _replace_with_symlink(path, link_target):
    temporary = f"{path}.unpack-{os.getpid()}"
    os.symlink(link_target, temporary)
    os.replace(temporary, path)


# --- the index -----------------------------------------------------------------------------

def _load_index(path):
    try:
        with open(path, encoding="utf-8") as handle:
            index = json.load(handle)
    except FileNotFoundError:
        raise BundleError(f"{path} does not exist: copy the index with the volumes (it lists them and their digests)") from None
    except ValueError as error:
        raise BundleError(f"{path} is not a bundle index: {error}") from None
    if not isinstance(index.get("volumes"), list):
        raise BundleError(f"{path} lists no volumes")
    return index


def _volumes_intact(out_dir, index):
    return all(os.path.exists(os.path.join(out_dir, v["name"])) and os.path.getsize(os.path.join(out_dir, v["name"])) == v["size"]
               for v in index["volumes"])


def _lock_digest(root):
    return _digest_or_none(os.path.join(root, LOCK_NAME))


def _now():
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
