#!/usr/bin/python
# Copyright (c) 2026, airlock.airgap contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r"""
---
module: image_inventory
short_description: Find every container image of Helm charts, manifests, Compose projects and values files
version_added: 0.1.0
description:
  - Charts are rendered with the real C(helm template) (values files, values, kube version, API versions, CRDs), so parent
    values that override subchart defaults and templates that assemble references are honoured. Images are never read
    from values files alone when a chart is given.
  - Images are taken from every pod-spec-bearing kind (containers, init containers, ephemeral containers of Pod,
    Deployment, StatefulSet, DaemonSet, ReplicaSet, Job, CronJob), from custom resources that embed images, and, as
    indirect references with lower confidence, from env values, arguments (C(--some-image=repo:tag)) and ConfigMap data
    (JSON or YAML inside included). Labels and annotations are never read.
  - Templates gated on C(.Capabilities.APIVersions.Has) are found in the chart; by default the chart is also rendered
    with those API versions, and the images only the gates reveal are listed in RV(gated_images).
  - Compose projects are read as C(docker compose config) reads them - files merged in order, C(include) (short and long
    form, with their own env files), C(extends), C(${VAR}), C(${VAR:-default}), C(${VAR-default}), the project's C(.env),
    extra env files and the env files a wrapper script sources - and run as C(docker compose up) would - the profiles
    given, else those C(COMPOSE_PROFILES) names. Services of other profiles give RV(candidates); build-only services
    (C(build) without C(image)) are listed in RV(builds), never as images.
  - Custom resources whose components split their image over fields (C(repository) + C(image) + C(version),
    C(registry) + C(image) + C(tag), C(repo) + C(name) + C(tag), a C(sha256:) version being a digest) are assembled as their
    operator assembles them; a component missing a part is listed in RV(invalid) with its path, never completed as
    C(:latest). Components, sections and add-ons turned off (C(enabled) set to C(false), an C(ENABLE_X=false) flag beside
    C(X_IMAGE)) give RV(candidates) with the condition that would pull them.
  - An env value, argument or ConfigMap value that is a map (C(3.8.0=repo:tag) lines, a comma-separated list, a JSON object)
    gives its values, never its keys. When the keys are versions, the entry that a resource among the inputs selects (by
    a rule of the rules file, else a C(version) field equal to the key) is pulled and the others are RV(candidates).
  - Operator knowledge is data - the built-in rules (C(plugins/module_utils/inventory/operator_rules.py), documented there)
    and O(rules_files) in the same YAML - for images an operator derives at run time (RV(derived)), components it runs only
    when another field holds, and version maps selected by a resource.
  - Every reference is normalised (C(redis) becomes C(docker.io/library/redis:latest)) and deduplicated, with its
    provenance (file, object, field path). With O(resolve_digests), tags are resolved to digests through the registry
    API; references that do not resolve are listed in RV(unresolved), never dropped.
  - Remote charts (O(charts[].repo) or C(oci://)) are fetched with C(helm pull) on the connected side. In the enclave,
    give the archives that M(airlock.airgap.chart_mirror) wrote.
author:
  - airlock.airgap maintainers (@airlock)
extends_documentation_fragment:
  - airlock.airgap.charts
  - airlock.airgap.compose.inventory
  - airlock.airgap.attributes
  - airlock.airgap.registries
  - airlock.airgap.network
attributes:
  check_mode:
    support: full
    details: Everything is read and resolved; the lock file is not written, and C(changed) says whether it would be.
  diff_mode:
    support: none
  idempotent:
    support: full
options:
  charts:
    description: Charts to render.
  capability_gates:
    description:
      - What to do about templates gated on C(.Capabilities.APIVersions.Has) for API versions not in O(charts[].api_versions).
      - V(union) renders as asked and again with every gate open, and lists everything.
      - V(pass) renders only with every gate open.
      - V(report) renders as asked and lists the closed gates in RV(capability_gates) with a warning.
    type: str
    choices: [union, pass, report]
    default: union
  manifests:
    description: Rendered manifest files, or folders of C(.yaml), C(.yml) and C(.json) files.
    type: list
    elements: path
    default: []
  values_files:
    description: Values files to read on their own (without a chart) for the images they name.
    type: list
    elements: path
    default: []
  rules_files:
    description:
      - Operator rules files, read after the built-in rules, in their YAML (sections C(derive), C(requires), C(select)); see
        the built-in rules in C(plugins/module_utils/inventory/operator_rules.py) for each field.
    type: list
    elements: path
    default: []
  rule_inputs:
    description:
      - Facts of the cluster that rules derive images from, by name - for example C(node_os) as a list of the nodes' OS
        (C(ubuntu22.04), C(rhel9.4)), which the GPU operator appends to the driver's tag. A list gives one image per value.
      - A rule whose input is missing gives an RV(invalid) entry naming the input, and a warning.
    type: dict
    default: {}
  helm_binary:
    description: The C(helm) program.
    type: str
    default: helm
  resolve_digests:
    description: Resolve every image (images, indirect and derived) to its digest through the registry API.
    type: bool
    default: false
  lock_file:
    description:
      - With O(resolve_digests), record the images and their digests in the C(inventory) section of this lock file
        (C(airlock.lock.json)); other sections are kept.
    type: path
  fail_on_unresolved:
    description: Fail when a direct reference is invalid or does not resolve.
    type: bool
    default: false
"""

EXAMPLES = r"""
- name: Everything the release runs, gated templates included
  airlock.airgap.image_inventory:
    charts:
      - chart: /srv/charts/platform-1.4.0.tgz
        values_files: [/srv/site/values.yaml]
        kube_version: "1.30.0"
  register: inventory

- name: Every service of a Compose project, all profiles, pinned to digests into the lock
  airlock.airgap.image_inventory:
    compose:
      - files: [/srv/app/docker-compose.yml]
        scripts: [/srv/app/start.sh]
    resolve_digests: true
    lock_file: /srv/bundle/airlock.lock.json

- name: Feed image_copy with what was found
  airlock.airgap.image_copy:
    images: "{{ (inventory.images + inventory.indirect + inventory.derived) | map(attribute='image') | list }}"
    destination: oci:/srv/bundle/images

- name: A GPU operator's ClusterPolicy, the driver derived for the nodes' OS
  airlock.airgap.image_inventory:
    manifests: [/srv/gpu/clusterpolicy.yaml]
    rule_inputs:
      node_os: [ubuntu22.04]
    rules_files: [/srv/site/operator-rules.yml]
"""

RETURN = r"""
images:
  description: Images pulled as such (container, compose service, custom resource, values image fields), normalised.
  returned: always
  type: list
  elements: dict
  contains:
    image:
      description: The normalised reference.
      type: str
    confidence:
      description: V(direct).
      type: str
    digest:
      description: Its digest, with O(resolve_digests).
      type: str
    sources:
      description: Where it was found (file, object, path, via, written, confidence).
      type: list
      elements: dict
indirect:
  description:
    - Images seen only in env values, arguments, commands, ConfigMap data or operator settings, that the scenario pulls;
      probably launched later by an operator.
  returned: always
  type: list
  elements: dict
candidates:
  description:
    - Images pulled only if a condition holds - a component or section turned off, a profile not run, a version no resource
      among the inputs selects, a component an operator rule does not apply - each with C(conditions) (any one pulls it)
      and its sources (each with its C(condition)). Not mirrored unless asked.
  returned: always
  type: list
  elements: dict
derived:
  description: Images an operator computes at run time, by a rule (C(via) names it) and O(rule_inputs), C(confidence) V(derived).
  returned: always
  type: list
  elements: dict
invalid:
  description:
    - Image fields that are not valid references (C(repo:), an empty tag, among them), components missing a part of their
      image, and derivations lacking an input, with the reason, where, and C(confidence) V(direct) when any source is an image
      field, else V(indirect) (an env value or flag that names an image) or V(derived).
    - C(conditions) when every source is a candidate's; those never fail O(fail_on_unresolved).
  returned: always
  type: list
  elements: dict
unresolved:
  description: Images whose tag or digest the registry did not resolve, with the reason.
  returned: always
  type: list
  elements: dict
capability_gates:
  description: C(.Capabilities.APIVersions.Has) gates found in the charts, and whether they were rendered open.
  returned: always
  type: list
  elements: dict
gated_images:
  description: Images that only appear with the gates open.
  returned: always
  type: list
  elements: str
builds:
  description: Compose services built locally rather than pulled.
  returned: always
  type: list
  elements: dict
unset_variables:
  description: Compose variables used but set nowhere (they expanded to empty or their default).
  returned: always
  type: list
  elements: str
skipped_services:
  description: Compose services left out because their profiles were not chosen.
  returned: always
  type: list
  elements: dict
parse_errors:
  description: Documents no YAML loader could read; their C(image:) lines were still taken.
  returned: always
  type: list
  elements: dict
"""

from ansible.module_utils.basic import AnsibleModule, missing_required_lib

from ansible_collections.airlock.airgap.plugins.module_utils.errors import EXPECTED_ERRORS, fail_from_exception
from ansible_collections.airlock.airgap.plugins.module_utils.http import transport as network
from ansible_collections.airlock.airgap.plugins.module_utils.inventory import inventory as engine
from ansible_collections.airlock.airgap.plugins.module_utils.inventory import operators, resolve
from ansible_collections.airlock.airgap.plugins.module_utils.inventory.findings import DIRECT
from ansible_collections.airlock.airgap.plugins.module_utils.inventory.options import CHART_OPTIONS, COMPOSE_OPTIONS
from ansible_collections.airlock.airgap.plugins.module_utils.inventory.yamlload import YAML_IMPORT_ERROR
from ansible_collections.airlock.airgap.plugins.module_utils.oci import transports

ARGUMENT_SPEC = dict(
    charts=dict(type="list", elements="dict", default=[], options=CHART_OPTIONS),
    capability_gates=dict(type="str", choices=["union", "pass", "report"], default="union"),
    manifests=dict(type="list", elements="path", default=[]),
    compose=dict(type="list", elements="dict", default=[], options=dict(COMPOSE_OPTIONS, profiles=dict(type="list", elements="str"))),
    values_files=dict(type="list", elements="path", default=[]),
    rules_files=dict(type="list", elements="path", default=[]),
    rule_inputs=dict(type="dict", default={}),
    helm_binary=dict(type="str", default="helm"),
    resolve_digests=dict(type="bool", default=False),
    lock_file=dict(type="path"),
    fail_on_unresolved=dict(type="bool", default=False),
    **transports.REGISTRIES_ARGUMENT_SPEC,
    **network.ARGUMENT_SPEC,
)


def collect(params):
    inventory = engine.Inventory()
    for chart in params["charts"]:
        engine.add_chart(inventory, params["helm_binary"], engine.chart_source(chart), params["capability_gates"])
    for path in params["manifests"]:
        engine.add_manifests(inventory, path)
    for project in params["compose"]:
        engine.add_compose(inventory, engine.compose_source(project))
    for path in params["values_files"]:
        engine.add_values(inventory, path)
    return inventory


def failure_text(entry) -> str:
    """One failing reference for the message: an invalid one's error names it already, so say where it is written."""
    if "written" in entry:
        source = entry["sources"][0]
        return f"{entry['error']} (in {source['file']} at {source['path']})"
    return f"{entry['image']}: {entry['error']}"


def warn_about(module, inventory, found):
    """What the user must see even when the task passes: the readers' warnings, images a rule could not derive, and
    templates whose capability gate stayed closed."""
    for warning in inventory.warnings + [i["error"] for i in found["invalid"] if i["confidence"] == operators.DERIVED]:
        module.warn(warning)
    for gate in inventory.capability_gates:
        if not gate["passed"]:
            module.warn(f"{gate['chart']}: templates gated on API version {gate['api_version']} rendered nothing "
                        f"({', '.join(gate['templates'])}); pass it in api_versions or use capability_gates=union")


def resolve_digests(module, params, pulled, result):
    """With resolve_digests, every pulled image resolved through its registry (result's unresolved), and the lock file
    written with the digests (result's changed)."""
    if network.REQUESTS_IMPORT_ERROR:
        module.fail_json(msg=missing_required_lib("requests"), exception=network.REQUESTS_IMPORT_ERROR)
    try:
        result["unresolved"] = resolve.resolve(pulled, transports.clients_for(params))
    except EXPECTED_ERRORS as error:
        fail_from_exception(module, error)
    if params["lock_file"]:
        result["changed"] = resolve.write_lock(params["lock_file"], pulled, result["unresolved"], module.check_mode)


def failing_references(found, unresolved):
    """The references a workload pulls directly that are invalid or do not resolve (fail_on_unresolved fails on them)."""
    direct_images = {entry["image"] for entry in found["images"]}
    pulled_invalid = [i for i in found["invalid"] if i["confidence"] == DIRECT and "conditions" not in i]
    return pulled_invalid + [u for u in unresolved if u["image"] in direct_images]


def main():
    module = AnsibleModule(argument_spec=ARGUMENT_SPEC, supports_check_mode=True)
    if YAML_IMPORT_ERROR:
        module.fail_json(msg=missing_required_lib("PyYAML"), exception=YAML_IMPORT_ERROR)
    params = module.params
    try:
        inventory = collect(params)
        found = engine.images(inventory, operators.load(params["rules_files"]), params["rule_inputs"])
    except EXPECTED_ERRORS as error:
        fail_from_exception(module, error)
    result = dict(changed=False, unresolved=[], capability_gates=inventory.capability_gates, gated_images=inventory.gated_images,
                  builds=inventory.builds, unset_variables=inventory.unset_variables, skipped_services=inventory.skipped_services,
                  parse_errors=inventory.parse_errors, **found)
    warn_about(module, inventory, found)
    if params["resolve_digests"]:
        resolve_digests(module, params, found["images"] + found["indirect"] + found["derived"], result)
    failing = failing_references(found, result["unresolved"])
    if params["fail_on_unresolved"] and failing:
        module.fail_json(msg=f"{len(failing)} image references are invalid or do not resolve: " + "; ".join(map(failure_text, failing[:5])), **result)
    module.exit_json(**result)


if __name__ == "__main__":
    main()
