#!/usr/bin/python
# Copyright (c) 2026, airlock.airgap contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r"""
---
module: mirror_overrides
short_description: Write Helm values and Compose override files that point every image at the mirror
version_added: 0.1.0
description:
  - For a chart, renders it with C(helm template) (every C(.Capabilities.APIVersions.Has) gate open) to learn the images
    it runs, then rewrites the values that produce them - split C(registry)/C(repository)/C(tag)/C(digest) mappings (in
    subcharts too), image strings, and image references in env values and arguments - and sets C(pullPolicy) /
    C(imagePullPolicy) and C(pullSecrets) / C(imagePullSecrets) where the chart has them (else C(global.imagePullSecrets)
    and C(imagePullSecrets)). An operator's per-repository host map - a C({hostname, pathPrefix}) mapping such as
    C(repositories.<name>), from which it assembles C(HOST/PREFIX/NAME:TAG) - is pointed at the mirror path its images land
    under, when an image the chart runs lies under it. The result is a values file to pass after the site's own (C(helm install -f site.yaml -f override.yaml)).
  - For a Compose project, writes an override file (C(docker compose -f compose.yml -f override.yml)) giving every service
    (all profiles) its mirrored image and pull policy, and every env value naming an image its mirrored reference.
  - Each override is proven before anything is written - the chart is rendered again with it, or the project read again with
    it - and every image still outside the mirror is listed in RV(overrides[].unmapped) and fails the task. A task that fails
    writes no override at all, so the next run cannot find a failed one in place and call it unchanged.
  - Images map as in the P(airlock.airgap.image_mirror#filter) filter, which follows the layout of
    M(airlock.airgap.image_copy) to a C(docker://REGISTRY/PREFIX) destination.
  - Charts that assemble a tag from several values (for example C(tag) plus C(-{platform}-{bundle})) get their repository
    rewritten automatically (the tag is unchanged); to pin such an image by digest, or for an image no value controls, give
    O(charts[].value_map), or name it in O(pin_exceptions) to let it run by its tag.
  - Warnings of the Compose reader (a wrapper script line only running it could give, skipped) are passed on as task warnings.
author:
  - airlock.airgap maintainers (@airlock)
extends_documentation_fragment:
  - airlock.airgap.charts.overrides
  - airlock.airgap.compose.overrides
  - airlock.airgap.attributes
attributes:
  check_mode:
    support: full
    details: The overrides are computed and proven from a temporary copy; nothing is written.
  diff_mode:
    support: none
  idempotent:
    support: full
options:
  registry:
    description: The mirror registry host, with its port if any (C(registry.enclave:5000)).
    type: str
    required: true
  prefix:
    description: Path prefix of the images in the mirror.
    type: str
    default: ""
  path:
    description: V(keep) each repository path under the prefix, or V(flatten) it to its last component.
    type: str
    choices: [keep, flatten]
    default: keep
  pin:
    description: V(keep) tags and digests as written, V(tag) drops digests, V(digest) pins every image to its digest.
    type: str
    choices: [keep, tag, digest]
    default: keep
  pin_exceptions:
    description:
      - With O(pin=digest), images that keep their tag - references as discovered (or as mirrored), such as a tag a chart assembles
        from several values and so cannot take a digest.
      - They are listed in RV(overrides[].pin_exceptions) and in a warning, never silently; an exception that matches no image is
        a warning too.
    type: list
    elements: str
    default: []
  digests:
    description: Normalised image reference to digest, for O(pin=digest).
    type: dict
    default: {}
  lock_file:
    description:
      - A lock (C(airlock.lock.json)) whose image digests are used for O(pin=digest) (from image_copy and image_inventory).
      - An image_copy entry is read by the image its source names - for a push from the bundle's layout
        (C(oci:DIR:docker.io/library/nats:2.12.6-alpine)) the canonical reference after the layout.
    type: path
  pull_secrets:
    description: Names of the image pull secrets the enclave's namespaces hold.
    type: list
    elements: str
    default: []
  pull_policy:
    description: Pull policy for every image (Compose gets the equivalent C(missing), C(always), C(never)).
    type: str
    choices: [IfNotPresent, Never, Always]
    default: IfNotPresent
  endpoints:
    description:
      - Hosted endpoint URL prefixes and the enclave's replacements (C(https://huggingface.co) to C(http://hf-mirror.airlock.svc:8080)),
        applied to every string value the chart or project has (the longest prefix first). Endpoints in templates are left for
        M(airlock.airgap.egress_audit) to report.
    type: dict
    default: {}
  charts:
    description: Charts to write a values override for.
  compose:
    description: Compose projects to write an override file for.
  helm_binary:
    description: The C(helm) program.
    type: str
    default: helm
  fail_on_unmapped:
    description: Fail when an image is still outside the mirror after the override (or, with O(pin=digest), not pinned).
    type: bool
    default: true
"""

EXAMPLES = r"""
- name: Point the platform chart at the enclave's mirror, pinned by the digests copied
  airlock.airgap.mirror_overrides:
    registry: registry.enclave:5000
    prefix: mirror
    pin: digest
    lock_file: /media/usb/bundle/airlock.lock.json
    pull_secrets: [mirror-pull]
    charts:
      - chart: /media/usb/bundle/charts/platform-1.4.0.tgz
        values_files: [/srv/site/values.yaml]
        override: /srv/site/values.airgap.yaml

- name: A chart whose tag is "{{ '{{' }} .Values.tag {{ '}}' }}-{{ '{{' }} .Values.platform {{ '}}' }}", pinned through the value it reads the digest from
  airlock.airgap.mirror_overrides:
    registry: registry.enclave:5000
    charts:
      - chart: /srv/charts/nim
        override: /srv/site/nim.airgap.yaml
        value_map:
          - {path: image.digest, image: "nvcr.io/nim/llm:1.0-amd64", part: digest}

- name: The same chart pinned by digest, except the image whose tag it assembles (listed in the result and a warning)
  airlock.airgap.mirror_overrides:
    registry: registry.enclave:5000
    pin: digest
    pin_exceptions: ["nvcr.io/nim/meta/llama3-8b-instruct:1.0.3-amd64-full"]
    lock_file: /media/usb/bundle/airlock.lock.json
    charts:
      - chart: /srv/charts/nim
        override: /srv/site/nim.airgap.yaml

- name: The Compose project's override
  airlock.airgap.mirror_overrides:
    registry: registry.enclave:5000
    compose:
      - files: [/srv/app/docker-compose.yml]
        override: /srv/app/docker-compose.airgap.yml
"""

RETURN = r"""
overrides:
  description: One entry per chart, then per Compose project (not named C(results), which Ansible reads as a loop's results).
  returned: always
  type: list
  elements: dict
  contains:
    source:
      description: The chart or the compose files.
      type: str
    override:
      description: The override file.
      type: str
    changed:
      description: Whether the override file was (or in check mode would be) written; never on a failed task, which writes nothing.
      type: bool
    mapped:
      description: Each value rewritten - kind (V(image), V(host_map), V(endpoint), V(value_map)), path, from, to.
      type: list
      elements: dict
    unmapped:
      description: Images still outside the mirror after the override, with file, object, path and value.
      type: list
      elements: dict
    unpinned:
      description:
        - With O(pin=digest), images that still run by tag after the override (a tag assembled from several values), with where they
          are - pin them with O(charts[].value_map), or name them in O(pin_exceptions). They fail the task like unmapped images.
      type: list
      elements: dict
    pin_exceptions:
      description: With O(pin=digest), images that run by tag because O(pin_exceptions) names them, with where they are.
      type: list
      elements: dict
"""

from ansible.module_utils.basic import AnsibleModule, missing_required_lib

from ansible_collections.airlock.airgap.plugins.module_utils.errors import EXPECTED_ERRORS, fail_from_exception
from ansible_collections.airlock.airgap.plugins.module_utils.inventory import inventory as engine
from ansible_collections.airlock.airgap.plugins.module_utils.inventory import mirroring, overrides, rewrite
from ansible_collections.airlock.airgap.plugins.module_utils.inventory.options import CHART_OPTIONS, COMPOSE_OPTIONS
from ansible_collections.airlock.airgap.plugins.module_utils.inventory.yamlload import YAML_IMPORT_ERROR

VALUE_MAP_OPTIONS = dict(
    path=dict(type="str", required=True),
    image=dict(type="str", required=True),
    part=dict(type="str", choices=["reference", "registry", "repository", "name", "tag", "digest"], default="reference"),
)

ARGUMENT_SPEC = dict(
    registry=dict(type="str", required=True),
    prefix=dict(type="str", default=""),
    path=dict(type="str", choices=["keep", "flatten"], default="keep"),
    pin=dict(type="str", choices=["keep", "tag", "digest"], default="keep"),
    pin_exceptions=dict(type="list", elements="str", default=[]),
    digests=dict(type="dict", default={}),
    lock_file=dict(type="path"),
    pull_secrets=dict(type="list", elements="str", default=[], no_log=False),
    pull_policy=dict(type="str", choices=["IfNotPresent", "Never", "Always"], default="IfNotPresent"),
    endpoints=dict(type="dict", default={}),
    charts=dict(type="list", elements="dict", default=[], options=dict(
        CHART_OPTIONS, override=dict(type="path", required=True),
        value_map=dict(type="list", elements="dict", default=[], options=VALUE_MAP_OPTIONS))),
    compose=dict(type="list", elements="dict", default=[], options=dict(COMPOSE_OPTIONS, override=dict(type="path", required=True))),
    helm_binary=dict(type="str", default="helm"),
    fail_on_unmapped=dict(type="bool", default=True),
)


def mirror_of(params):
    digests = rewrite.digests_from_lock(params["lock_file"]) if params["lock_file"] else {}
    digests.update(params["digests"])
    return rewrite.Mirror(params["registry"], params["prefix"], params["path"], params["pin"], digests, frozenset(params["pin_exceptions"]))


def prove_all(params, mirror):
    """Every override computed and proven; none is written yet."""
    outcomes = []
    for chart in params["charts"]:
        settings = overrides.Settings(mirror, params["pull_secrets"], params["pull_policy"], chart["value_map"], params["endpoints"])
        outcomes.append(mirroring.chart_override(params["helm_binary"], engine.chart_source(chart), chart["override"], settings))
    for project in params["compose"]:
        settings = overrides.Settings(mirror, params["pull_secrets"], params["pull_policy"], endpoints=params["endpoints"])
        outcomes.append(mirroring.compose_override(engine.compose_source(project), project["override"], settings))
    return outcomes


def warn_about(module, outcomes, mirror):
    """What the user must see even when the task passes: the Compose reader's skipped lines and every pin exception, used or not."""
    for warning in sorted({w for outcome in outcomes for w in outcome.warnings}):
        module.warn(warning)
    if mirror.pin_exceptions and mirror.pin != rewrite.PIN_DIGEST:
        module.warn(f"pin_exceptions apply only with pin=digest; with pin={mirror.pin} they change nothing")
        return
    kept = sorted({entry["image"] for outcome in outcomes for entry in outcome.pin_exceptions})
    if kept:
        module.warn(f"{len(kept)} images run by tag, not digest, as pin_exceptions allows: {', '.join(kept)}")
    unused = mirror.exceptions_unused_by(kept)
    if unused:
        module.warn(f"pin_exceptions that match no image running by tag: {', '.join(unused)}")


def fail_unless_proven(module, outcomes, mirror):
    """Fail, writing nothing, while an image stays outside the mirror or (pin=digest) runs by tag without an exception."""
    unmapped = [u for o in outcomes for u in o.unmapped]
    unpinned = [u for o in outcomes for u in o.unpinned]
    if unmapped or unpinned:
        module.fail_json(msg=f"after the override, {len(unmapped)} image references are still outside {mirror.registry} and "
                         f"{len(unpinned)} are not pinned by digest, so no override was written: "
                         + "; ".join(f"{u['file']} {u['object']} {u['path']}: {u['image']}" for u in (unmapped + unpinned)[:5])
                         + " (map them with value_map; name in pin_exceptions those that cannot take a digest)",
                         changed=False, overrides=[o.as_dict() for o in outcomes])


def main():
    module = AnsibleModule(argument_spec=ARGUMENT_SPEC, supports_check_mode=True)
    if YAML_IMPORT_ERROR:
        module.fail_json(msg=missing_required_lib("PyYAML"), exception=YAML_IMPORT_ERROR)
    try:
        mirror = mirror_of(module.params)
        outcomes = prove_all(module.params, mirror)
    except EXPECTED_ERRORS as error:
        fail_from_exception(module, error)
    warn_about(module, outcomes, mirror)
    if module.params["fail_on_unmapped"]:
        fail_unless_proven(module, outcomes, mirror)
    try:
        for outcome in outcomes:
            outcome.write(module.check_mode)
    except EXPECTED_ERRORS as error:
        fail_from_exception(module, error, msg=f"an override could not be written: {error}", changed=any(o.changed for o in outcomes),
                            overrides=[o.as_dict() for o in outcomes])
    module.exit_json(changed=any(o.changed for o in outcomes), overrides=[o.as_dict() for o in outcomes])


if __name__ == "__main__":
    main()
