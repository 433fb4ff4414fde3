# Copyright (c) 2026, airlock.airgap contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""HTTP chart repositories: index.yaml read, a version chosen as Helm would, the archive
downloaded and checked against the digest the index gives for it while it streams.

Credentials go only to the repository's own scheme, host and port, as Helm does unless
told to pass them on (pass_credentials), so an index that points archives at another
host never receives them. Requests go through the collection's HTTP transport: retried,
and resumed with Range when cut midway (the digest check then covers every byte).
"""

from __future__ import annotations

import dataclasses
import hashlib
import urllib.parse

from ansible_collections.airlock.airgap.plugins.module_utils.charts import archive, semver
from ansible_collections.airlock.airgap.plugins.module_utils.charts.errors import ChartError
from ansible_collections.airlock.airgap.plugins.module_utils.http import transport

# Bitnami's index is tens of MiB; a bigger answer is not an index.
MAX_INDEX_BYTES = 256 * 1024 * 1024


@dataclasses.dataclass(frozen=True)
class RepositorySettings:
    """How to reach one chart repository (matched to chart URLs by the longest prefix)."""

    url: str
    username: str | None = None
    password: str | None = dataclasses.field(default=None, repr=False)
    ca_file: str | None = None
    pass_credentials: bool = False


@dataclasses.dataclass(frozen=True)
class Fetched:
    """A chart archive downloaded and verified against its index digest."""

    data: bytes
    url: str
    digest: str
    version: str


class Repositories:
    """Every HTTP chart repository of a run: one session, indexes read once."""

    def __init__(self, settings=(), timeout=300, retry=transport.RetryPolicy()):
        self.settings = sorted(settings, key=lambda s: len(s.url), reverse=True)
        self.transport = transport.Transport("the chart repository", retry, timeout, tls_advice="give the repository's CA (ca_file)")
        self._indexes = {}

    def settings_for(self, url):
        base = url.rstrip("/") + "/"
        for entry in self.settings:
            if base.startswith(entry.url.rstrip("/") + "/"):
                return entry
        return RepositorySettings(url)

    def index(self, repo_url):
        """index.yaml's entries: {chart name: [entry, ...]}."""
        repo_url = repo_url.rstrip("/")
        if repo_url not in self._indexes:
            url = f"{repo_url}/index.yaml"
            data = b"".join(self._stream(url, self.settings_for(repo_url), repo_url, MAX_INDEX_BYTES))
            parsed = archive.load_yaml(data, url)
            if not isinstance(parsed, dict) or not isinstance(parsed.get("entries"), dict):
                raise ChartError(f"{url} is not a Helm repository index (no 'entries'); is {repo_url} a chart repository?")
            self._indexes[repo_url] = parsed["entries"]
        return self._indexes[repo_url]

    def resolve(self, repo_url, name, constraint_text):
        """The index entry of the version Helm would pick for the constraint (highest allowed)."""
        entries = self.index(repo_url).get(name)
        if not entries:
            raise ChartError(f"chart {name!r} is not in the index of {repo_url}; check the chart name and repository URL")
        versions = {}
        for entry in entries:
            parsed = semver.parse_version(entry.get("version", ""))
            if parsed is not None:
                versions.setdefault(parsed, entry)
        chosen = semver.Constraint(constraint_text or "*").best(versions)
        if chosen is None:
            newest = ", ".join(str(v) for v in sorted(versions, reverse=True)[:5])
            raise ChartError(f"no version of chart {name!r} in {repo_url} satisfies {constraint_text!r} (newest: {newest})")
        return versions[chosen]

    def fetch(self, repo_url, name, constraint_text):
        """The archive of the chosen version, its sha256 checked against the index while it streams."""
        entry = self.resolve(repo_url, name, constraint_text)
        expected = str(entry.get("digest") or "").lower()
        urls = entry.get("urls") or []
        if not urls:
            raise ChartError(f"the index of {repo_url} lists {name} {entry.get('version')} with no download URL")
        if not expected:
            raise ChartError(f"the index of {repo_url} gives no digest for {name} {entry.get('version')}, so its archive "
                             "cannot be verified; regenerate the index with `helm repo index`")
        url = urllib.parse.urljoin(repo_url.rstrip("/") + "/", urls[0])
        settings = self.settings_for(repo_url)
        if not _same_origin(url, repo_url) and not settings.pass_credentials:
            settings = RepositorySettings(url, ca_file=settings.ca_file)
        hasher = hashlib.sha256()
        blocks = []
        for block in self._stream(url, settings, repo_url, archive.MAX_CHART_BYTES):
            hasher.update(block)
            blocks.append(block)
        actual = hasher.hexdigest()
        if actual != expected:
            raise ChartError(f"{url}: the archive's sha256 is {actual} but the index of {repo_url} says {expected}; "
                             "the repository served different or corrupted content, nothing was written")
        return Fetched(b"".join(blocks), url, f"sha256:{actual}", str(entry["version"]))

    def _stream(self, url, settings, repo_url, limit):
        """The body of url, at most limit bytes; a cut resumes where it stopped (the caller checks the digest)."""
        auth = (settings.username, settings.password or "") if settings.username else None

        def open_range(headers):
            response = self.transport.request("GET", url, what=url, headers=headers, auth=auth, stream=True, verify=settings.ca_file or True)
            if response.status_code in (401, 403):
                response.close()
                hint = "the credentials were refused" if auth else "it needs credentials (username/password for this repository)"
                raise ChartError(f"{url} answered {response.status_code}: {hint}")
            if response.status_code not in (200, 206):
                response.close()
                raise ChartError(f"{url} answered {response.status_code}; check the repository URL {repo_url}")
            return response

        received = 0
        for block in self.transport.download(open_range, what=url):
            received += len(block)
            if received > limit:
                raise ChartError(f"{url} sent more than {limit} bytes; that is not a chart or index")
            yield block


def _same_origin(url, other):
    first, second = urllib.parse.urlsplit(url), urllib.parse.urlsplit(other)
    return (first.scheme, first.hostname, first.port) == (second.scheme, second.hostname, second.port)
