#!/usr/bin/python
# Copyright (c) 2026, airlock.airgap contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r"""
---
module: chart_mirror
short_description: Mirror Helm charts with every dependency inside, and push them to an OCI registry
version_added: 0.1.0
description:
  - With O(state=present), fetches charts from HTTP chart repositories (C(index.yaml)), OCI registries (C(oci://)) and
    local folders or C(.tgz) files into O(dest) (the bundle's C(charts/)) as C(<name>-<version>.tgz).
  - Each archive already holds every dependency its C(Chart.yaml) (or C(requirements.yaml)) declares, down the whole tree -
    charts vendored in C(charts/), C(file://) folders, and charts from HTTP repositories and C(oci://) locations, fetched here
    on the connected side - so C(helm template) and C(helm install) work in the enclave with no network and no repository
    configuration (C(helm dependency build) cannot run there).
  - An archive from a repository is checked against the sha256 its index gives while it streams; a mismatch is an error
    and writes nothing, and so is an archive whose C(Chart.yaml) version is not the one the index lists for it. A chart that
    is complete already keeps its original bytes; one that gained dependencies is packed reproducibly, so the same inputs
    always give the same digest on the same machine (see the notes on zlib).
  - Archive entries that would land outside the chart (absolute paths, C(..), links, devices) are refused, as are links in a
    chart folder that point outside it. A chart's name must be one Helm allows (letters, digits, C(.), C(_), C(-)) and its
    version a semantic version as Helm reads it, so C(<name>-<version>.tgz) is always a file in O(dest).
  - With O(state=pushed), pushes every archive in O(dest) to an OCI registry as C(helm push) stores charts (Helm's config, chart
    and provenance media types; tag = version with C(+) written C(_)), so C(helm pull oci://) and C(helm install oci://) read them.
author:
  - airlock.airgap maintainers (@airlock)
extends_documentation_fragment:
  - airlock.airgap.attributes
  - airlock.airgap.registries
  - airlock.airgap.network
attributes:
  check_mode:
    support: full
    details: Fetches and completes the charts (or reads the registry) and reports what would change, writing and pushing nothing.
  diff_mode:
    support: none
  idempotent:
    support: full
    details: An identical archive is not rewritten and a chart whose manifest is in the registry already is not pushed again.
options:
  state:
    description:
      - V(present) mirrors O(charts) into O(dest).
      - V(pushed) pushes every C(.tgz) in O(dest) (or the one O(dest) names) to O(destination).
    type: str
    choices: [present, pushed]
    default: present
  charts:
    description:
      - Charts to mirror, with O(state=present). Each names C(path), or C(name) and C(repo) with an optional C(version).
    type: list
    elements: dict
    default: []
    suboptions:
      name:
        description: Chart name in the repository.
        type: str
      repo:
        description:
          - An HTTP chart repository URL (the folder holding C(index.yaml)), or C(oci://HOST/PATH) where the chart is
            C(oci://HOST/PATH/<name>).
        type: str
      version:
        description:
          - Version or constraint as Helm reads it (V(1.2.3), V(^1.2.0), V(~1.2), V(>=1.0.0 <2.0.0)); the highest version allowed is taken.
          - Omitted, the newest release (no prerelease). For OCI locations the versions are read from the repository's tags.
          - For OCI locations an exact version is pulled by the tag as given first (V(v1.2.3) by tag C(v1.2.3)), then with its
            leading C(v) dropped or added; the chart pulled must carry the version its tag names.
        type: str
      path:
        description: A local chart folder (its C(file://) dependencies resolve against it) or a C(.tgz) made by C(helm package).
        type: path
  dest:
    description: The charts folder, for example C(/srv/bundle/charts). With O(state=pushed), a folder of archives or one archive.
    type: path
    required: true
  destination:
    description: With O(state=pushed), C(oci://HOST[:PORT]/PATH); a chart goes to C(HOST/PATH/<name>:<version>).
    type: str
  repositories:
    description:
      - Settings of HTTP chart repositories, matched to chart and dependency URLs by the longest URL prefix.
      - Credentials are sent only to the repository's own scheme, host and port unless O(repositories[].pass_credentials) is set.
    type: list
    elements: dict
    default: []
    suboptions:
      url:
        description: Repository URL (or a prefix of several).
        type: str
        required: true
      username:
        description: User name for HTTP Basic authentication.
        type: str
      password:
        description: Password for O(repositories[].username).
        type: str
      ca_file:
        description: CA certificate (PEM) to verify the repository's TLS certificate.
        type: path
      pass_credentials:
        description: Also send the credentials when the index points archives at another host.
        type: bool
        default: false
  lock_file:
    description: With O(state=present), merge the charts (name, version, source, digests, dependency tree) into this C(airlock.lock.json).
    type: path
requirements:
  - requests
  - PyYAML
notes:
  - Dependencies are fetched whatever their C(condition) or C(tags) say, as C(helm dependency build) does, so any values set later still render.
  - A chart vendored in C(charts/) whose version does not satisfy C(Chart.yaml) is an error rather than silently shipped.
  - As in Helm, a dependency declared several times under different C(alias) names is matched by name and version to one chart
    in C(charts/); that one copy serves every alias, and a dependency fetched for one alias is not fetched again for the next.
  - Packing is reproducible for one zlib build only. The gzip stream is zlib's output, and another zlib version or zlib-ng
    (which some distributions ship) may compress the same files to other bytes, so a chart completed on two machines can get
    two digests. Mirror on one machine (or image) and ship its archives rather than rebuilding them elsewhere.
seealso:
  - name: Helm chart repository guide
    description: The index.yaml format read here.
    link: https://helm.sh/docs/topics/chart_repository/
  - name: Helm OCI registries
    description: How helm push stores charts, which state=pushed reproduces.
    link: https://helm.sh/docs/topics/registries/
"""

EXAMPLES = r"""
- name: Mirror a release's charts, with every dependency inside, into the bundle
  airlock.airgap.chart_mirror:
    charts:
      - name: nv-ingest
        repo: https://helm.ngc.nvidia.com/nvidia/nemo-microservices
        version: 25.9.0
      - name: seaweedfs
        repo: oci://ghcr.io/seaweedfs/charts
        version: 4.0.0
      - path: /src/deploy/charts/app
    dest: /srv/bundle/charts
    repositories:
      - url: https://helm.ngc.nvidia.com
        username: $oauthtoken
        password: "{{ ngc_api_key }}"
    lock_file: /srv/bundle/airlock.lock.json

- name: Push the bundle's charts to the enclave registry
  airlock.airgap.chart_mirror:
    state: pushed
    dest: /media/usb/bundle/charts
    destination: oci://registry.enclave:5000/charts
    registries:
      - host: registry.enclave:5000
        username: "{{ mirror_user }}"
        password: "{{ mirror_password }}"
        ca_file: /etc/pki/enclave-ca.pem
"""

RETURN = r"""
charts:
  description: One entry per chart written, found in place, or pushed.
  returned: always
  type: list
  elements: dict
  contains:
    name:
      description: Chart name.
      type: str
      sample: app
    version:
      description: Chart version (the one chosen, when a constraint was given).
      type: str
      sample: 1.4.2
    source:
      description: Where the chart came from (archive URL, C(oci://) reference or local path).
      type: str
      returned: O(state=present)
    file:
      description: The archive written.
      type: str
      returned: O(state=present)
      sample: /srv/bundle/charts/app-1.4.2.tgz
    digest:
      description: sha256 of the archive written, or with O(state=pushed) of the manifest in the registry.
      type: str
    source_digest:
      description: sha256 of the archive as its source had it (differs from RV(charts[].digest) when dependencies were added).
      type: str
      returned: O(state=present)
    dependencies:
      description: The dependency tree now inside the archive (C(name), C(version), C(source), C(dependencies)).
      type: list
      elements: dict
      returned: O(state=present)
    reference:
      description: Where the chart was pushed, as C(helm pull) takes it.
      type: str
      returned: O(state=pushed)
      sample: oci://registry.enclave:5000/charts/app:1.4.2
    changed:
      description: Whether anything was (or in check mode would be) written or pushed for this chart.
      type: bool
lock_file:
  description: The lock file written, when O(lock_file) was given.
  returned: when O(lock_file) is set
  type: str
"""

import dataclasses

from ansible.module_utils.basic import AnsibleModule, missing_required_lib

from ansible_collections.airlock.airgap.plugins.module_utils.errors import EXPECTED_ERRORS, fail_from_exception
from ansible_collections.airlock.airgap.plugins.module_utils.charts import archive, lock, mirror, repo_index, sources
from ansible_collections.airlock.airgap.plugins.module_utils.http import transport as network
from ansible_collections.airlock.airgap.plugins.module_utils.oci import transports

ARGUMENT_SPEC = dict(
    state=dict(type="str", choices=["present", "pushed"], default="present"),
    charts=dict(type="list", elements="dict", default=[], options=dict(
        name=dict(type="str"),
        repo=dict(type="str"),
        version=dict(type="str"),
        path=dict(type="path"),
    )),
    dest=dict(type="path", required=True),
    destination=dict(type="str"),
    repositories=dict(type="list", elements="dict", default=[], options=dict(
        url=dict(type="str", required=True),
        username=dict(type="str"),
        password=dict(type="str", no_log=True),
        ca_file=dict(type="path"),
        pass_credentials=dict(type="bool", default=False, no_log=False),
    )),
    lock_file=dict(type="path"),
    **transports.REGISTRIES_ARGUMENT_SPEC,
    **network.ARGUMENT_SPEC,
)


def repository_settings(entries):
    return [repo_index.RepositorySettings(e["url"], e["username"], e["password"], e["ca_file"], e["pass_credentials"]) for e in entries]


def mirror_charts(module, clients):
    params = module.params
    if not params["charts"]:
        module.fail_json(msg="state=present needs charts: each a path, or a name and repo")
    fetcher = sources.Sources(repo_index.Repositories(repository_settings(params["repositories"]), params["timeout"], clients.retry), clients)
    results = mirror.mirror(params["charts"], params["dest"], fetcher, module.check_mode)
    report = dict(changed=any(r.changed for r in results), charts=[dataclasses.asdict(r) for r in results])
    if params["lock_file"] and not module.check_mode:
        report["changed"] = lock.write(params["lock_file"], results) or report["changed"]
        report["lock_file"] = params["lock_file"]
    return report


def push_charts(module, clients):
    if not module.params["destination"]:
        module.fail_json(msg="state=pushed needs destination, for example oci://registry.enclave:5000/charts")
    results = mirror.push(module.params["dest"], module.params["destination"], clients, module.check_mode)
    return dict(changed=any(r.changed for r in results), charts=[dataclasses.asdict(r) for r in results])


def main():
    module = AnsibleModule(argument_spec=ARGUMENT_SPEC, supports_check_mode=True)
    if network.REQUESTS_IMPORT_ERROR:
        module.fail_json(msg=missing_required_lib("requests"), exception=network.REQUESTS_IMPORT_ERROR)
    if archive.YAML_IMPORT_ERROR:
        module.fail_json(msg=missing_required_lib("PyYAML"), exception=archive.YAML_IMPORT_ERROR)
    try:
        clients = transports.clients_for(module.params)
        if module.params["state"] == "present":
            report = mirror_charts(module, clients)
        else:
            report = push_charts(module, clients)
    except EXPECTED_ERRORS as error:
        fail_from_exception(module, error)
    module.exit_json(**report)


if __name__ == "__main__":
    main()
