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
import errno
import hashlib
import json
import os
import shutil
import stat
import tarfile
import tempfile
import time
import traceback

from ansible_collections.airlock.airgap.plugins.module_utils.integrity import atomic
from ansible_collections.airlock.airgap.plugins.module_utils import jsontext
from ansible_collections.airlock.airgap.plugins.module_utils.integrity import bundle_index, digest as digests, sums
from ansible_collections.airlock.airgap.plugins.module_utils.integrity.bundle_index import INDEX_SUFFIX, LOCK_NAME, BundleIndexError
from ansible_collections.airlock.airgap.plugins.module_utils.integrity.confined import ConfinedRoot, UnsafePath, check_link_target, parts_of
from ansible_collections.airlock.airgap.plugins.module_utils.integrity.volumes import VolumeReader, VolumeWriter
from ansible_collections.airlock.airgap.plugins.module_utils.errors import AirlockError
from ansible_collections.airlock.airgap.plugins.module_utils.report.progress import Progress

try:
    import zstandard
    ZSTD_IMPORT_ERROR = None
except ImportError:
    zstandard = None
    ZSTD_IMPORT_ERROR = traceback.format_exc()

COMPRESSION_KEY = "AIRLOCK.compression"  # pax header of a member stored zstd-compressed
ORIGINAL_SIZE_KEY = "AIRLOCK.size"
# Files that start like this are compressed already: zstd over them costs CPU and saves nothing.
COMPRESSED_MAGIC = (b"\x1f\x8b", b"\x28\xb5\x2f\xfd", b"\xfd7zXZ\x00", b"BZh", b"PK\x03\x04")
TAR_BUFFER = 1024 * 1024


class BundleError(AirlockError, ValueError):
    """A bundle or its volumes cannot be packed or trusted; the message names what and why."""


# --- packing -------------------------------------------------------------------------------

def pack(root, out_dir, name, volume_size, check_mode=False, base=None, progress_path=None, compression="none",  # pylint: disable=too-many-arguments
         remove_packed=False):
    """Pack root into out_dir/NAME.tar.NNN volumes + NAME.index.json; unchanged input is not repacked.

    With base (the SHA256SUMS or the airlock.lock.json of the bundle the enclave already
    holds), only files that are new or changed travel; the index records that base.
    With remove_packed, each file leaves the tree once it is in a volume, so the disk never
    holds the bundle twice; a tree left with no file after such a pack is not repacked.
    """
    root, out_dir = os.path.abspath(root), os.path.abspath(out_dir)
    if out_dir == root or out_dir.startswith(root + os.sep):
        raise BundleError(f"the volumes would be written inside the bundle they pack ({out_dir}); choose a directory outside {root}")
    entries = _walk(root)
    if remove_packed:
        if compression != "none" or base:
            raise BundleError("remove_packed packs a whole bundle uncompressed (each file is checked against SHA256SUMS as it is "
                              "packed): drop compression and base, or remove_packed")
        consumed = _consumed_before(root, entries, os.path.join(out_dir, name + INDEX_SUFFIX), out_dir, name)
        if consumed is not None:
            return False, consumed
    base = _differential_base(root, base) if base else None
    if base:
        entries = [e for e in entries if e not in base["unchanged"]]
    if compression == "zstd" and zstandard is None:
        raise BundleError("compression=zstd needs the Python library zstandard (pip install zstandard)")
    fingerprint = _fingerprint(root, entries) + (f":{base['sha256']}" if base else "") + f":{compression}"
    index_path = os.path.join(out_dir, name + INDEX_SUFFIX)
    previous = _previous_index(index_path, name)
    if previous and previous.get("fingerprint") == fingerprint and _volumes_intact(out_dir, previous):
        return False, previous
    if check_mode:
        return True, {"volumes": [], "fingerprint": fingerprint}
    os.makedirs(out_dir, exist_ok=True)
    started = time.monotonic()
    packer = _RemovingPacker(root) if remove_packed else None
    volumes = _write_volumes(root, entries, out_dir, name, volume_size, progress_path, compression, packer)
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
    atomic.write_text(index_path, json.dumps(index, indent=2, sort_keys=True) + "\n")
    if packer:
        packer.remove_folders(entries)
    return True, index


