# Copyright (c) 2026, airlock.airgap contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The one chart reader: chart archives and folders read safely into memory, and charts packed reproducibly.

Every engine that reads a chart (the chart mirror, the inventory) reads it here. Helm itself
loads a whole chart into memory, so this does too: a chart is a map of relative paths to
bytes. Size policy, the one Helm's loader applies to archives and folders alike: a file over
MAX_FILE_BYTES (5 MiB), or a chart over MAX_CHART_BYTES (100 MiB) in all, is refused with a
ChartError naming the file and the limit; no file is ever skipped silently, since a chart read
without one of its files is not the chart helm renders. Reading refuses every entry
that would land outside the chart (absolute paths, `..`, links, devices), so an archive
that is safe here is safe for whoever unpacks it later. Packing is byte-reproducible (fixed
order, times and owners), so a chart rebuilt from the same inputs has the same digest and a
second run rewrites nothing. That holds for one zlib build: the gzip stream is zlib's output,
and another zlib (a different version, or zlib-ng as some distributions ship) may compress the
same tar to other bytes, so the same chart packed on two machines can differ in digest.
"""

from __future__ import annotations

import dataclasses
import fnmatch
import gzip
import io
import os
import posixpath
import re
import tarfile
import traceback

from ansible_collections.airlock.airgap.plugins.module_utils.charts.errors import ChartError

try:
    import yaml
    YAML_IMPORT_ERROR = None
except ImportError:
    yaml = None
    YAML_IMPORT_ERROR = traceback.format_exc()

# Helm's loader.MaxDecompressedChartSize and MaxDecompressedFileSize.
MAX_CHART_BYTES = 100 * 1024 * 1024
MAX_FILE_BYTES = 5 * 1024 * 1024
METADATA_FILES = ("Chart.yaml", "requirements.yaml")
IGNORE_FILE = ".helmignore"
# Helm's chartutil chartName: the characters `helm create` allows in a chart name.
_CHART_NAME = re.compile(r"[a-zA-Z0-9._-]+")
# A version as Helm's Chart.yaml check (Masterminds semver NewVersion) reads it: SemVer 2, an optional leading v,
# minor and patch optional. Whatever matches is safe in a file name (no '/') and as an OCI tag once '+' is '_'.
_IDENTIFIERS = r"[0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*"
_CHART_VERSION = re.compile(rf"v?[0-9]+(?:\.[0-9]+){{0,2}}(?:-{_IDENTIFIERS})?(?:\+{_IDENTIFIERS})?")


@dataclasses.dataclass
class Chart:
    """One chart: its Chart.yaml fields and its files (relative POSIX path -> bytes)."""

    metadata: dict
    files: dict
    origin: str

    @property
    def name(self):
        return self.metadata["name"]

    @property
    def version(self):
        return str(self.metadata["version"])

    @property
    def archive_name(self):
        return f"{self.name}-{self.version}.tgz"

    def dependencies(self):
        """Chart.yaml's dependencies (apiVersion v2) or requirements.yaml's (apiVersion v1)."""
        declared = self.metadata.get("dependencies")
        if declared is None and "requirements.yaml" in self.files:
            declared = (load_yaml(self.files["requirements.yaml"], f"{self.origin}/requirements.yaml") or {}).get("dependencies")
        return list(declared or [])

    def subcharts(self):
        """Charts carried in charts/, as archives or folders: {top-level entry: Chart}."""
        found = {}
        for entry in sorted({p.split("/")[1] for p in self.files if p.startswith("charts/")}):
            path = f"charts/{entry}"
            if entry.endswith(".tgz") and path in self.files:
                found[entry] = from_archive_bytes(self.files[path], f"{self.origin}/{path}")
            elif f"{path}/Chart.yaml" in self.files:
                prefix = f"{path}/"
                files = {p[len(prefix):]: data for p, data in self.files.items() if p.startswith(prefix)}
                found[entry] = from_files(files, f"{self.origin}/{path}")
        return found


def load_yaml(data, what):
    if yaml is None:
        raise ChartError("the Python library PyYAML is required to read charts")
    try:
        return yaml.load(data, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    except yaml.YAMLError as error:
        raise ChartError(f"{what} is not valid YAML: {error}") from error


def from_files(files, origin):
    """A chart from its files; Chart.yaml must name it and give it a version."""
    if "Chart.yaml" not in files:
        raise ChartError(f"{origin} is not a Helm chart: it has no Chart.yaml at its top")
    metadata = load_yaml(files["Chart.yaml"], f"{origin}/Chart.yaml")
    if not isinstance(metadata, dict) or not metadata.get("name") or not metadata.get("version"):
        raise ChartError(f"{origin}/Chart.yaml must give the chart a name and a version")
    name, version = metadata["name"], metadata["version"]
    if not isinstance(name, str) or not valid_name(name):
        raise ChartError(f"{origin}/Chart.yaml names the chart {name!r}, which is not a valid chart name "
                         f"(Helm allows letters, digits, '.', '_' and '-')")
    if isinstance(version, bool) or not isinstance(version, (str, int, float)) or not valid_version(str(version)):
        raise ChartError(f"{origin}/Chart.yaml gives the chart {name} version {version!r}, which is not a "
                         "semantic version (such as 1.2.3, 1.2.3-rc.1 or 1.2.3+build.4)")
    return Chart(metadata, files, origin)


def valid_name(name):
    """Helm's rule for chart names; it also keeps <name>-<version>.tgz a plain file name."""
    return bool(_CHART_NAME.fullmatch(name)) and name not in (".", "..")


