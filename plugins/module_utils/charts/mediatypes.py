# Copyright (c) 2026, airlock.airgap contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Media types Helm gives a chart stored in an OCI registry (helm.sh/helm/v4/pkg/registry)."""

from __future__ import annotations

CONFIG = "application/vnd.cncf.helm.config.v1+json"
CHART = "application/vnd.cncf.helm.chart.content.v1.tar+gzip"
PROVENANCE = "application/vnd.cncf.helm.chart.provenance.v1.prov"
# Charts pushed by Helm before 3.8 (and some other tools) carry this layer type; Helm still reads it.
LEGACY_CHART = "application/tar+gzip"
CHART_LAYERS = (CHART, LEGACY_CHART)