def _consumed_before(root, entries, index_path, out_dir, name):
    """The index of an earlier remove_packed pack when the tree holds no file any more and its volumes are whole, else None."""
    if any(not os.path.isdir(os.path.join(root, relative)) or os.path.islink(os.path.join(root, relative)) for relative in entries):
        return None
    previous = _previous_index(index_path, name)
    return previous if previous and _volumes_intact(out_dir, previous) else None


class _RemovingPacker:
    """Packs each entry, then deletes it from the tree (remove_packed).

    A file listed in the tree's SHA256SUMS is hashed as its bytes go into the volume and deleted only when they match: what
    leaves the tree is known to be in the volume whole, and a file changed since the bundle was sealed fails the pack with
    the file still in place.
    """

    def __init__(self, root):
        self.root = root
        sums_path = os.path.join(root, sums.SUMS_NAME)
        self.expected = sums.read(sums_path) if os.path.exists(sums_path) else {}

    def add(self, tar, path, relative):
        info = tar.gettarinfo(path, arcname=relative)
        if not info.isreg():
            tar.addfile(info)
            if not info.isdir():
                os.unlink(path)
            return
        with open(path, "rb") as handle:
            reader = _HashingReader(handle)
            tar.addfile(info, reader)
        wanted = self.expected.get(relative)
        if wanted is not None and reader.hexdigest() != wanted:
            raise BundleError(f"{relative} in {self.root} no longer matches its SHA256SUMS digest ({wanted}): it changed after the "
                              "bundle was sealed; nothing after it was packed or removed, prepare the bundle again")
        os.unlink(path)

    def remove_folders(self, entries):
        """The folders the pack emptied, deepest first; one still holding something (written meanwhile) stays."""
        for relative in sorted(entries, reverse=True):
            with contextlib.suppress(OSError):
                os.rmdir(os.path.join(self.root, relative))


class _HashingReader:
    """A file's bytes on their way into the tar, hashed as they pass."""

    def __init__(self, handle):
        self.handle, self._hasher = handle, hashlib.sha256()

    def read(self, size=-1):
        block = self.handle.read(size)
        self._hasher.update(block)
        return block

    def hexdigest(self):
        return self._hasher.hexdigest()


def _differential_base(root, base_path):
    """What the enclave holds against this bundle: the files that need not travel, and those to remove.

    A SHA256SUMS base compares every file; an airlock.lock.json base names image digests,
    whose manifests, configs and layers in this bundle's images/ layout then stay home.
    """
    if not os.path.exists(base_path):
        raise BundleError(f"the differential base {base_path} does not exist")
    if os.path.basename(base_path).endswith(".json"):
        held = jsontext.read(base_path, f"the differential base {base_path}")
        image_digests = {d for image in held.get("images", []) for d in (image.get("digest"), image.get("source_digest")) if d}
        return {"file": LOCK_NAME, "sha256": digests.of_file(base_path), "removed": [],
                "unchanged": _blobs_reachable(root, "images", image_digests) | _same_toolchain_files(root, held)}
    own_sums = os.path.join(root, sums.SUMS_NAME)
    if not os.path.exists(own_sums):
        raise BundleError(f"{root} has no {sums.SUMS_NAME}: seal it with the checksum module (state=present) before a differential pack")
    held, current = sums.read(base_path), sums.read(own_sums)
    return {"file": sums.SUMS_NAME, "sha256": digests.of_file(base_path),
            "unchanged": {path for path, digest in current.items() if held.get(path) == digest},
            "removed": sorted(path for path in held if path not in current)}


