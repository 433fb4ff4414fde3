# Copyright (c) 2026, airlock.airgap contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Stage ngc://org[/team]/model:version from the NGC model registry API as a generic tree.

The version must be UPLOAD_COMPLETE; the file list (paginated) gives each file's size and
sha256_base64, which the official tools do not check and we do, while each file lands
through a temporary name. Requests go through the collection's HTTP transport: retried (the key
exchange too), and a download cut midway resumes with Range at the presigned URL; the sha256
check before the file gets its name covers every byte, resumed or not. Files are laid out where the fine-tuning service looks for them:
{org}/{team}/{model}/{version}/{model}_v{version}/<path>.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import functools
import os
import re

from ansible_collections.airlock.airgap.plugins.module_utils.http import transport
from ansible_collections.airlock.airgap.plugins.module_utils.models import snapshot as snapshots
from ansible_collections.airlock.airgap.plugins.module_utils.models import trees
from ansible_collections.airlock.airgap.plugins.module_utils.models.errors import ModelError

DEFAULT_API = "https://api.ngc.nvidia.com"
DEFAULT_AUTH = "https://authn.nvidia.com"
PAGE_SIZE = 1000
MAX_PAGES = 1000
QUERY = re.compile(r"\?[^\s'\")]*")


class NgcClient:
    """The few NGC registry calls a model download needs, authenticated with an API key."""

    def __init__(self, api_key=None, endpoint=None, auth_endpoint=None, retry=transport.RetryPolicy(), timeout=300):
        self.base = (endpoint or DEFAULT_API).rstrip("/")
        self.auth_base = (auth_endpoint or DEFAULT_AUTH).rstrip("/")
        self.transport = transport.Transport("NGC", retry, timeout)
        self.api_key = api_key
        self.token = self._token(api_key) if api_key else None

    def _token(self, api_key):
        """nvapi- keys are bearer tokens themselves; legacy keys are exchanged for one."""
        if api_key.startswith("nvapi-"):
            return api_key
        with reached(f"NGC at {self.auth_base}"):
            response = self.transport.request("GET", f"{self.auth_base}/token", params={"service": "ngc"}, auth=("$oauthtoken", api_key),
                                              what="the API key exchange")
        with response:
            if response.status_code != 200:
                raise ModelError(f"NGC at {self.auth_base} refused the API key (HTTP {response.status_code}): check ngc_api_key")
            try:
                token = response.json()["token"]
            except (ValueError, KeyError, TypeError):
                token = None
        if not isinstance(token, str) or not token:
            raise ModelError(f"NGC at {self.auth_base} answered the key exchange without a token: check ngc_auth_endpoint")
        return token

    def _authorization(self):
        """(headers, auth) of the next API request: the bearer token, when there is a key."""
        return ({"Authorization": f"Bearer {self.token}"} if self.token else {}), None

    def _renew(self, _challenged):
        """A 401 to a legacy key's token: it expired during a long download, so exchange the key again."""
        self.token = self._token(self.api_key)

    def _api(self, path, what, **options):
        """A GET of the API; a 401 renews a legacy key's token and asks again (an nvapi- key is final)."""
        renew = self._renew if self.api_key and self.token != self.api_key else None
        with reached(f"NGC for {what}"):
            return self.transport.request("GET", self.base + path, what=what, sign=self._authorization, authenticate=renew, **options)

    def get_json(self, path, what, params=None):
        with self._api(path, what, params=params) as response:
            if response.status_code in (401, 403):
                raise ModelError(f"NGC refused access to {what} (HTTP {response.status_code}): check ngc_api_key and its org/team rights")
            if response.status_code == 404:
                raise ModelError(f"NGC has no {what} (HTTP 404): check org, team, model name and version")
            if response.status_code != 200:
                raise ModelError(f"NGC answered HTTP {response.status_code} for {what}: {redacted(response.text[:200])}")
            try:
                found = response.json()
            except ValueError:
                found = None
        if not isinstance(found, dict):
            raise ModelError(f"NGC answered {what} with something that is not a JSON object: check ngc_endpoint")
        return found

    def download(self, path, params, handle, what=""):
        """Stream one file into handle: NGC answers with a presigned URL (a redirect, or JSON naming it) or the bytes.

        A cut resumes with Range (at the presigned URL when there is one); a server that cannot resume
        starts the file over. The caller verifies the sha256 before the file gets its name.
        """
        presigned = []

        def open_range(headers):
            if presigned:  # no Authorization header, and its query string (the signature) never in a message
                with reached(f"the presigned URL for {what} ({redacted(presigned[0])})"):
                    return _judged(self.transport.request("GET", presigned[0], what=what, headers=headers, stream=True), what)
            response = self._api(path, f"the download of {what}", params=params, headers=headers, allow_redirects=False, stream=True)
            url = _presigned_url(response, what)
            if url is None:
                return _judged(response, what)
            response.close()
            presigned.append(url)
            return open_range(headers)

        def restart():
            handle.seek(0)
            handle.truncate()

        with reached(f"NGC for the download of {what}"):
            for block in self.transport.download(open_range, what=what, restart=restart):
                handle.write(block)


