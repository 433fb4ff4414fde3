"""The mirror writes <name>-<version>.tgz into dest and nowhere else."""

import io
import tarfile

import pytest

from ansible_collections.airlock.airgap.plugins.module_utils.charts import mirror
from ansible_collections.airlock.airgap.plugins.module_utils.charts.errors import ChartError


class NoNetwork:
    def remote(self, repository, name, constraint):
        raise AssertionError(f"{name} from {repository} should not have been fetched")


def test_a_chart_whose_version_climbs_out_of_dest_writes_nothing(tmp_path):
    chart_yaml = b"apiVersion: v2\nname: demo\nversion: 1.0.0/../../escaped\n"
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        info = tarfile.TarInfo("demo/Chart.yaml")
        info.size = len(chart_yaml)
        tar.addfile(info, io.BytesIO(chart_yaml))
    (tmp_path / "evil.tgz").write_bytes(buffer.getvalue())
    dest = tmp_path / "bundle" / "charts"
    with pytest.raises(ChartError, match="version '1.0.0/../../escaped', which is not a semantic version"):
        mirror.mirror([{"path": str(tmp_path / "evil.tgz")}], str(dest), NoNetwork())
    assert sorted(p.name for p in tmp_path.rglob("*")) == ["evil.tgz"]