def _same_toolchain_files(root, held):
    """The toolchain files this bundle's lock records with the same sha256 as the enclave's lock (held) does."""
    lock_path, listed = os.path.join(root, LOCK_NAME), held.get("toolchain")
    if not os.path.isfile(lock_path) or not isinstance(listed, list):
        return set()
    with open(lock_path, encoding="utf-8") as handle:
        current = json.load(handle).get("toolchain", [])
    wanted = {(entry.get("path"), entry.get("sha256")) for entry in listed if isinstance(entry, dict)}
    return {entry["path"] for entry in current if (entry["path"], entry["sha256"]) in wanted}


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


def _write_volumes(root, entries, out_dir, name, volume_size, progress_path=None, compression="none", packer=None):  # pylint: disable=too-many-arguments
    sizes = {e: os.lstat(os.path.join(root, e)).st_size for e in entries}
    progress = Progress(progress_path, sum(sizes.values()), len(entries))
    writer = VolumeWriter(out_dir, f"{name}.tar", volume_size)
    try:
        with tarfile.open(fileobj=writer, mode="w|", format=tarfile.PAX_FORMAT, bufsize=TAR_BUFFER) as tar:
            for relative in entries:
                path = os.path.join(root, relative)
                if packer:
                    packer.add(tar, path, relative)
                elif compression == "zstd" and _worth_compressing(path):
                    _add_compressed(tar, path, relative, out_dir)
                else:
                    tar.add(path, arcname=relative, recursive=False)
                progress.advance(sizes[relative])
        writer.close()
    except BaseException:
        writer.abort()
        raise
    for volume in writer.volumes:
        atomic.write_text(os.path.join(out_dir, volume["name"] + ".sha256"), sums.format_line(volume["sha256"], volume["name"]))
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
    try:
        index = bundle_index.load(os.path.join(src_dir, name + INDEX_SUFFIX), name)
    except BundleIndexError as error:
        raise BundleError(str(error)) from error
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
    """Verify the volumes and every entry's name and kind, then extract them in place into target.

    Nothing is touched until the whole bundle is proven: the volumes' digests, the index, a
    differential base and its removals, and every tar header (names, kinds, link targets, no
    entry beneath a link). Writing then goes through ConfinedRoot, which resolves each path
    through what is on disk, so neither the archive nor what the target already holds can
    lead a write outside it. Returns counts of what happened (or, in check mode, would)."""
    index = verify_volumes(src_dir, name, workers)
    target = os.path.abspath(target)
    tree = ConfinedRoot(target)
    removals = _planned_removals(index["base"], tree, name) if index.get("base") else []
    reader = VolumeReader([os.path.join(src_dir, v["name"]) for v in index["volumes"]])
    try:
        with tarfile.open(fileobj=reader, mode="r:", bufsize=TAR_BUFFER) as tar:
            members = _checked_members(tar, name, target)
            if check_mode:
                changing = [m for m in members if _would_change(tree, m)] + [r for r in removals if tree.status(r)]
                return {"changed": bool(changing), "written": 0, "unchanged": 0, "removed": 0, "volumes": len(index["volumes"])}
            os.makedirs(target, exist_ok=True)
            removed = sum(tree.unlink(relative) for relative in removals)
            counts = _extract_all(tar, members, tree, Progress(progress_path, reader.total, len(members)), name)
    except UnsafePath as error:
        raise BundleError(f"{name}: {error}; nothing more was written") from error
    finally:
        reader.close()
    counts.update(changed=counts["written"] > 0 or removed > 0, removed=removed, volumes=len(index["volumes"]))
    return counts


def _extract_all(tar, members, tree, progress, name):
    """Extract the checked members; a failure names the entry, the space still needed and the way on."""
    counts = {"written": 0, "unchanged": 0, "bytes_written": 0, "digests": {}}
    for position, member in enumerate(members):
        try:
            _extract(tar, member, tree, counts)
        except OSError as error:
            raise BundleError(_write_failure(error, member, members[position:], tree.root, name)) from error
        progress.advance(member.size)
    return counts


