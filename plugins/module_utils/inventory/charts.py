# Copyright (c) 2026, airlock.airgap contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""A chart's files read in memory, from a folder or a `.tgz`, subcharts (folders or nested archives) included.

Rendering is helm's job; this reads what helm does not tell: which templates are gated on
`.Capabilities.APIVersions.Has`, and the values tree (parent over subchart defaults) in which
the image settings live, so that an override can be written for them. Nothing is extracted,
so an archive cannot write outside anything.
"""

from __future__ import annotations

import dataclasses
import io
import os
import posixpath
import re
import tarfile

from ansible_collections.airlock.airgap.plugins.module_utils.inventory import yamlload
from ansible_collections.airlock.airgap.plugins.module_utils.errors import AirlockError

MAX_MEMBER_BYTES = 16 * 1024 * 1024
_GATE = re.compile(r"""\.Capabilities\.APIVersions\.Has\s*\(?\s*["`]([^"`]+)["`]""")


class ChartError(AirlockError):
    """A chart that cannot be read; the message names it and what is wrong."""


@dataclasses.dataclass
class Chart:
    """One chart: its Chart.yaml, default values, template texts and subcharts (keyed by alias or name)."""

    where: str
    metadata: dict
    values: dict
    templates: dict
    subcharts: dict = dataclasses.field(default_factory=dict)

    @property
    def name(self):
        return self.metadata.get("name", self.where)

    def capability_gates(self) -> dict:
        """{API version: [template, ...]} for every `.Capabilities.APIVersions.Has` in this chart and its subcharts."""
        gates = {}
        for template, text in self.templates.items():
            for version in _GATE.findall(text):
                gates.setdefault(version, []).append(f"{self.name}/{template}")
        for sub in self.subcharts.values():
            for version, places in sub.capability_gates().items():
                gates.setdefault(version, []).extend(places)
        return gates

    def merged_values(self, overrides=None) -> dict:
        """The values the templates see: defaults, then overrides; each subchart's under its key, globals shared."""
        merged = deep_merge(self.values, overrides or {})
        for key, sub in self.subcharts.items():
            given = merged.get(key) if isinstance(merged.get(key), dict) else {}
            if isinstance(merged.get("global"), dict):
                given = deep_merge(given, {"global": merged["global"]})
            merged[key] = sub.merged_values(given)
        return merged


def deep_merge(base, override):
    """Helm's coalescing of two values trees: mappings merge key by key; anything else is replaced."""
    if not isinstance(base, dict) or not isinstance(override, dict):
        return override
    merged = dict(base)
    for key, value in override.items():
        merged[key] = deep_merge(base.get(key), value) if isinstance(base.get(key), dict) else value
    return merged


def load(path) -> Chart:
    """A chart folder or archive; raises ChartError naming the path."""
    if os.path.isdir(path):
        return _from_files(path, _folder_files(path))
    if os.path.isfile(path):
        try:
            with tarfile.open(path, "r:*") as archive:
                return _from_archive(path, archive)
        except (tarfile.TarError, OSError) as error:
            raise ChartError(f"{path} is not a readable chart archive: {error}") from error
    raise ChartError(f"chart {path} does not exist: give a chart folder or a .tgz")


def _folder_files(root) -> dict:
    files = {}
    for directory, subdirs, names in os.walk(root):
        subdirs[:] = [d for d in subdirs if not os.path.islink(os.path.join(directory, d))]
        for name in names:
            full = os.path.join(directory, name)
            if os.path.isfile(full) and not os.path.islink(full) and os.path.getsize(full) <= MAX_MEMBER_BYTES:
                with open(full, "rb") as handle:
                    files[os.path.relpath(full, root).replace(os.sep, "/")] = handle.read()
    return files


def _from_archive(where, archive) -> Chart:
    files = {}
    for member in archive.getmembers():
        if member.isfile() and member.size <= MAX_MEMBER_BYTES:
            top, _sep, rest = member.name.lstrip("./").partition("/")
            if rest and top:
                files[rest] = archive.extractfile(member).read()
    return _from_files(where, files)


def _from_files(where, files) -> Chart:
    if "Chart.yaml" not in files:
        raise ChartError(f"{where} has no Chart.yaml: it is not a Helm chart")
    metadata = _yaml_mapping(files["Chart.yaml"], f"{where}/Chart.yaml")
    values = _yaml_mapping(files.get("values.yaml", b""), f"{where}/values.yaml")
    templates = {name: data.decode("utf-8", "replace") for name, data in files.items() if name.startswith("templates/")}
    chart = Chart(where, metadata, values, templates)
    aliases = {d.get("name"): d.get("alias") for d in metadata.get("dependencies") or [] if isinstance(d, dict)}
    for sub in _subcharts(where, files):
        chart.subcharts[aliases.get(sub.name) or sub.name] = sub
    return chart


def _subcharts(where, files):
    folders = sorted({name.split("/")[1] for name in files if name.startswith("charts/") and name.count("/") >= 2})
    for folder in folders:
        prefix = f"charts/{folder}/"
        yield _from_files(f"{where}/{prefix}", {n[len(prefix):]: d for n, d in files.items() if n.startswith(prefix)})
    for name, data in sorted(files.items()):
        if posixpath.dirname(name) == "charts" and name.endswith((".tgz", ".tar.gz")):
            try:
                with tarfile.open(fileobj=io.BytesIO(data), mode="r:*") as archive:
                    yield _from_archive(f"{where}/{name}", archive)
            except tarfile.TarError as error:
                raise ChartError(f"{where}/{name} is not a readable chart archive: {error}") from error


def _yaml_mapping(data, where) -> dict:
    try:
        loaded = yamlload.load(data.decode("utf-8"))
    except Exception as error:  # pylint: disable=broad-except  # any parse failure is the chart's fault, reported as such
        raise ChartError(f"{where} is not valid YAML: {error}") from error
    return loaded if isinstance(loaded, dict) else {}
