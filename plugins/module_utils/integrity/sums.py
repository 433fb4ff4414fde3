# Copyright (c) 2026, airlock.airgap contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""SHA256SUMS for a directory tree: written in exactly sha256sum's format, checked in parallel.

What crosses the air gap is proven whole by a file any `sha256sum -c` can also check.
Files are hashed on every core (hashlib releases the GIL on large reads), and files named
by their own digest (OCI blobs/sha256/<hex>, model blobs) can be proven with no sums file.
"""

from __future__ import annotations

import concurrent.futures
import dataclasses
import json
import os
import re
import time

from ansible_collections.airlock.airgap.plugins.module_utils.integrity import atomic
from ansible_collections.airlock.airgap.plugins.module_utils.integrity import digest as digests
from ansible_collections.airlock.airgap.plugins.module_utils.integrity.atomic import write_text_if_changed
from ansible_collections.airlock.airgap.plugins.module_utils.errors import AirlockError
from ansible_collections.airlock.airgap.plugins.module_utils.report.progress import Progress

SUMS_NAME = "SHA256SUMS"
_LINE = re.compile(r"^(\\?)([0-9a-fA-F]{64}) [ *](.*)$")
_SELF_NAMED = re.compile(r"^[0-9a-f]{64}$")


class SumsError(AirlockError, ValueError):
    """A sums file that cannot be read, or a tree that cannot be summed."""


@dataclasses.dataclass
class Verification:  # pylint: disable=too-many-instance-attributes
    """What a check found; ok only when nothing is missing, extra or mismatched."""

    checked: int = 0
    bytes: int = 0
    seconds: float = 0.0
    missing: list = dataclasses.field(default_factory=list)
    extra: list = dataclasses.field(default_factory=list)
    mismatched: list = dataclasses.field(default_factory=list)
    digests: dict = dataclasses.field(default_factory=dict)

    @property
    def ok(self):
        return not (self.missing or self.extra or self.mismatched)

    def summary(self):
        return {"checked": self.checked, "bytes": self.bytes, "seconds": round(self.seconds, 3), "ok": self.ok,
                "missing": sorted(self.missing), "extra": sorted(self.extra), "mismatched": sorted(self.mismatched)}


# --- the sha256sum format -------------------------------------------------------------------

def format_line(hexdigest, path):
    """One sha256sum line; names with a backslash or newline are escaped the way coreutils does."""
    if "\\" in path or "\n" in path or "\r" in path:
        escaped = path.replace("\\", "\\\\").replace("\n", "\\n").replace("\r", "\\r")
        return f"\\{hexdigest}  {escaped}\n"
    return f"{hexdigest}  {path}\n"


def parse(text, origin=SUMS_NAME):
    """sha256sum output -> {relative path: hex}; a malformed line is named by its number."""
    entries = {}
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        match = _LINE.match(line)
        if not match:
            raise SumsError(f"{origin} line {number} is not '<sha256>  <path>': {line[:120]!r}")
        escaped, hexdigest, path = match.groups()
        if escaped:
            path = re.sub(r"\\(.)", lambda m: {"n": "\n", "r": "\r", "\\": "\\"}.get(m.group(1), m.group(0)), path)
        entries[os.path.normpath(path[2:] if path.startswith("./") else path)] = hexdigest.lower()
    return entries


# --- hashing -------------------------------------------------------------------------------

def tree_files(root, exclude=(SUMS_NAME,)):
    """Regular files under root, relative and sorted; symlinks are structure, not content."""
    found = []
    for directory, subdirectories, files in os.walk(root):
        subdirectories.sort()
        for name in files:
            path = os.path.join(directory, name)
            relative = os.path.relpath(path, root)
            if relative in exclude or os.path.islink(path) or not os.path.isfile(path):
                continue
            found.append(relative)
    return sorted(found)


def hash_tree(root, paths, workers=None, progress_path=None):
    """{relative path: hex} for paths under root, hashed on `workers` threads (default: every core)."""
    sizes = {p: os.path.getsize(os.path.join(root, p)) for p in paths}
    progress = Progress(progress_path, sum(sizes.values()), len(paths))
    # Biggest first: the last file to start is a small one, so no core idles at the end.
    ordered = sorted(paths, key=lambda p: -sizes[p])

    def one(relative):
        digest = digests.hex_of_file(os.path.join(root, relative))
        progress.advance(sizes[relative])
        return relative, digest

    with concurrent.futures.ThreadPoolExecutor(max_workers=workers or os.cpu_count() or 1) as pool:
        return dict(pool.map(one, ordered)), sum(sizes.values())


# --- writing and checking ------------------------------------------------------------------

def render(digests):
    return "".join(format_line(digests[path], path) for path in sorted(digests))


def write(root, sums_path=None, workers=None, progress_path=None, check_mode=False):
    """Write SHA256SUMS for every file under root; (changed, files, bytes). Unchanged content is not rewritten."""
    sums_path = sums_path or os.path.join(root, SUMS_NAME)
    excluded = {os.path.relpath(sums_path, root)}
    digests, total = hash_tree(root, tree_files(root, exclude=excluded), workers, progress_path)
    return write_text_if_changed(sums_path, render(digests), check_mode), len(digests), total


def verify(root, sums_path=None, workers=None, progress_path=None, by_name=False, known=None):  # pylint: disable=too-many-arguments
    """Check root against its sums file (and/or self-named blobs); a Verification of everything found.

    known: {relative path: hex} digests of files hashed just now as they were written (an
    unpack); only the others are read again.
    """
    started = time.monotonic()
    sums_path = sums_path or os.path.join(root, SUMS_NAME)
    expected = read(sums_path) if os.path.exists(sums_path) else None
    if expected is None and not by_name:
        raise SumsError(f"{sums_path} does not exist: write it with state=present on the connected side, "
                        "or verify content-addressed blobs by their names (by_name)")
    present = tree_files(root, exclude={os.path.relpath(sums_path, root)})
    named = {p: os.path.basename(p) for p in present if by_name and _self_named(p)}
    wanted = dict(expected or {})
    for path, hexdigest in named.items():
        wanted.setdefault(path, hexdigest)
    result = Verification()
    on_disk = set(present)
    result.missing = [p for p in wanted if p not in on_disk]
    result.extra = [p for p in present if p not in wanted] if expected is not None else []
    to_check = [p for p in wanted if p in on_disk]
    hashed_now = {p: d for p, d in (known or {}).items() if p in wanted and p in on_disk}
    actual, result.bytes = hash_tree(root, [p for p in to_check if p not in hashed_now], workers, progress_path)
    actual.update(hashed_now)
    # a self-named file must match its name as well as the sums file
    result.mismatched = [p for p in to_check if actual[p] != wanted[p] or actual[p] != named.get(p, actual[p])]
    result.checked, result.digests = len(to_check), {p: wanted[p] for p in to_check}
    result.seconds = time.monotonic() - started
    return result


def read(sums_path):
    try:
        with open(sums_path, encoding="utf-8", errors="surrogateescape") as handle:
            return parse(handle.read(), sums_path)
    except OSError as error:
        raise SumsError(f"cannot read {sums_path}: {error.strerror}") from error


def _self_named(relative):
    """blobs/sha256/<hex> (OCI layouts) and blobs/<sha256 hex> (Hugging Face LFS files): the name is the digest."""
    parts = relative.split(os.sep)
    if len(parts) < 2 or not _SELF_NAMED.match(parts[-1]):
        return False
    return parts[-2] == "blobs" or (parts[-2] == "sha256" and len(parts) >= 3 and parts[-3] == "blobs")


def write_report(path, root, sums_path, verification, when=None):
    """Evidence a security officer can file: what was checked, against which digests, when, with what result."""
    sums_digest = digests.of_file(sums_path) if sums_path and os.path.exists(sums_path) else None
    report = {
        "checked_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(when or time.time())),
        "root": os.path.abspath(root), "sums_file": sums_path if sums_digest else None, "sums_file_sha256": sums_digest,
        "result": "verified" if verification.ok else "FAILED", **verification.summary(),
        "files": {p: f"sha256:{d}" for p, d in sorted(verification.digests.items())},
    }
    atomic.write_text(path, json.dumps(report, indent=2, sort_keys=True) + "\n")
    return report