def _write_failure(error, member, remaining, target, name):
    """What went wrong writing member, in words that say how to go on (never a bare 'None')."""
    reason = error.strerror or str(error)
    message = f"unpacking {name} into {target} stopped at {member.name!r}: {reason}"
    if error.errno == errno.ENOSPC:
        still = sum(_original_size(m) for m in remaining if m.isfile())
        free = shutil.disk_usage(target).free
        message += (f"; the remaining {len(remaining)} entries need up to {_size(still)} and {_size(free)} is free there. "
                    f"Free at least {_size(max(still - free, 0) or still)} on {target} (or unpack elsewhere), then run again")
    else:
        message += "; fix the target (permissions, a file where a folder belongs), then run again"
    return message + ": files already in place are kept and not written twice"


def _size(count):
    for unit in ("bytes", "KiB", "MiB", "GiB"):
        if count < 1024 or unit == "GiB":
            return f"{count} {unit}" if unit == "bytes" else f"{count:.1f} {unit}"
        count /= 1024
    return str(count)


def write_volume_report(path, src_dir, name, failure):
    """Evidence for the volumes: each with the sha256 the index promised, when, and the verdict."""
    index_path = os.path.join(src_dir, name + INDEX_SUFFIX)
    try:
        index = bundle_index.load(index_path, name)
    except BundleIndexError:
        index = {"volumes": []}
    report = {"checked_at": _now(), "index": index_path, "index_sha256": _digest_or_none(index_path),
              "lock_sha256": index.get("lock_sha256"), "result": "FAILED" if failure else "verified", "problem": failure,
              "volumes": [{"name": v["name"], "size": v["size"], "sha256": f"sha256:{v['sha256']}"} for v in index["volumes"]]}
    atomic.write_text(path, json.dumps(report, indent=2, sort_keys=True) + "\n")
    return report


def _planned_removals(base, tree, name):
    """The files a differential bundle removes, proven before anything is touched.

    It applies only onto the bundle it extends: the target must hold that base file with
    that very digest, and every path to remove must be listed in it. When the target holds
    the result already, the removals were done (they run before extraction) and none remain."""
    digest = _digest_in(tree, base["file"])
    if digest is not None and digest == base["result_sha256"]:
        return []
    if digest != base["sha256"]:
        raise BundleError(f"{name} is differential: it extends the bundle whose {base['file']} is {base['sha256']}, but {tree.root} "
                          f"holds {digest or 'no bundle'}; unpack the bundle it extends first, nothing was unpacked")
    if base["removed"]:
        with tree.open_read(base["file"]) as handle:
            listed = sums.parse(handle.read().decode("utf-8", "surrogateescape"), f"{tree.root}/{base['file']}")
        strangers = [path for path in base["removed"] if path not in listed]
        if strangers:
            raise BundleError(f"{name} is differential and asks to remove {', '.join(map(repr, strangers[:5]))}, which the bundle "
                              f"it extends ({base['file']} in {tree.root}) does not list: refusing the whole bundle, nothing was touched")
    return base["removed"]


def _digest_in(tree, relative):
    """sha256:<hex> of a regular file inside the tree (never through a link), or None."""
    status = tree.status(relative)
    if status is None or not stat.S_ISREG(status.st_mode):
        return None
    with tree.open_read(relative) as handle:
        return "sha256:" + digests.hex_of_open_file(handle)


def _checked_members(tar, name, target):
    """Every header of the archive, refused as a whole if any entry is unsafe; nothing is written yet."""
    try:
        members = tar.getmembers()
    except tarfile.TarError as error:
        raise BundleError(f"{name}: the volumes do not hold a readable tar ({error}); nothing was unpacked") from error
    links = set()
    for member in members:
        _refuse_unsafe(member, target)
        if member.issym():
            links.add(_normal(member.name))
    for member in members:
        parts = _normal(member.name).split("/")
        through = next(("/".join(parts[:depth]) for depth in range(1, len(parts)) if "/".join(parts[:depth]) in links), None)
        if through:
            raise BundleError(f"refusing tar entry {member.name!r}: it lies beneath the link {through!r} of the same bundle, "
                              f"and would be written through it; nothing was unpacked")
    return members


