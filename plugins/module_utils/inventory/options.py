# Copyright (c) 2026, airlock.airgap contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The argument specs that image_inventory, mirror_overrides and egress_audit share (documented in doc_fragments/charts.py
and doc_fragments/compose.py).

Plain data, importable without PyYAML, so a module can report that library missing cleanly.
"""

from __future__ import annotations

ALL_PROFILES = "*"

CHART_OPTIONS = dict(
    chart=dict(type="str", required=True),
    release_name=dict(type="str", default="release"),
    namespace=dict(type="str", default="default"),
    values_files=dict(type="list", elements="path", default=[]),
    values=dict(type="dict", default={}),
    kube_version=dict(type="str"),
    api_versions=dict(type="list", elements="str", default=[]),
    include_crds=dict(type="bool", default=True),
    repo=dict(type="str"),
    version=dict(type="str"),
    username=dict(type="str"),
    password=dict(type="str", no_log=True),
    plain_http=dict(type="bool", default=False),
    ca_file=dict(type="path"),
)

# What names a project; a reader that always reads every profile (egress_audit) takes only this.
COMPOSE_PROJECT_OPTIONS = dict(
    files=dict(type="list", elements="path", required=True),
    env_files=dict(type="list", elements="path", default=[]),
    scripts=dict(type="list", elements="path", default=[]),
    variables=dict(type="dict", default={}),
)

COMPOSE_OPTIONS = dict(COMPOSE_PROJECT_OPTIONS, profiles=dict(type="list", elements="str", default=[ALL_PROFILES]))