def _presigned_url(response, what):
    """Where NGC sends the download: a redirect's Location, the first URL of a JSON answer, or None when it sends the bytes."""
    if response.is_redirect:
        return response.headers.get("Location")
    if response.status_code == 200 and "json" in response.headers.get("Content-Type", ""):
        try:
            return (response.json().get("urls") or [None])[0]
        except (ValueError, AttributeError, TypeError, IndexError) as error:
            response.close()
            raise ModelError(f"NGC answered the download of {what} with JSON that names no URL; nothing was staged") from error
    return None


def _judged(response, what):
    if response.status_code not in (200, 206):
        response.close()
        raise ModelError(f"NGC answered HTTP {response.status_code} for the download of {what}; nothing was staged under its name")
    return response


def redacted(text):
    """The text with every URL's query string (a presigned URL's signature, a token) left out."""
    return QUERY.sub("?<redacted>", str(text))


@contextlib.contextmanager
def reached(where):
    """A connection error, timeout or broken stream as one clear error, without any query string."""
    try:
        yield
    except transport.HttpError as error:
        raise ModelError(f"could not reach {where}: {redacted(error)}") from error


def model_path(source):
    team = f"/team/{source.team}" if source.team else ""
    return f"/v2/org/{source.org}{team}/models/{source.model}"


def listing(client, source):
    """The version's files as entries under {model}_v{version}/, after checking the upload is complete."""
    base = model_path(source)
    version = client.get_json(f"{base}/versions/{source.version}", f"{source}")
    status = (version.get("modelVersion") or {}).get("status")
    if status != "UPLOAD_COMPLETE":
        raise ModelError(f"{source}: NGC reports the version as {status!r}, not UPLOAD_COMPLETE; wait for the upload or pick another version")
    entries = []
    for page in range(MAX_PAGES):
        found = client.get_json(f"{base}/versions/{source.version}/files", f"{source} file list",
                                params={"page-size": PAGE_SIZE, "page-number": page})
        entries.extend(_entry(source, item) for item in found.get("modelFiles", []))
        pages = (found.get("paginationInfo") or {}).get("totalPages", 1)
        if page + 1 >= pages:
            return entries
    raise ModelError(f"{source}: the file list has more than {MAX_PAGES} pages; refusing to list further")


def _entry(source, item):
    folder = f"{source.model}_v{source.version}"
    try:
        sha256 = base64.b64decode(item["sha256_base64"], validate=True).hex()
        path = snapshots.check_relative(item["path"].lstrip("/"), str(source))
        size = int(item["sizeInBytes"])
    except (KeyError, ValueError, binascii.Error) as error:
        raise ModelError(f"{source}: NGC listed a file without a usable path, sizeInBytes or sha256_base64 ({error}); cannot verify it") from error
    if not snapshots.SHA256_HEX.match(sha256):
        raise ModelError(f"{source}: NGC lists {path} with a sha256_base64 that is not a sha256")
    return snapshots.FileEntry(f"{folder}/{path}", size, sha256, sha256)


def stage(client, source, tree_root, check_mode=False):
    """(snapshot, bytes moved, bytes skipped, changed): the version's files verified into the tree root."""
    entries = listing(client, source)
    snapshot = trees.TreeSnapshot(source.tree_name, "", entries, source=str(source))
    snapshot.commit = snapshot.listing_digest()
    download_path = f"/v2/org/{source.org}" + (f"/team/{source.team}" if source.team else "") + f"/models/{source.model}/{source.version}/files"
    moved = skipped = 0
    for entry in entries:
        final = os.path.join(trees.tree_folder(tree_root, snapshot.name), *entry.path.split("/"))
        if snapshots.holds_file(final, entry):
            skipped += entry.size
            continue
        moved += entry.size
        if not check_mode:
            inner = entry.path.split("/", 1)[1]
            fetch = functools.partial(client.download, download_path, {"path": inner}, what=f"{source} {inner}")
            trees.place_file(tree_root, snapshot, entry, fetch)
    recorded = trees.save_record(tree_root, snapshot, check_mode)
    return snapshot, moved, skipped, bool(moved) or recorded
