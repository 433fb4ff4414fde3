# Copyright (c) 2026, airlock.airgap contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Write a chart's or a Compose project's mirror override, and prove it by reading the result back.

The proof is the point: the chart is rendered again with the override (every Capabilities gate
open) and every image it then runs, direct or indirect, must be in the mirror; anything else is
returned as unmapped, with where it is.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import tempfile

from ansible_collections.airlock.airgap.plugins.module_utils.integrity.sums import write_text_atomically
from ansible_collections.airlock.airgap.plugins.module_utils.inventory import charts, compose, helm, overrides, rewrite
from ansible_collections.airlock.airgap.plugins.module_utils.inventory import inventory as engine
from ansible_collections.airlock.airgap.plugins.module_utils.inventory import yamlload
from ansible_collections.airlock.airgap.plugins.module_utils.inventory.options import ALL_PROFILES
from ansible_collections.airlock.airgap.plugins.module_utils.inventory.overrides import set_path
from ansible_collections.airlock.airgap.plugins.module_utils.oci import reference as references


@dataclasses.dataclass
class Outcome:
    """One override: where, whether it changed, what was mapped, and what it still leaves outside the mirror or unpinned."""

    source: str
    override: str
    changed: bool
    mapped: list
    unmapped: list
    unpinned: list

    def as_dict(self):
        return dataclasses.asdict(self)


def user_values(source: helm.ChartSource) -> dict:
    """The user's values files and values, merged as helm merges them."""
    merged = {}
    for path in source.values_files:
        with open(path, encoding="utf-8") as handle:
            merged = charts.deep_merge(merged, yamlload.load(handle.read()) or {})
    for dotted, value in source.values.items():
        set_path(merged, dotted, value)
    return merged


def chart_override(helm_binary, source: helm.ChartSource, destination, settings, check_mode=False) -> Outcome:
    with helm.LocalChart(helm_binary, source) as chart_path:
        chart = charts.load(chart_path)
        before = engine.Inventory()
        engine.add_chart(before, helm_binary, source, engine.GATES_PASS, chart_path)
        found = engine.images(before)
        known = {e["image"] for e in found["images"] + found["indirect"]}
        override, rewriter = overrides.helm_override(chart.merged_values(user_values(source)), known, settings)
        _refuse_collisions(rewriter, settings.mirror)
        changed = _write(destination, overrides.dump(override), check_mode)
        after = _render_with(helm_binary, source, chart_path, destination, override)
    return Outcome(source.chart, destination, changed, rewriter.mapped, _outside(after, settings.mirror), _unpinned(after, settings.mirror))


def _render_with(helm_binary, source, chart_path, destination, override):
    """The findings of a render with the override, every gate open."""
    after = engine.Inventory()
    gates = sorted(charts.load(chart_path).capability_gates())
    with _as_written(destination, overrides.dump(override)) as values_file:
        rendered = helm.render(helm_binary, source, chart_path, api_versions=gates, extra_values_files=[values_file])
    after.add_documents(yamlload.load_all(rendered), f"{source.chart} (helm template)")
    return after.findings


def compose_override(source: compose.ComposeSource, destination, settings, check_mode=False) -> Outcome:
    override, rewriter = overrides.compose_override(source, settings)
    _refuse_collisions(rewriter, settings.mirror)
    text = overrides.dump(override)
    changed = _write(destination, text, check_mode)
    with _as_written(destination, text) as override_file:
        after = compose.scan(dataclasses.replace(source, files=list(source.files) + [override_file], profiles=[ALL_PROFILES]))
    return Outcome(",".join(source.files), destination, changed, rewriter.mapped, _outside(after.findings, settings.mirror),
                   _unpinned(after.findings, settings.mirror))


@contextlib.contextmanager
def _as_written(destination, text):
    """The override file as it is meant to be: the destination when it holds text, else (check mode) a temporary copy."""
    if os.path.exists(destination) and _read(destination) == text:
        yield destination
        return
    with tempfile.TemporaryDirectory(prefix="airlock-override-") as scratch:
        path = os.path.join(scratch, os.path.basename(destination))
        write_text_atomically(path, text)
        yield path


def _refuse_collisions(rewriter, mirror):
    """Flattening two repositories onto one mirror name would run one image in place of another: refuse before writing."""
    collided = rewrite.collisions(sorted({m["from"] for m in rewriter.mapped if m["kind"] == "image"}), mirror)
    if collided:
        raise rewrite.MirrorError("flattening puts different repositories on one mirror name: "
                                  + "; ".join(f"{name} <- {', '.join(sources)}" for name, sources in collided.items()) + ": use path=keep")


def _unpinned(found, mirror):
    """With pin=digest, the mirrored images that still run by tag alone (a tag assembled from several values)."""
    if mirror.pin != rewrite.PIN_DIGEST:
        return []
    return [dict(f.provenance(), image=f.image) for f in found if f.image and mirror.holds(references.parse(f.image)) and "@" not in f.image]


def _outside(found, mirror):
    outside = []
    for finding in found:
        if finding.image is None or not mirror.holds(references.parse(finding.image)):
            entry = dict(finding.provenance(), image=finding.image or finding.written)
            if entry not in outside:
                outside.append(entry)
    return outside


def _write(path, text, check_mode) -> bool:
    if os.path.exists(path) and _read(path) == text:
        return False
    if not check_mode:
        write_text_atomically(path, text)
    return True


def _read(path):
    with open(path, encoding="utf-8") as handle:
        return handle.read()
