# Copyright (c) 2026, airlock.airgap contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The inventory: every image of charts, manifests, compose projects and values, deduplicated with provenance.

A chart gated on `.Capabilities.APIVersions.Has` renders nothing for the gate unless the API
version is passed, and a whole operator's images vanish without a word; so the gates are read
from the chart's templates and, by default, the chart is rendered both as asked and with every
gate open, and the images that only the gates reveal are named.
"""

from __future__ import annotations

import dataclasses
import os
import re

from ansible_collections.airlock.airgap.plugins.module_utils.inventory import charts, compose, helm, manifests, operators, values, yamlload
from ansible_collections.airlock.airgap.plugins.module_utils.inventory import findings as found
from ansible_collections.airlock.airgap.plugins.module_utils.inventory.options import CHART_OPTIONS, COMPOSE_OPTIONS

GATES_UNION = "union"
GATES_REPORT = "report"
GATES_PASS = "pass"
MANIFEST_SUFFIXES = (".yaml", ".yml", ".json")
# Last resort for a document no YAML loader reads: its `image:` lines, so its images are not lost.
_IMAGE_LINE = re.compile(r"""^\s*(?:-\s+)?image:\s*["']?([^"'\s#]+)""", re.MULTILINE)


@dataclasses.dataclass
class Inventory:
    """Everything found, and everything that could make the list incomplete."""

    findings: list = dataclasses.field(default_factory=list)
    capability_gates: list = dataclasses.field(default_factory=list)
    gated_images: list = dataclasses.field(default_factory=list)
    builds: list = dataclasses.field(default_factory=list)
    unset_variables: list = dataclasses.field(default_factory=list)
    skipped_services: list = dataclasses.field(default_factory=list)
    parse_errors: list = dataclasses.field(default_factory=list)
    warnings: list = dataclasses.field(default_factory=list)
    resources: list = dataclasses.field(default_factory=list)

    def add_documents(self, documents, file):
        self.resources.extend(operators.Resource(document.template or file, manifests.object_label(obj), obj)
                              for document, obj in manifests.objects(documents) if manifests.is_custom_resource(obj))
        for document in documents:
            if document.error:
                where = document.template or file
                self.parse_errors.append({"file": where, "document": document.index, "error": document.error})
                self.findings.extend(found.direct(image, where, f"document/{document.index}", "image", "unparsed-document")
                                     for image in _IMAGE_LINE.findall(document.text))
        self.findings.extend(manifests.scan_documents(documents, file))


def chart_source(params) -> helm.ChartSource:
    return helm.ChartSource(**{key: params[key] for key in CHART_OPTIONS})


def compose_source(params) -> compose.ComposeSource:
    return compose.ComposeSource(**{key: params[key] for key in COMPOSE_OPTIONS})


def add_chart(inventory, helm_binary, source: helm.ChartSource, gates=GATES_UNION, chart_path=None):
    """Render source (pulled first when remote, unless chart_path is the local copy) and add what the render runs."""
    if chart_path is None:
        with helm.LocalChart(helm_binary, source) as local:
            add_chart(inventory, helm_binary, source, gates, local)
        return
    gated = charts.capability_gates(charts.load(chart_path))
    closed = sorted(set(gated) - set(source.api_versions))
    for version in sorted(gated):
        inventory.capability_gates.append({"chart": source.chart, "api_version": version, "templates": sorted(set(gated[version])),
                                           "passed": version in source.api_versions or gates != GATES_REPORT})
    label = f"{source.chart} (helm template)"
    if gates == GATES_PASS:
        inventory.add_documents(yamlload.load_all(helm.render(helm_binary, source, chart_path, api_versions=closed)), label)
        return
    as_asked = yamlload.load_all(helm.render(helm_binary, source, chart_path))
    inventory.add_documents(as_asked, label)
    if closed and gates == GATES_UNION:
        before = {f.image for f in manifests.scan_documents(as_asked, label)}
        opened = yamlload.load_all(helm.render(helm_binary, source, chart_path, api_versions=closed))
        inventory.add_documents(opened, label)
        inventory.gated_images.extend(sorted({f.image for f in manifests.scan_documents(opened, label) if f.image and f.image not in before}))


def add_manifests(inventory, path):
    for file in manifest_files(path):
        inventory.add_documents(yamlload.load_file(file), file)


def manifest_files(path, suffixes=MANIFEST_SUFFIXES, what="manifest path") -> list:
    """path itself when it is a file, else the files below it with one of suffixes, in a stable order."""
    if os.path.isfile(path):
        return [path]
    if not os.path.isdir(path):
        raise FileNotFoundError(f"{what} {path} does not exist")
    files = []
    for directory, subdirs, names in os.walk(path):
        subdirs.sort()
        files.extend(os.path.join(directory, n) for n in sorted(names) if n.endswith(suffixes))
    return files


def add_compose(inventory, source: compose.ComposeSource):
    scanned = compose.scan(source)
    inventory.findings.extend(scanned.findings)
    inventory.builds.extend(scanned.builds)
    inventory.unset_variables.extend(v for v in scanned.unset_variables if v not in inventory.unset_variables)
    inventory.skipped_services.extend(scanned.skipped_services)
    inventory.warnings.extend(scanned.warnings)


def add_values(inventory, path):
    inventory.findings.extend(values.scan_file(path))


def images(inventory, rules=None, rule_inputs=None) -> dict:
    """The findings by class, each entry with provenance: what the scenario pulls, what it could, what an operator derives.

    images: direct references pulled unconditionally; indirect: seen only in env, args, ConfigMap data or operator
    settings, pulled unconditionally; candidates: pulled only if a condition holds (a component turned off, a profile
    not chosen, a version no resource selects), with the conditions; derived: computed by an operator rule; invalid:
    unreadable references and derivations lacking an input. An image pulled unconditionally anywhere is no candidate.
    An invalid reference is direct when any of its sources is, as fail_on_unresolved fails only on those, and carries
    its condition when every source has one.
    """
    rules = rules if rules is not None else operators.load()
    kept, derived, lacking = operators.apply(inventory.findings, inventory.resources, rules, rule_inputs or {})
    grouped, invalid = _grouped(kept + derived + lacking)
    ordered = [grouped[k] for k in sorted(grouped)]
    pulled = [e for e in ordered if any("condition" not in s for s in e["sources"])]
    for entry in pulled:  # its class is that of the references pulled unconditionally
        entry["confidence"] = min((s["confidence"] for s in entry["sources"] if "condition" not in s), key=_STRENGTH.index)
    return {
        "images": [e for e in pulled if e["confidence"] == found.DIRECT],
        "indirect": [e for e in pulled if e["confidence"] == found.INDIRECT],
        "derived": [e for e in pulled if e["confidence"] == operators.DERIVED],
        "candidates": [_with_conditions(e) for e in ordered if e not in pulled],
        "invalid": [_with_conditions(invalid[k]) if all("condition" in s for s in invalid[k]["sources"]) else invalid[k]
                    for k in sorted(invalid)],
    }


def _grouped(findings):
    """({image: entry}, {reference as written: entry}) of the readable and the unreadable findings; an entry holds every
    source of its reference and the strongest confidence among them."""
    grouped, invalid = {}, {}
    for finding in findings:
        if finding.error:
            entry = invalid.setdefault(finding.written, {"written": finding.written, "error": finding.error, "confidence": finding.confidence,
                                                         "sources": []})
        else:
            entry = grouped.setdefault(finding.image, {"image": finding.image, "confidence": finding.confidence, "sources": []})
        entry["confidence"] = _stronger(entry["confidence"], finding.confidence)
        _add_source(entry, finding)
    return grouped, invalid


_STRENGTH = (found.DIRECT, operators.DERIVED, found.INDIRECT)


def _stronger(one, other):
    """The surer of two confidences: an image field beats a rule, which beats a string that reads as an image."""
    return min(one, other, key=_STRENGTH.index)


def _with_conditions(entry):
    return dict(entry, conditions=sorted({s["condition"] for s in entry["sources"] if "condition" in s}))


def _add_source(entry, finding):
    provenance = finding.provenance()
    provenance["confidence"] = finding.confidence
    if provenance not in entry["sources"]:
        entry["sources"].append(provenance)
