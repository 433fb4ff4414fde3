# Copyright (c) 2026, airlock.airgap contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Write a chart's or a Compose project's mirror override, and prove it by reading the result back.

The proof is the point: the chart is rendered again with the override (every Capabilities gate
open) and every image it then runs, direct or indirect, must be in the mirror; anything else is
returned as unmapped, with where it is. The proof reads a temporary copy, so nothing is written
until the caller has judged every outcome: a run that fails leaves no override behind for the
next run to find in place and call unchanged.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import tempfile

from ansible_collections.airlock.airgap.plugins.module_utils.integrity import atomic
from ansible_collections.airlock.airgap.plugins.module_utils.inventory import charts, compose, helm, overrides, rewrite
from ansible_collections.airlock.airgap.plugins.module_utils.inventory import inventory as engine
from ansible_collections.airlock.airgap.plugins.module_utils.inventory import yamlload
from ansible_collections.airlock.airgap.plugins.module_utils.inventory.options import ALL_PROFILES
from ansible_collections.airlock.airgap.plugins.module_utils.inventory.overrides import set_path
from ansible_collections.airlock.airgap.plugins.module_utils.oci import reference as references


@dataclasses.dataclass
class Outcome:  # pylint: disable=too-many-instance-attributes
    """One override, proven but not yet written: its text, what was mapped, what it still leaves outside the mirror or
    unpinned, which images keep their tag by exception, and what the Compose reader warned about."""

    source: str
    override: str
    text: str
    mapped: list
    unmapped: list
    unpinned: list
    pin_exceptions: list = dataclasses.field(default_factory=list)
    warnings: list = dataclasses.field(default_factory=list)
    changed: bool = False

    def as_dict(self):
        return {"source": self.source, "override": self.override, "changed": self.changed, "mapped": self.mapped,
                "unmapped": self.unmapped, "unpinned": self.unpinned, "pin_exceptions": self.pin_exceptions}

    def write(self, check_mode=False) -> bool:
        """Write the override unless it is there already (in check mode: say whether it would be); sets and returns changed."""
        self.changed = not (os.path.exists(self.override) and _read(self.override) == self.text)
        if self.changed and not check_mode:
            atomic.write_text(self.override, self.text)
        return self.changed


def user_values(source: helm.ChartSource) -> dict:
    """The user's values files and values, merged as helm merges them."""
    merged = {}
    for path in source.values_files:
        with open(path, encoding="utf-8") as handle:
            merged = charts.deep_merge(merged, yamlload.load(handle.read()) or {})
    for dotted, value in source.values.items():
        set_path(merged, dotted, value)
    return merged


def chart_override(helm_binary, source: helm.ChartSource, destination, settings) -> Outcome:
    """A chart's override, proven by rendering the chart with it; nothing is written."""
    with helm.LocalChart(helm_binary, source) as chart_path:
        chart = charts.load(chart_path)
        before = engine.Inventory()
        engine.add_chart(before, helm_binary, source, engine.GATES_PASS, chart_path)
        found = engine.images(before)
        known = {e["image"] for e in found["images"] + found["indirect"]}
        override, rewriter = overrides.helm_override(charts.merged_values(chart, user_values(source)), known, settings)
        _refuse_collisions(rewriter, settings.mirror)
        text = overrides.dump(override)
        with _as_written(destination, text) as values_file:
            after = engine.Inventory()
            after.add_documents(yamlload.load_all(render_every_gate_open(helm_binary, source, chart_path, [values_file])),
                                f"{source.chart} (helm template)")
    return _judged(Outcome(source.chart, destination, text, rewriter.mapped, [], []), after.findings, settings.mirror)


def render_every_gate_open(helm_binary, source: helm.ChartSource, chart_path, extra_values_files=()) -> str:
    """`helm template` with every `.Capabilities.APIVersions.Has` gate of the chart open: all the release could ever run."""
    gates = sorted(charts.capability_gates(charts.load(chart_path)))
    return helm.render(helm_binary, source, chart_path, api_versions=gates, extra_values_files=extra_values_files)


def compose_override(source: compose.ComposeSource, destination, settings) -> Outcome:
    """A Compose project's override, proven by reading the project again with it; nothing is written."""
    override, rewriter = overrides.compose_override(source, settings)
    _refuse_collisions(rewriter, settings.mirror)
    text = overrides.dump(override)
    with _as_written(destination, text) as override_file:
        after = compose.scan(dataclasses.replace(source, files=list(source.files) + [override_file], profiles=[ALL_PROFILES]))
    outcome = Outcome(",".join(source.files), destination, text, rewriter.mapped, [], [], warnings=after.warnings)
    return _judged(outcome, after.findings, settings.mirror)


def _judged(outcome, found, mirror) -> Outcome:
    """The outcome with what the proof found: images outside the mirror, and (pin=digest) images by tag, exceptions apart."""
    outcome.unmapped = _outside(found, mirror)
    by_tag = _by_tag(found, mirror)
    outcome.unpinned = [entry for entry in by_tag if not mirror.keeps_tag(entry["image"])]
    outcome.pin_exceptions = [entry for entry in by_tag if mirror.keeps_tag(entry["image"])]
    return outcome


@contextlib.contextmanager
def _as_written(destination, text):
    """The override file as it is meant to be: the destination when it holds text already, else a temporary copy."""
    if os.path.exists(destination) and _read(destination) == text:
        yield destination
        return
    with tempfile.TemporaryDirectory(prefix="airlock-override-") as scratch:
        path = os.path.join(scratch, os.path.basename(destination))
        atomic.write_text(path, text)
        yield path


def _refuse_collisions(rewriter, mirror):
    """Flattening two repositories onto one mirror name would run one image in place of another: refuse before writing."""
    collided = rewrite.collisions(sorted({m["from"] for m in rewriter.mapped if m["kind"] == "image"}), mirror)
    if collided:
        raise rewrite.MirrorError("flattening puts different repositories on one mirror name: "
                                  + "; ".join(f"{name} <- {', '.join(sources)}" for name, sources in collided.items()) + ": use path=keep")


def _by_tag(found, mirror):
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


def _read(path):
    with open(path, encoding="utf-8") as handle:
        return handle.read()