def _normal(relative):
    return "/".join(parts_of(relative, "tar entry"))


def _refuse_unsafe(member, target):
    """Absolute paths, .. escapes, links out of the target, devices and FIFOs never touch the disk."""
    name = member.name
    try:
        parts_of(name, "tar entry")
    except UnsafePath as error:
        raise BundleError(f"refusing tar entry {name!r}: it would be written outside {target}; nothing was unpacked") from error
    if not (member.isfile() or member.isdir() or member.issym()):
        raise BundleError(f"refusing tar entry {name!r}: {_kind(member)} entries are never unpacked; nothing was unpacked")
    if member.issym():
        try:
            check_link_target(name, member.linkname)
        except UnsafePath as error:
            raise BundleError(f"refusing symlink {name!r} -> {member.linkname!r}: it points outside {target} ({error}); "
                              "nothing was unpacked") from error


def _kind(member):
    if member.islnk():
        return "hard link"
    if member.ischr() or member.isblk():
        return "device"
    if member.isfifo():
        return "FIFO"
    return "special"


def _would_change(tree, member):
    """Whether extracting member would change the target; a file of the same size and time is taken as the same."""
    status = tree.status(member.name)
    if member.isdir():
        return status is None or not stat.S_ISDIR(status.st_mode)
    if member.issym():
        return tree.readlink(member.name) != member.linkname
    return (status is None or not stat.S_ISREG(status.st_mode) or status.st_size != _original_size(member)
            or int(status.st_mtime) != int(member.mtime))


def _extract(tar, member, tree, counts):
    if member.isdir():
        tree.makedirs(member.name)
        return
    if member.issym():
        counts["written" if tree.symlink(member.name, member.linkname) else "unchanged"] += 1
        return
    size = _original_size(member)
    status = tree.status(member.name)
    if status is not None and stat.S_ISREG(status.st_mode) and status.st_size == size:
        digest = _same(tar, member, tree)
        if digest:
            counts["unchanged"] += 1
            counts["digests"][_normal(member.name)] = digest
            return
    counts["digests"][_normal(member.name)] = _write_member(tar, member, tree)
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


def _same(tar, member, tree):
    """The file's digest when the member holds exactly what is already in the tree, else None."""
    digest = _digest_of(_member_blocks(tar, member))
    with tree.open_read(member.name) as handle:
        return digest if digest == digests.hex_of_open_file(handle) else None


def _digest_of(blocks):
    hasher = hashlib.sha256()
    for block in blocks:
        hasher.update(block)
    return hasher.hexdigest()


def _write_member(tar, member, tree):
    """Temporary name, then rename (ConfinedRoot.write): an interrupted unpack leaves no half file under a real name.

    Returns the sha256 of what was written, so the final verification need not read it again."""
    hasher = hashlib.sha256()

    def fill(handle):
        for block in _member_blocks(tar, member):
            hasher.update(block)
            handle.write(block)
    tree.write(member.name, fill, mode=member.mode & 0o755 | 0o644, mtime=member.mtime)
    return hasher.hexdigest()


# --- the index -----------------------------------------------------------------------------

def _previous_index(path, name):
    """The index an earlier pack wrote, or None when there is none (or it is not one pack would write now)."""
    try:
        return bundle_index.load(path, name)
    except BundleIndexError:
        return None


def _volumes_intact(out_dir, index):
    return all(os.path.exists(os.path.join(out_dir, v["name"])) and os.path.getsize(os.path.join(out_dir, v["name"])) == v["size"]
               for v in index["volumes"])


def _lock_digest(root):
    return _digest_or_none(os.path.join(root, LOCK_NAME))


def _now():
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
