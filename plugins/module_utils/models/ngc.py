# Copyright (c) 2026, airlock.airgap contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Stage ngc://org[/team]/model:version from the NGC model registry API as a generic tree.

The version must be UPLOAD_COMPLETE; the file list (paginated) gives each file's size and
sha256_base64, which the official tools do not check and we do, while each file lands
through a temporary name. Files are laid out where the fine-tuning service looks for them:
{org}/{team}/{model}/{version}/{model}_v{version}/<path>.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import functools
import os
import re
import traceback

from ansible_collections.airlock.airgap.plugins.module_utils.models import snapshot as snapshots
from ansible_collections.airlock.airgap.plugins.module_utils.models import trees
from ansible_collections.airlock.airgap.plugins.module_utils.models.errors import ModelError

try:
    import requests
    REQUESTS_IMPORT_ERROR = None
except ImportError:
    requests = None
    REQUESTS_IMPORT_ERROR = traceback.format_exc()

DEFAULT_API = "https://api.ngc.nvidia.com"
DEFAULT_AUTH = "https://authn.nvidia.com"
PAGE_SIZE = 1000
MAX_PAGES = 1000
TIMEOUT = (10, 300)
QUERY = re.compile(r"\?[^\s'\")]*")


class NgcClient:
    """The few NGC registry calls a model download needs, authenticated with an API key."""

    def __init__(self, api_key=None, endpoint=None, auth_endpoint=None):
        self.base = (endpoint or DEFAULT_API).rstrip("/")
        self.auth_base = (auth_endpoint or DEFAULT_AUTH).rstrip("/")
        self.session = requests.Session()
        self.api_key = api_key
        if api_key:
            self.session.headers["Authorization"] = f"Bearer {self._token(api_key)}"

    def _token(self, api_key):
        """nvapi- keys are bearer tokens themselves; legacy keys are exchanged for one."""
        if api_key.startswith("nvapi-"):
            return api_key
        with reached(f"NGC at {self.auth_base}"):
            response = requests.get(f"{self.auth_base}/token", params={"service": "ngc"}, auth=("$oauthtoken", api_key), timeout=TIMEOUT)
        if response.status_code != 200:
            raise ModelError(f"NGC at {self.auth_base} refused the API key (HTTP {response.status_code}): check ngc_api_key")
        try:
            token = response.json()["token"]
        except (ValueError, KeyError, TypeError):
            token = None
        if not isinstance(token, str) or not token:
            raise ModelError(f"NGC at {self.auth_base} answered the key exchange without a token: check ngc_auth_endpoint")
        return token

    def get_json(self, path, what, params=None):
        with reached(f"NGC for {what}"):
            response = self.session.get(self.base + path, params=params, timeout=TIMEOUT)
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
        """Stream one file: NGC answers with a presigned URL (a redirect, or JSON naming it) or the bytes."""
        with reached(f"NGC for the download of {what}"):
            response = self.session.get(self.base + path, params=params, timeout=TIMEOUT, allow_redirects=False, stream=True)
            with response:
                url = response.headers.get("Location") if response.is_redirect else None
                if response.status_code == 200 and "json" in response.headers.get("Content-Type", ""):
                    try:
                        url = (response.json().get("urls") or [None])[0]
                    except (ValueError, AttributeError, TypeError, IndexError) as error:
                        raise ModelError(f"NGC answered the download of {what} with JSON that names no URL; nothing was staged") from error
                if url is None:
                    self._stream(response, handle, what)
                    return
        # a presigned URL: no Authorization header, and its query string (the signature) never in a message
        with reached(f"the presigned URL for {what} ({redacted(url)})"), requests.get(url, timeout=TIMEOUT, stream=True) as presigned:
            self._stream(presigned, handle, what)

    @staticmethod
    def _stream(response, handle, what):
        if response.status_code != 200:
            raise ModelError(f"NGC answered HTTP {response.status_code} for the download of {what}; nothing was staged under its name")
        for block in response.iter_content(1024 * 1024):
            handle.write(block)


def redacted(text):
    """The text with every URL's query string (a presigned URL's signature, a token) left out."""
    return QUERY.sub("?<redacted>", str(text))


@contextlib.contextmanager
def reached(where):
    """A connection error, timeout or broken stream as one clear error, without any query string."""
    try:
        yield
    except requests.RequestException as error:
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
