#!/usr/bin/python
# Copyright (c) 2026, airlock.airgap contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r"""
---
module: egress_audit
short_description: Fail, with a precise list, when manifests, Compose files, env files or values still point outside the enclave
version_added: 0.1.0
description:
  - Scans rendered manifests, Compose files, env files and values files (files or folders in O(paths)), releases as they will
    be installed (O(charts) - rendered by the real C(helm template) with their values, every C(.Capabilities.APIVersions.Has)
    gate open, so gated custom resources are audited too) and Compose projects as they will run (O(compose) - files merged,
    overrides included, variables resolved, every profile).
  - Every image reference must be in O(allowed_registries) - container, init and ephemeral container images, custom
    resources, Compose services, values image fields, and images named in env values, arguments and ConfigMap data.
  - Every URL must be on O(allowed_hosts), or cluster-internal (a one-label service name, C(*.svc), C(*.cluster.local),
    a private address) unless O(allow_cluster_internal=false). Hosts on O(denied_hosts) (by default Hugging Face, NGC and
    NVIDIA's hosted APIs, Docker Hub, GHCR, Quay) are reported even when written without a scheme.
  - C(s3://BUCKET/KEY) names no host - it reaches the S3 endpoint its client is configured with - so it is judged by
    O(s3_endpoint), and without one it counts as AWS S3 (C(s3.amazonaws.com)), outside unless allowed in O(allowed_hosts).
  - In custom resources, a model source that downloads from NGC or the Hugging Face Hub without naming a URL (an C(ngc) or
    C(hf) mapping under a key naming a source, such as NIMCache's C(spec.source.ngc), without an C(endpoint)) is a violation
    unless the service's host (C(ngc.nvidia.com), C(huggingface.co)) is allowed.
  - C(imagePullPolicy Always) (Compose C(pull_policy always)) and pod specs without C(imagePullSecrets) are warnings (RV(pull_warnings)).
  - Hosts on O(denied_hosts) written without a scheme are found with a port or a path too (C(huggingface.co/BAAI/bge-m3),
    C(ghcr.io/org/sidecar)), as the first segment of a token only (not C(/data/huggingface.co/x)).
  - Labels, annotations and CRD schemas are not scanned. Secrets are - C(data) decoded from base64, C(stringData) as
    written - since workloads read them through C(env) and C(envFrom); a violation in a Secret names its key and never
    shows its value.
  - Fails unless there are no violations; each is given as file, object, field path, value and reason. The value is
    what points outside, not the string it was found in - C(scheme://host/path) of a URL without its user, password,
    query or fragment, C(host/path) of a bare host, or the image reference - so no credential and no whole multi-line
    value reaches the output or the log.
  - Files are told apart by content - Kubernetes objects, a Compose file (top-level C(services)), or values - and
    C(.env) / C(*.env) files are read as C(KEY=VALUE) lines.
  - Warnings of the Compose reader (a wrapper script line only running it could give, skipped) are passed on as task warnings,
    as the audit cannot see what such a line sets.
author:
  - airlock.airgap maintainers (@airlock)
extends_documentation_fragment:
  - airlock.airgap.charts
  - airlock.airgap.compose
  - airlock.airgap.attributes
attributes:
  check_mode:
    support: full
    details: The audit only reads.
  diff_mode:
    support: none
  idempotent:
    support: full
options:
  paths:
    description: Files, or folders of C(.yaml), C(.yml), C(.json) and C(.env) files, to audit.
    type: list
    elements: path
    default: []
  charts:
    description:
      - Releases to audit as they will be installed - each chart rendered with its values as C(helm template) renders it
        (folders, C(.tgz), HTTP repositories and C(oci://), as in M(airlock.airgap.image_inventory)), with every
        C(.Capabilities.APIVersions.Has) gate open in addition to O(charts[].api_versions).
      - Objects are named by the template each came from.
  helm_binary:
    description: The C(helm) program.
    type: str
    default: helm
  compose:
    description: Compose projects to audit as they will run (every profile).
  allowed_registries:
    description:
      - The mirror registries images may come from - C(host[:port]), C(host[:port]/prefix), or a glob (C(*.enclave.lan)).
    type: list
    elements: str
    required: true
  allowed_hosts:
    description: Hosts URLs may point at (globs allowed, for example C(*.enclave.lan)); the allowed registries are allowed too.
    type: list
    elements: str
    default: []
  denied_hosts:
    description: Hosted endpoints reported wherever they appear. Defaults to Hugging Face, NGC and NVIDIA's hosted APIs, Docker Hub, GHCR and Quay.
    type: list
    elements: str
  allow_cluster_internal:
    description: Allow URLs to one-label service names, C(*.svc), C(*.cluster.local), C(*.local), C(*.internal) and private addresses.
    type: bool
    default: true
  s3_endpoint:
    description:
      - The S3 endpoint the workloads' clients are configured with (the enclave's MinIO or SeaweedFS, C(http://seaweedfs:8333)).
        C(s3://) URLs are judged by its host; without it they count as AWS S3.
    type: str
"""

EXAMPLES = r"""
- name: Nothing the release and the Compose project run may point outside the enclave
  airlock.airgap.egress_audit:
    charts:
      - chart: /media/usb/bundle/charts/platform-1.4.0.tgz
        release_name: platform
        values_files: [/srv/site/values.yaml, /srv/site/values.airgap.yaml]
        api_versions: [apps.nvidia.com/v1alpha1]
    compose:
      - files: [/srv/app/docker-compose.yml, /srv/app/docker-compose.airgap.yml]
    paths: [/srv/app/.env]
    allowed_registries: [registry.enclave:5000]
    allowed_hosts: ["*.enclave.lan"]
    s3_endpoint: http://seaweedfs.storage.svc:8333
"""

RETURN = r"""
violations:
  description:
    - Everything that points outside - file, object (C(Kind/name), C(service/name), C(env), C(values)), path, value and reason.
    - The value is the URL (C(scheme://host/path), without credentials, query or fragment), host or image that points outside;
      for a Secret it is a placeholder, never the value.
  returned: always
  type: list
  elements: dict
pull_warnings:
  description: Pull policy C(Always) and pods without pull secrets, in the same form; they do not fail the audit.
  returned: always
  type: list
  elements: dict
files:
  description: The files audited.
  returned: always
  type: list
  elements: str
"""

from ansible.module_utils.basic import AnsibleModule, missing_required_lib

from ansible_collections.airlock.airgap.plugins.module_utils.errors import EXPECTED_ERRORS, fail_from_exception
from ansible_collections.airlock.airgap.plugins.module_utils.inventory import egress
from ansible_collections.airlock.airgap.plugins.module_utils.inventory import inventory as engine
from ansible_collections.airlock.airgap.plugins.module_utils.inventory.options import CHART_OPTIONS, COMPOSE_PROJECT_OPTIONS
from ansible_collections.airlock.airgap.plugins.module_utils.inventory.yamlload import YAML_IMPORT_ERROR

ARGUMENT_SPEC = dict(
    paths=dict(type="list", elements="path", default=[]),
    charts=dict(type="list", elements="dict", default=[], options=CHART_OPTIONS),
    helm_binary=dict(type="str", default="helm"),
    compose=dict(type="list", elements="dict", default=[], options=COMPOSE_PROJECT_OPTIONS),
    allowed_registries=dict(type="list", elements="str", required=True),
    allowed_hosts=dict(type="list", elements="str", default=[]),
    denied_hosts=dict(type="list", elements="str"),
    allow_cluster_internal=dict(type="bool", default=True),
    s3_endpoint=dict(type="str"),
)


def policy_of(params) -> egress.Policy:
    denied = params["denied_hosts"] if params["denied_hosts"] is not None else egress.DEFAULT_DENIED_HOSTS
    return egress.Policy(tuple(params["allowed_registries"]), tuple(params["allowed_hosts"]), tuple(denied),
                         params["allow_cluster_internal"], params["s3_endpoint"] or "")


def audit_all(params, audit):
    for path in params["paths"]:
        egress.audit_path(audit, path)
    for chart in params["charts"]:
        egress.audit_chart(audit, params["helm_binary"], engine.chart_source(chart))
    for project in params["compose"]:
        egress.audit_compose_project(audit, engine.compose_source(dict(project, profiles=["*"])))


def main():
    module = AnsibleModule(argument_spec=ARGUMENT_SPEC, supports_check_mode=True)
    if YAML_IMPORT_ERROR:
        module.fail_json(msg=missing_required_lib("PyYAML"), exception=YAML_IMPORT_ERROR)
    audit = egress.Audit(policy_of(module.params))
    try:
        audit_all(module.params, audit)
    except EXPECTED_ERRORS as error:
        fail_from_exception(module, error)
    for warning in audit.reader_warnings:
        module.warn(warning)
    result = dict(changed=False, violations=audit.violations, pull_warnings=audit.warnings, files=audit.files)
    if audit.warnings:
        module.warn(f"{len(audit.warnings)} pull settings would contact the registry or lack a pull secret: see pull_warnings")
    if audit.violations:
        first = "; ".join(f"{v['file']} {v['object']} {v['path']}: {v['value']!r} ({v['reason']})" for v in audit.violations[:5])
        module.fail_json(msg=f"{len(audit.violations)} references point outside the enclave: {first}", **result)
    module.exit_json(**result)


if __name__ == "__main__":
    main()
