# Copyright (c) 2026, airlock.airgap contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The chart mirror: charts with every dependency into the bundle's charts/, and from there
into the enclave's OCI registry.

An archive is written under a temporary name and renamed, only when its bytes differ from
what is there, so a second run changes nothing and a run cut short leaves no archive that a
later run (or helm) would trust.
"""

from __future__ import annotations

import dataclasses
import glob
import os

from ansible_collections.airlock.airgap.plugins.module_utils.integrity import atomic
from ansible_collections.airlock.airgap.plugins.module_utils.charts import dependencies, oci_charts, sources
from ansible_collections.airlock.airgap.plugins.module_utils.charts.errors import ChartError
from ansible_collections.airlock.airgap.plugins.module_utils.integrity import digest as digests


@dataclasses.dataclass
class Mirrored:  # pylint: disable=too-many-instance-attributes
    """One chart written (or found identical) in the charts folder."""

    name: str
    version: str
    source: str
    file: str
    digest: str
    source_digest: str | None
    dependencies: list
    changed: bool


def obtain(spec, fetcher):
    """A chart request ({path} or {name, repo, version}) -> the chart as its source has it."""
    if spec.get("path"):
        return sources.local(spec["path"])
    if not spec.get("name") or not spec.get("repo"):
        raise ChartError(f"chart {spec!r}: give either path, or name and repo (an http(s):// repository or oci:// location)")
    return fetcher.remote(spec["repo"].rstrip("/"), spec["name"], str(spec.get("version") or ""))


def mirror(specs, dest, fetcher, check_mode=False):
    """Every requested chart, complete, into dest as <name>-<version>.tgz."""
    results = {}
    for spec in specs:
        obtained = obtain(spec, fetcher)
        completed = dependencies.complete(obtained, fetcher)
        path = os.path.join(dest, completed.chart.archive_name)
        digest = digests.of_bytes(completed.data)
        earlier = results.get(path)
        if earlier is not None and earlier.digest != digest:
            raise ChartError(f"{earlier.source} and {obtained.source} are both {completed.chart.archive_name} "
                             "but differ; mirror one of them")
        changed = _write_if_different(path, completed.data, digest, check_mode)
        if obtained.provenance is not None and not completed.added:
            changed = _write_if_different(path + oci_charts.PROVENANCE_SUFFIX, obtained.provenance,
                                          digests.of_bytes(obtained.provenance), check_mode) or changed
        results[path] = Mirrored(completed.chart.name, completed.chart.version, obtained.source, path, digest,
                                 obtained.source_digest, completed.dependencies, changed)
    return list(results.values())


def _write_if_different(path, data, digest, check_mode):
    if os.path.isfile(path) and digests.of_file(path) == digest:
        return False
    if not check_mode:
        atomic.write_bytes(path, data)
    return True


def archives_in(path):
    """The chart archives to push: one .tgz, or every .tgz in a folder."""
    if os.path.isfile(path):
        return [path]
    found = sorted(glob.glob(os.path.join(glob.escape(path), "*.tgz")))
    if not os.path.isdir(path) or not found:
        raise ChartError(f"{path} holds no chart archives (.tgz) to push; mirror charts into it first (state=present)")
    return found


def push(path, destination, clients, check_mode=False):
    """Every archive under path to oci://HOST/PATH/<name>:<version>, as helm push would store it."""
    location = oci_charts.Location.parse(destination)
    client = clients.for_registry(location.registry)
    return [oci_charts.push(client, location, archive_path, check_mode) for archive_path in archives_in(path)]
