# Copyright (c) 2026, airlock.airgap contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Operator knowledge applied to the findings: images derived at run time, components that do not apply, versions selected.

A custom resource says what an operator will run only to someone who knows the operator: the GPU
operator appends the node's OS to the driver's tag, skips its sandbox components unless sandbox
workloads are on, and Strimzi picks one image of its version map by the version a Kafka resource
asks for. That knowledge is data (operator_rules.py, and the user's rules files in the same YAML);
this module reads it, checks its shape, and applies it to what the scan found among the inputs.
"""

from __future__ import annotations

import dataclasses
import fnmatch
import itertools
import string

from ansible_collections.airlock.airgap.plugins.module_utils.errors import AirlockError
from ansible_collections.airlock.airgap.plugins.module_utils.inventory import findings as found
from ansible_collections.airlock.airgap.plugins.module_utils.inventory import yamlload
from ansible_collections.airlock.airgap.plugins.module_utils.inventory.manifests import disabled
from ansible_collections.airlock.airgap.plugins.module_utils.inventory.operator_rules import BUILTIN_RULES

DERIVED = "derived"
_SECTIONS = {
    "derive": {"name": str, "kind": str, "component": str, "image": str, "inputs": list, "unless": list},
    "requires": {"name": str, "kind": str, "components": list, "when": str},
    "select": {"name": str, "setting": str, "kind": str, "field": str},
}
_REQUIRED = {"derive": ("name", "kind", "component", "image"), "requires": ("name", "kind", "components", "when"),
             "select": ("name", "setting", "kind", "field")}


class RulesError(AirlockError, ValueError):
    """A rules file whose shape is wrong; the message names the file, the rule and the field."""


@dataclasses.dataclass
class Resource:
    """A custom resource among the inputs, as the findings name it (file and object label)."""

    file: str
    label: str
    obj: dict


def load(paths=()) -> dict:
    """The built-in rules, then each file's, section by section; RulesError names what is wrong."""
    rules = {section: [] for section in _SECTIONS}
    for where, text in [("the built-in rules", BUILTIN_RULES)] + [(path, _read(path)) for path in paths]:
        try:
            data = yamlload.load(text) or {}
        except yamlload.LOAD_ERRORS as error:
            raise RulesError(f"rules file {where} is not valid YAML: {error}") from error
        for section, entries in _validated(data, where).items():
            rules[section].extend(entries)
    return rules


def _read(path) -> str:
    try:
        with open(path, encoding="utf-8") as handle:
            return handle.read()
    except (OSError, UnicodeDecodeError) as error:
        raise RulesError(f"cannot read rules file {path}: {error}") from error


def _validated(data, where) -> dict:
    if not isinstance(data, dict) or set(data) - set(_SECTIONS):
        raise RulesError(f"rules file {where} must be a mapping of {', '.join(_SECTIONS)} (each a list of rules)")
    for section, entries in data.items():
        if not isinstance(entries, list):
            raise RulesError(f"rules file {where}: {section} must be a list of rules")
        for index, rule in enumerate(entries):
            fields = _SECTIONS[section]
            name = f"{where}: {section}[{index}]"
            if not isinstance(rule, dict) or set(rule) - set(fields):
                raise RulesError(f"{name} must be a mapping of {', '.join(fields)}")
            for key in _REQUIRED[section]:
                if key not in rule:
                    raise RulesError(f"{name} lacks {key}")
            for key, value in rule.items():
                if not isinstance(value, fields[key]) or (fields[key] is list and not all(isinstance(v, str) for v in value)):
                    raise RulesError(f"{name}.{key} must be a {'list of strings' if fields[key] is list else 'string'}")
    return data


def field(node, path):
    """The value at a dotted field path of a mapping, or None."""
    for key in path.split("."):
        node = node.get(key) if isinstance(node, dict) else None
    return node


def _under(path, component) -> bool:
    return path == component or path.startswith(component + ".") or path.startswith(component + "[")


def apply(findings, resources, rules, inputs) -> tuple:
    """(findings with rules applied, derived findings, derivations that lack an input as invalid findings)."""
    by_place = {(r.file, r.label): r for r in resources}
    findings = [_required(f, by_place.get((f.file, f.obj)), rules["requires"]) for f in findings]
    findings = [_selected(f, resources, rules["select"]) if f.choice else f for f in findings]
    conditions = {(f.file, f.obj, f.path): f.condition for f in findings if f.confidence == found.DIRECT}
    derived, lacking, replaced = [], [], set()
    for rule in rules["derive"]:
        for resource in (r for r in resources if r.obj.get("kind") == rule["kind"]):
            component = field(resource.obj, rule["component"])
            if not isinstance(component, dict) or any(component.get(key) for key in rule.get("unless", ())):
                continue
            if str(component.get("version", "")).startswith("sha256:") or not _complete(rule, component, inputs):
                continue
            place = (resource.file, resource.label, rule["component"])
            condition = conditions.get(place) or disabled(component, rule["component"])
            made = [finding.when(condition) for finding in _derive(rule, resource, component, inputs)]
            replaced.add(place)
            (lacking if made[0].error else derived).extend(made)
    kept = [f for f in findings if not ((f.file, f.obj, f.path) in replaced and f.confidence == found.DIRECT)]
    return kept, derived, lacking


def _required(finding, resource, requires):
    if resource is None:
        return finding
    for rule in requires:
        if resource.obj.get("kind") == rule["kind"] and any(_under(finding.path, c) for c in rule["components"]):
            if str(field(resource.obj, rule["when"])).lower() != "true":
                finding = finding.when(f"{rule['when']} is true")
    return finding


def _selected(finding, resources, selects):
    """A finding of a version map: unconditional when a resource among the inputs selects its version, else a candidate.

    Without a rule for the setting, a `version` field of any custom resource among the inputs that equals the key selects it.
    """
    setting, version = finding.choice
    rules = [rule for rule in selects if setting and fnmatch.fnmatchcase(str(setting).lstrip("-"), rule["setting"])]
    if rules:
        wanted = {(rule["kind"], rule["field"]): [str(field(r.obj, rule["field"])) for r in resources if r.obj.get("kind") == rule["kind"]]
                  for rule in rules}
        if any(version in values for values in wanted.values()):
            return finding
        kind, path = next(iter(wanted))
        return finding.when(f"a {kind} resource sets {path}: {version}")
    if version in {str(v) for r in resources for v in _versions(r.obj)}:
        return finding
    return finding.when(f"a resource selects version {version} of {setting or finding.path}")


def _versions(node):
    """Every value of a field named `version` in a resource's spec."""
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "version" and isinstance(value, (str, int, float)):
                yield value
            elif key not in ("metadata", "status"):
                yield from _versions(value)
    elif isinstance(node, list):
        for value in node:
            yield from _versions(value)


def _names(rule) -> list:
    return [name for _text, name, _spec, _conversion in string.Formatter().parse(rule["image"]) if name]


def _complete(rule, component, inputs) -> bool:
    """Whether the component fills every name of the template that no input gives (else it stays as scanned: incomplete)."""
    return all(component.get(name) not in (None, "") for name in _names(rule) if name not in inputs and name not in rule.get("inputs", ()))


def _derive(rule, resource, component, inputs) -> list:
    """The images the rule derives for a component, one per combination of inputs; one invalid finding if any is missing."""
    names = _names(rule)
    via = f"rule {rule['name']}"
    missing = [name for name in names if name not in component and name not in inputs]
    needs = [name for name in names if name not in component]
    if missing:
        fields = {k: str(v) for k, v in component.items() if isinstance(v, (str, int, float))}
        written = rule["image"].format(**{**fields, **{name: f"{{{name}}}" for name in missing}})
        return [found.Finding(written, resource.file, resource.label, rule["component"], via, DERIVED,
                              error=f"the operator derives this image (rule {rule['name']}) from {', '.join(missing)}: "
                                    f"give rule_inputs.{missing[0]}, as a list of the values in the cluster")]
    choices = [[(name, value) for value in (inputs[name] if isinstance(inputs[name], list) else [inputs[name]])] for name in needs]
    made = []
    for combination in itertools.product(*choices):
        values = {**{k: str(v) for k, v in component.items() if isinstance(v, (str, int, float))}, **dict(combination)}
        written = rule["image"].format(**values)
        finding = found.direct(written, resource.file, resource.label, rule["component"], via)
        made.append(dataclasses.replace(finding, confidence=DERIVED))
    return made
