# Copyright (c) 2026, airlock.airgap contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""What the inventory learns from a chart's files that helm does not tell it.

Rendering is helm's job; this reads which templates are gated on
`.Capabilities.APIVersions.Has`, and the values tree (parent over subchart defaults) in which
the image settings live, so that an override can be written for them. The chart itself is
read by the one chart reader, `charts/archive.py`, with its checks and its size limits:
nothing is extracted, so an archive cannot write outside anything.
"""

from __future__ import annotations

import os
import re

from ansible_collections.airlock.airgap.plugins.module_utils.charts import archive
from ansible_collections.airlock.airgap.plugins.module_utils.charts.errors import ChartError
from ansible_collections.airlock.airgap.plugins.module_utils.inventory import yamlload

_GATE = re.compile(r"""\.Capabilities\.APIVersions\.Has\s*\(?\s*["`]([^"`]+)["`]""")


def load(path) -> archive.Chart:
    """A chart folder or archive, read by the chart reader; raises ChartError naming the path."""
    if os.path.isdir(path):
        return archive.from_folder(path)
    if os.path.isfile(path):
        return archive.from_archive_file(path)
    raise ChartError(f"chart {path} does not exist: give a chart folder or a .tgz")


def capability_gates(chart: archive.Chart) -> dict:
    """{API version: [template, ...]} for every `.Capabilities.APIVersions.Has` in the chart and its subcharts."""
    gates = {}
    for template, data in chart.files.items():
        if template.startswith("templates/"):
            for version in _GATE.findall(data.decode("utf-8", "replace")):
                gates.setdefault(version, []).append(f"{chart.name}/{template}")
    for sub in chart.subcharts().values():
        for version, places in capability_gates(sub).items():
            gates.setdefault(version, []).extend(places)
    return gates


def merged_values(chart: archive.Chart, overrides=None) -> dict:
    """The values the templates see: defaults, then overrides; each subchart's under its key, globals shared."""
    merged = deep_merge(_default_values(chart), overrides or {})
    for key, sub in _subcharts_by_key(chart).items():
        given = merged.get(key) if isinstance(merged.get(key), dict) else {}
        if isinstance(merged.get("global"), dict):
            given = deep_merge(given, {"global": merged["global"]})
        merged[key] = merged_values(sub, given)
    return merged


def deep_merge(base, override):
    """Helm's coalescing of two values trees: mappings merge key by key; anything else is replaced."""
    if not isinstance(base, dict) or not isinstance(override, dict):
        return override
    merged = dict(base)
    for key, value in override.items():
        merged[key] = deep_merge(base.get(key), value) if isinstance(base.get(key), dict) else value
    return merged


def _subcharts_by_key(chart: archive.Chart) -> dict:
    """The subcharts under the key their values live at: the dependency's alias, else the subchart's name."""
    aliases = {d.get("name"): d.get("alias") for d in chart.dependencies() if isinstance(d, dict)}
    return {aliases.get(sub.name) or sub.name: sub for sub in chart.subcharts().values()}


def _default_values(chart: archive.Chart) -> dict:
    """values.yaml read as Helm reads it (custom tags and `=` as plain strings); anything but a mapping is no values."""
    where = f"{chart.origin}/values.yaml"
    try:
        loaded = yamlload.load(chart.files.get("values.yaml", b"").decode("utf-8"))
    except UnicodeDecodeError as error:
        raise ChartError(f"{where} is not UTF-8 text: {error}") from error
    except yamlload.yaml.YAMLError as error:
        raise ChartError(f"{where} is not valid YAML: {error}") from error
    return loaded if isinstance(loaded, dict) else {}
