# Copyright (c) 2026, airlock.airgap contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Where a chart comes from: an HTTP chart repository, an OCI registry or a local path.

Each source gives back the same thing, a verified archive (or a folder's files) with a note
of where it came from, so the dependency walk never needs to know which kind it had.
"""

from __future__ import annotations

import dataclasses
import os
import re

from ansible_collections.airlock.airgap.plugins.module_utils.charts import archive, oci_charts, semver
from ansible_collections.airlock.airgap.plugins.module_utils.charts.errors import ChartError
from ansible_collections.airlock.airgap.plugins.module_utils.integrity import digest as digests
from ansible_collections.airlock.airgap.plugins.module_utils.oci.errors import NotFound

HTTP_SCHEMES = ("http://", "https://")
FILE_SCHEME = "file://"
_EXACT_VERSION = re.compile(r"v?\d+\.\d+\.\d+(?:-[0-9A-Za-z.-]+)?(?:\+[0-9A-Za-z.-]+)?")


@dataclasses.dataclass
class Obtained:
    """A chart as read from its source: the archive bytes when it was one (kept as-is if complete)."""

    chart: archive.Chart
    data: bytes | None
    source: str
    source_digest: str | None
    folder: str | None = None
    provenance: bytes | None = None


class Sources:
    """Fetches charts by repository URL and name; one HTTP session and one client per registry for the run."""

    def __init__(self, repositories, clients):
        self.repositories = repositories
        self.clients = clients

    def remote(self, repository, name, constraint):
        """A chart from an HTTP repository or oci:// location, the version chosen by the constraint."""
        if repository.startswith(HTTP_SCHEMES):
            fetched = self.repositories.fetch(repository, name, constraint)
            chart = _named(archive.from_archive_bytes(fetched.data, fetched.url), name, fetched.url)
            if chart.version != fetched.version:
                raise ChartError(f"{fetched.url} holds {name} {chart.version}, but the index of {repository} lists it as version "
                                 f"{fetched.version}; the repository's index does not describe its archives, nothing was written")
            return Obtained(chart, fetched.data, fetched.url, fetched.digest)
        if repository.startswith(oci_charts.SCHEME):
            return self._from_registry(repository, name, constraint)
        raise ChartError(f"chart {name!r}: repository {repository!r} is neither an http(s):// chart repository nor an oci:// "
                         "location; give the URL itself (repository names and @aliases from `helm repo add` mean nothing here)")

    def _from_registry(self, repository, name, constraint):
        location = oci_charts.Location.parse(repository)
        client = self.clients.for_registry(location.registry)
        wanted = str(constraint or "").strip()
        if _EXACT_VERSION.fullmatch(wanted):
            version, pulled = _pull_exact(client, location, name, wanted)
        else:
            version = _best_tagged(client, location, name, constraint)
            pulled = oci_charts.pull(client, location, name, version)
        chart = _named(archive.from_archive_bytes(pulled.data, pulled.reference), name, pulled.reference)
        if oci_charts.tag_of(chart.version) != oci_charts.tag_of(version):
            raise ChartError(f"{pulled.reference} holds {name} {chart.version}, not the version its tag says; "
                             "the chart was pushed under another version's tag, nothing was written")
        return Obtained(chart, pulled.data, pulled.reference, pulled.digest, provenance=pulled.provenance)


def _pull_exact(client, location, name, version):
    """(version, Pulled) for an exact version: the tag as given first (as helm does), then with its leading v
    dropped (or added), since charts are tagged both ways; when neither exists the first error is the one told."""
    try:
        return version, oci_charts.pull(client, location, name, version)
    except NotFound as missing:
        other = version[1:] if version.startswith("v") else f"v{version}"
        try:
            return other, oci_charts.pull(client, location, name, other)
        except NotFound as error:
            raise missing from error


def _best_tagged(client, location, name, constraint):
    """The highest version among the repository's tags that the constraint allows (as `helm pull --version` does)."""
    tags = client.tags(location.repository(name))
    versions = {}
    for tag in tags:
        parsed = semver.parse_version(tag.replace("_", "+"))
        if parsed is not None:
            versions[parsed] = tag.replace("_", "+")
    chosen = semver.Constraint(constraint or "*").best(list(versions))
    if chosen is None:
        raise ChartError(f"chart {name!r} in {location.reference(name, '')[:-1]}: no tag satisfies {constraint or '*'!r}; "
                         f"it has {', '.join(sorted(tags)) or 'no tags'}")
    return versions[chosen]


def local(path):
    """A chart folder or .tgz on disk; a folder's file:// dependencies resolve against it."""
    if os.path.isdir(path):
        return Obtained(archive.from_folder(path), None, os.path.abspath(path), None, folder=os.path.realpath(path))
    if os.path.isfile(path):
        chart = archive.from_archive_file(path)
        return Obtained(chart, _read(path), os.path.abspath(path), digests.of_file(path))
    raise ChartError(f"chart path {path} does not exist; give a chart folder (with Chart.yaml) or a .tgz made by helm package")


def _read(path):
    with open(path, "rb") as handle:
        return handle.read()


def _named(chart, name, where):
    if chart.name != name:
        raise ChartError(f"{where} holds chart {chart.name!r}, not {name!r}")
    return chart
