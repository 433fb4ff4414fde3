# Copyright (c) 2026, airlock.airgap contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Make a chart self-contained: every dependency it declares carried in its charts/ folder.

`helm dependency build` cannot run in the enclave (it fetches), and `helm template` refuses a
chart whose Chart.yaml names a dependency that charts/ lacks. So on the connected side each
declared dependency is found (vendored in charts/, a `file://` folder, an HTTP repository or
an `oci://` location), made complete itself, and placed in charts/ as an archive, the whole
tree down. A chart that was complete already keeps its original bytes (and digest).
"""

from __future__ import annotations

import dataclasses
import os

from ansible_collections.airlock.airgap.plugins.module_utils.charts import archive, semver, sources
from ansible_collections.airlock.airgap.plugins.module_utils.charts.errors import ChartError

MAX_DEPTH = 10


@dataclasses.dataclass
class Completed:
    """A chart with all its dependencies, the archive to write, and the tree of what was put in."""

    chart: archive.Chart
    data: bytes
    dependencies: list
    added: bool


def complete(obtained, fetcher, depth=0):
    """The obtained chart with every dependency, recursively, inside it.

    Helm matches each declared dependency, aliased or not, to the first chart in charts/ with its name whose
    version the constraint allows; an alias only renames the copy at render time. So one chart in charts/
    serves every alias of it, and each chart in charts/ is completed (and recorded) once.
    """
    chart = obtained.chart
    if depth > MAX_DEPTH:
        raise ChartError(f"{chart.origin}: dependencies nest deeper than {MAX_DEPTH} levels; is there a cycle?")
    files = dict(chart.files)
    vendored = _vendored_by_name(chart)
    fetched = {}
    done = {}
    for declared in chart.dependencies():
        name, constraint, repository = _declared(declared, chart)
        if name in vendored:
            entry, subchart = _matching_vendored(vendored[name], constraint, chart)
            if entry not in done:
                done[entry] = _complete_vendored(entry, subchart, obtained, fetcher, depth, files)
            continue
        inner = _matching(fetched.get(name, []), constraint)
        if inner is None:
            dependency = _obtain(name, constraint, repository, obtained, fetcher)
            inner = complete(dependency, fetcher, depth + 1)
            fetched.setdefault(name, []).append(inner)
            files[f"charts/{inner.chart.archive_name}"] = inner.data
            done[f"fetched {inner.chart.archive_name}"] = _record(inner.chart, dependency.source, inner), True
    for candidates in vendored.values():
        for entry, subchart in candidates:
            if entry not in done:
                done[entry] = _complete_vendored(entry, subchart, obtained, fetcher, depth, files)
    return _completed(obtained, files, done)


def _completed(obtained, files, done):
    """The chart with its dependencies' files; the archive as obtained when nothing was added (no repacking, so its
    digest stays the publisher's), else the chart packed again. done: {entry: (record, added)}."""
    records = [pair[0] for pair in done.values()]
    added = any(pair[1] for pair in done.values())
    if not added and obtained.data is not None:
        return Completed(obtained.chart, obtained.data, records, False)
    completed_chart = archive.Chart(obtained.chart.metadata, files, obtained.chart.origin)
    return Completed(completed_chart, archive.pack(completed_chart), records, added)


def _vendored_by_name(chart):
    """{chart name: [(entry under charts/, Chart), ...]}: Helm matches a declared dependency to charts/ by name."""
    found = {}
    for entry, subchart in chart.subcharts().items():
        found.setdefault(subchart.name, []).append((entry, subchart))
    return found


def _matching_vendored(candidates, constraint, chart):
    """The first copy in charts/ the constraint allows (as Helm picks it); none allowed is a stale copy."""
    allowed = next(((entry, subchart) for entry, subchart in candidates if _allows(constraint, subchart)), None)
    if allowed is None:
        entry, subchart = candidates[0]
        raise _stale(subchart, constraint, chart, f"charts/{entry}")
    return allowed


def _matching(completed, constraint):
    """A dependency fetched for an earlier alias that this one's constraint also allows."""
    return next((inner for inner in completed if _allows(constraint, inner.chart)), None)


def _allows(constraint, subchart):
    if not constraint:
        return True
    version = semver.parse_version(subchart.version)
    return version is not None and semver.Constraint(constraint).allows(version)


def _declared(declared, chart):
    if not isinstance(declared, dict) or not declared.get("name"):
        raise ChartError(f"{chart.origin}: a dependency in Chart.yaml has no name: {declared!r}")
    return str(declared["name"]), str(declared.get("version") or "").strip(), str(declared.get("repository") or "").strip()


def _check_version(subchart, constraint, parent, where):
    if not _allows(constraint, subchart):
        raise _stale(subchart, constraint, parent, where)


def _stale(subchart, constraint, parent, where):
    return ChartError(f"{parent.origin}: {where} is {subchart.name} {subchart.version}, but Chart.yaml asks for "
                      f"{constraint!r}; remove the stale copy from charts/ or fix the version in Chart.yaml")


def _complete_vendored(entry, subchart, obtained, fetcher, depth, files):
    """A chart already in charts/ may still lack its own dependencies: complete it in place."""
    folder = obtained.folder and os.path.join(obtained.folder, "charts", entry)
    data = files.get(f"charts/{entry}") if entry.endswith(".tgz") else None
    inner = complete(sources.Obtained(subchart, data, f"vendored in {obtained.chart.name}", None,
                                      folder=folder if folder and os.path.isdir(folder) else None), fetcher, depth + 1)
    if inner.added:
        for path in [p for p in files if p == f"charts/{entry}" or p.startswith(f"charts/{entry}/")]:
            del files[path]
        files[f"charts/{inner.chart.archive_name}"] = inner.data
    return _record(inner.chart, "vendored", inner), inner.added


def _obtain(name, constraint, repository, parent, fetcher):
    if repository.startswith(sources.FILE_SCHEME):
        if parent.folder is None:
            raise ChartError(f"{parent.source}: dependency {name!r} is {repository} but the archive does not carry it in "
                             "charts/; give the parent chart as a folder, or run helm dependency build before packaging it")
        path = os.path.normpath(os.path.join(parent.folder, repository[len(sources.FILE_SCHEME):]))
        dependency = sources.local(path)
        if dependency.chart.name != name:
            raise ChartError(f"{parent.source}: dependency {name!r} points at {path}, which holds chart {dependency.chart.name!r}")
        _check_version(dependency.chart, constraint, parent.chart, repository)
        return dependency
    if not repository:
        raise ChartError(f"{parent.source}: dependency {name!r} names no repository and is not in charts/; "
                         "give its repository URL in Chart.yaml or vendor it")
    return fetcher.remote(repository, name, constraint)


def _record(chart, source, inner):
    return {"name": chart.name, "version": chart.version, "source": source, "dependencies": inner.dependencies}
