# Copyright (c) 2026, airlock.airgap contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Charts read by the one chart reader: Capabilities gates found, values merged parent over subchart, archives nested."""

from __future__ import annotations

import io
import tarfile

import pytest

from ansible_collections.airlock.airgap.plugins.module_utils.charts.errors import ChartError
from ansible_collections.airlock.airgap.plugins.module_utils.inventory import charts


def archive(files, top):
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        for name, text in files.items():
            data = text.encode() if isinstance(text, str) else text
            info = tarfile.TarInfo(f"{top}/{name}")
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


def test_gates_and_values_from_an_archive_with_a_nested_aliased_subchart(tmp_path):
    sub = archive({"Chart.yaml": "name: lib\nversion: 1.0.0\n", "values.yaml": "proxy: {repository: nginx, tag: '1.25.0'}\n",
                   "templates/d.yaml": "{{ if .Capabilities.APIVersions.Has `monitoring.coreos.com/v1` }}x{{ end }}"}, "lib")
    parent = archive({"Chart.yaml": "name: app\nversion: 1.0.0\ndependencies: [{name: lib, alias: edge}]\n",
                      "values.yaml": "global: {imageRegistry: ''}\nedge: {proxy: {tag: '1.25.4'}}\n",
                      "templates/cr.yaml": '{{- if .Capabilities.APIVersions.Has "acme.io/v1" }}x{{ end }}',
                      "charts/lib-1.0.0.tgz": sub}, "app")
    (tmp_path / "app.tgz").write_bytes(parent)
    chart = charts.load(str(tmp_path / "app.tgz"))
    assert charts.capability_gates(chart) == {"acme.io/v1": ["app/templates/cr.yaml"], "monitoring.coreos.com/v1": ["lib/templates/d.yaml"]}
    merged = charts.merged_values(chart, {"edge": {"proxy": {"repository": "envoy"}}})
    assert merged["edge"]["proxy"] == {"repository": "envoy", "tag": "1.25.4"}
    assert merged["edge"]["global"] == {"imageRegistry": ""}


def test_not_a_chart(tmp_path):
    with pytest.raises(ChartError, match="no Chart.yaml"):
        charts.load(str(tmp_path))
    with pytest.raises(ChartError, match="does not exist"):
        charts.load(str(tmp_path / "missing"))
