# Copyright (c) 2026, airlock.airgap contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""How modules that render charts are told which, and how (inventory/options.py CHART_OPTIONS is the spec).

Ansible merges a fragment into a module's options one level deep only: a module that documents
``charts`` itself may replace its description, but suboptions it gives replace the fragment's
whole. So the chart suboptions are written once here, and each variant (``DOCUMENTATION`` for
image_inventory and egress_audit, ``OVERRIDES`` for mirror_overrides, which adds the file to
write and the value map) is assembled from them. The variants are annotated assignments because
ansible-test's yamllint reads only literal ones (it fails on an expression); ansible-doc and
validate-modules read and check the assembled text of every module that uses them.
"""

_CHART_SUBOPTIONS = r"""
      chart:
        description: A chart folder, a C(.tgz), an C(oci://) reference, or a chart name in O(charts[].repo).
        type: str
        required: true
      release_name:
        description: Release name for the render.
        type: str
        default: release
      namespace:
        description: Namespace for the render.
        type: str
        default: default
      values_files:
        description: Values files, as C(helm template --values), in order.
        type: list
        elements: path
        default: []
      values:
        description: Values set on top, as C(helm template --set-json KEY=VALUE) per key (dotted keys allowed).
        type: dict
        default: {}
      kube_version:
        description: Kubernetes version for C(.Capabilities.KubeVersion).
        type: str
      api_versions:
        description: API versions for C(.Capabilities.APIVersions), as the target cluster serves them.
        type: list
        elements: str
        default: []
      include_crds:
        description: Render the chart's CRDs too.
        type: bool
        default: true
      repo:
        description: HTTP chart repository URL holding O(charts[].chart).
        type: str
      version:
        description: Chart version to pull from a repository or registry.
        type: str
      username:
        description: User for the chart repository or registry.
        type: str
      password:
        description:
          - Password for O(charts[].username).
          - Given to helm on its standard input, never on a command line (C(helm registry login --password-stdin) for an
            OCI registry, C(helm repo add --password-stdin) for an HTTP repository), into a registry or repository
            config in a private temporary folder that is removed once the chart is pulled.
        type: str
      plain_http:
        description: The OCI registry serves plain HTTP.
        type: bool
        default: false
      ca_file:
        description: CA certificate to verify the chart repository or registry.
        type: path
"""

_OVERRIDE_SUBOPTIONS = r"""
      override:
        description: The values file to write (pass it after the site's own, O(charts[].values_files)).
        type: path
        required: true
      value_map:
        description:
          - Values the automatic rewrite cannot know - each sets O(charts[].value_map[].path) to a part of the mirrored O(charts[].value_map[].image).
          - For a chart rendering C(repo:{tag}-{platform}-{bundle}), map the repository and leave the tag alone, or pin the digest into the value
            the chart reads it from.
        type: list
        elements: dict
        default: []
        suboptions:
          path:
            description: Dotted values path (C(nim.image.repository)).
            type: str
            required: true
          image:
            description: The image as the chart renders it today.
            type: str
            required: true
          part:
            description: Which part of the mirrored reference to set.
            type: str
            choices: [reference, registry, repository, name, tag, digest]
            default: reference
"""

_CHARTS_OPTION = r"""
options:
  charts:
    description: Charts to render.
    type: list
    elements: dict
    default: []
    suboptions:"""


class ModuleDocFragment:  # pylint: disable=too-few-public-methods
    DOCUMENTATION: str = _CHARTS_OPTION + _CHART_SUBOPTIONS

    OVERRIDES: str = _CHARTS_OPTION + _OVERRIDE_SUBOPTIONS + _CHART_SUBOPTIONS