def valid_version(version):
    """A chart version as Helm accepts it in Chart.yaml."""
    return bool(_CHART_VERSION.fullmatch(version))


def from_archive_file(path):
    with open(path, "rb") as handle:
        return from_archive_bytes(handle.read(), path)


def from_archive_bytes(data, origin):
    """A chart from a .tgz, every entry checked: one top folder, nothing escaping it, no links."""
    files = {}
    total = 0
    top = None
    try:
        with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as tar:
            for member in tar:
                if member.isdir():
                    continue
                top, relative = _checked_entry(member, origin, top)
                total = _counted(origin, member.name, member.size, total)
                files[relative] = tar.extractfile(member).read()
    except (tarfile.TarError, EOFError, OSError) as error:
        raise ChartError(f"{origin} is not a readable chart archive (.tgz): {error}") from error
    return from_files(files, origin)


def _counted(origin, name, size, total):
    """The chart's size with this file added; a file or a chart over Helm's limits is refused by name."""
    if size > MAX_FILE_BYTES:
        raise ChartError(f"{origin}: refusing {name}: it is {size} bytes, over Helm's limit of {MAX_FILE_BYTES} bytes "
                         "for one file of a chart (helm refuses it too); keep large data out of the chart, or list it in .helmignore")
    if total + size > MAX_CHART_BYTES:
        raise ChartError(f"{origin}: refusing {name}: it makes the chart larger than Helm's limit of "
                         f"{MAX_CHART_BYTES} bytes for a whole chart")
    return total + size


def _checked_entry(member, origin, top):
    """(top folder, path below it) of a regular file; anything else is refused by name."""
    name = member.name
    if not member.isfile():
        kind = "link" if member.issym() or member.islnk() else "special file"
        raise ChartError(f"{origin}: refusing tar entry {name!r}: a {kind} in a chart archive could point outside the chart")
    parts = name.replace("\\", "/").split("/")
    if name.startswith("/") or ".." in parts or len(parts) < 2 or "" in parts[1:]:
        raise ChartError(f"{origin}: refusing tar entry {name!r}: it escapes the chart's folder")
    if top is not None and parts[0] != top:
        raise ChartError(f"{origin}: tar entry {name!r} is outside the chart's folder {top!r}; a chart archive holds one chart")
    return parts[0], "/".join(parts[1:])


def from_folder(root):
    """A chart folder as `helm package` would read it: .helmignore honoured, links inside followed."""
    root = os.path.realpath(root)
    ignore = _IgnoreRules.read(root)
    files = {}
    total = 0
    visited = set()
    for directory, subdirs, names in os.walk(root, followlinks=True):
        real = os.path.realpath(directory)
        if real in visited:
            subdirs[:] = []
            continue
        visited.add(real)
        relative_dir = os.path.relpath(directory, root).replace(os.sep, "/")
        relative_dir = "" if relative_dir == "." else relative_dir
        subdirs[:] = sorted(d for d in subdirs if not ignore.ignored(posixpath.join(relative_dir, d), True))
        for subdir in subdirs:
            _refuse_outside(root, os.path.join(directory, subdir))
        for name in sorted(names):
            relative = posixpath.join(relative_dir, name)
            if not ignore.ignored(relative, False):
                path = os.path.join(directory, name)
                _refuse_outside(root, path)
                with open(path, "rb") as handle:
                    total = _counted(root, relative, os.fstat(handle.fileno()).st_size, total)
                    files[relative] = handle.read()
    return from_files(files, root)


def _refuse_outside(root, path):
    """A link inside the chart is followed (as helm package does); one pointing outside is refused."""
    real = os.path.realpath(path)
    if real != root and not real.startswith(root + os.sep):
        raise ChartError(f"{root}: refusing {os.path.relpath(path, root)}: it is a link to {real}, outside the chart")


class _IgnoreRules:
    """The .helmignore rules Helm applies: globs on the base name, or on the path when they hold a '/';
    a trailing '/' matches folders only; '!' re-includes."""

    def __init__(self, rules):
        self.rules = rules

    @classmethod
    def read(cls, root):
        path = os.path.join(root, IGNORE_FILE)
        if not os.path.isfile(path):
            return cls([])
        rules = []
        with open(path, encoding="utf-8") as handle:
            for line in handle:
                line = line.strip()
                if not line or line.startswith("#"):
                    continue
                negate = line.startswith("!")
                pattern = line[1:] if negate else line
                rules.append((negate, pattern.rstrip("/").lstrip("/"), pattern.endswith("/")))
        return cls(rules)

    def ignored(self, relative, is_dir):
        verdict = False
        for negate, pattern, dirs_only in self.rules:
            if dirs_only and not is_dir:
                continue
            subject = relative if "/" in pattern else posixpath.basename(relative)
            if fnmatch.fnmatchcase(subject, pattern):
                verdict = not negate
        return verdict


def pack(chart):
    """The chart as a .tgz, byte-for-byte the same for the same files: Chart.yaml first, then sorted paths.

    Reproducible with one zlib build; another zlib may compress the same tar to other bytes (see the module's notes).
    """
    buffer = io.BytesIO()
    with gzip.GzipFile(filename="", mode="wb", fileobj=buffer, mtime=0) as compressed:
        with tarfile.open(fileobj=compressed, mode="w", format=tarfile.PAX_FORMAT) as tar:
            for relative in sorted(chart.files, key=lambda p: (p != "Chart.yaml", p)):
                data = chart.files[relative]
                info = tarfile.TarInfo(f"{chart.name}/{relative}")
                info.size = len(data)
                info.mode = 0o644
                info.mtime = 0
                tar.addfile(info, io.BytesIO(data))
    return buffer.getvalue()
