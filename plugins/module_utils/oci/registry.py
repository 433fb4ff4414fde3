# Copyright (c) 2026, airlock.airgap contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""A small client for the OCI distribution API (v2), written to the spec.

No maintained Python library copies multi-platform images digest-exactly, so this one
keeps manifests as the raw bytes received, streams blobs, authenticates with Basic or
bearer tokens, retries 429/5xx/connection errors with backoff (honouring Retry-After),
and resumes cut-off blob downloads with HTTP Range. Every wait is bounded.
"""

from __future__ import annotations

import dataclasses
import email.utils
import json
import random
import threading
import time
import traceback
import urllib.parse

from ansible_collections.airlock.airgap.plugins.module_utils.integrity import digest as digests
from ansible_collections.airlock.airgap.plugins.module_utils.oci import auth, mediatypes
from ansible_collections.airlock.airgap.plugins.module_utils.oci.errors import AuthenticationError, NotFound, RegistryError

try:
    import requests
    REQUESTS_IMPORT_ERROR = None
except ImportError:
    requests = None
    REQUESTS_IMPORT_ERROR = traceback.format_exc()

# Small enough that a connection cut midway loses little (the bytes of a read cut short are
# discarded by urllib3); large enough that Python's per-chunk cost stays negligible.
CHUNK = 64 * 1024
# Blobs up to this size go up in one PUT; bigger ones in PATCHes of this size.
UPLOAD_CHUNK = 64 * 1024 * 1024
# Image references say docker.io; Docker Hub's registry API answers elsewhere.
API_HOSTS = {"docker.io": "registry-1.docker.io"}
RETRYABLE_STATUS = (429, 500, 502, 503, 504)


@dataclasses.dataclass(frozen=True)
class RetryPolicy:
    """How hard to try: attempts per request, exponential backoff, a cap on any one wait."""

    attempts: int = 5
    backoff: float = 0.5
    max_wait: float = 30.0
    resumes: int = 5

    def wait(self, attempt, retry_after=None):
        if retry_after is not None:
            return min(retry_after, self.max_wait)
        return min(self.backoff * (2 ** attempt) * (1 + random.random() / 4), self.max_wait)


@dataclasses.dataclass(frozen=True)
class Manifest:
    """A manifest exactly as the registry sent it, with its computed digest."""

    raw: bytes
    media_type: str
    digest: str

    def parsed(self):
        return json.loads(self.raw)


class RegistryClient:
    """One registry host: requests over one session, tokens cached per scope."""

    def __init__(self, registry, credentials=None, insecure=False, ca_file=None,
                 timeout=(10, 300), retry=RetryPolicy(), sleep=time.sleep, upload_chunk=UPLOAD_CHUNK):
        if requests is None:
            raise RegistryError("the Python library 'requests' is required to talk to registries")
        self.registry = registry
        self.credentials = credentials
        self.base_url = f"{'http' if insecure else 'https'}://{API_HOSTS.get(registry, registry)}"
        # Passed on every request: requests lets REQUESTS_CA_BUNDLE override a session's verify.
        self.verify = ca_file or True
        self.timeout = timeout
        self.retry = retry
        self.sleep = sleep
        self.upload_chunk = upload_chunk
        self.session = requests.Session()
        self.requests_sent = 0
        self._tokens = {}
        self._basic = False
        self._challenge_known = threading.Event()
        self._challenge_lock = threading.Lock()

    # --- manifests -------------------------------------------------------------------

    def get_manifest(self, repository, reference):
        """The manifest's raw bytes; a digest reference is verified against them."""
        what = f"{self.registry}/{repository}@{reference}" if ":" in reference else f"{self.registry}/{repository}:{reference}"
        response = self._request("GET", f"/v2/{repository}/manifests/{reference}", _scope(repository, "pull"),
                                 headers={"Accept": mediatypes.ACCEPT}, what=what)
        raw = response.content
        computed = digests.of_bytes(raw)
        expected = reference if reference.startswith("sha256:") else response.headers.get("Docker-Content-Digest")
        if expected and expected.startswith("sha256:") and expected != computed:
            raise digests.DigestMismatch(f"manifest {what}", expected, computed)
        media_type = mediatypes.media_type_of(json.loads(raw), response.headers.get("Content-Type"))
        mediatypes.check_supported(media_type, what)
        return Manifest(raw, media_type, computed)

    def manifest_digest(self, repository, reference):
        """HEAD: the digest a tag or digest resolves to, or None when it does not exist."""
        response = self._request("HEAD", f"/v2/{repository}/manifests/{reference}", _scope(repository, "pull"),
                                 headers={"Accept": mediatypes.ACCEPT}, allow_missing=True,
                                 what=f"{self.registry}/{repository}:{reference}")
        if response is None:
            return None
        return response.headers.get("Docker-Content-Digest")

    def put_manifest(self, repository, reference, manifest):
        """PUT the raw bytes unchanged; the registry must echo the same digest back."""
        response = self._request("PUT", f"/v2/{repository}/manifests/{reference}", _scope(repository, "pull,push"),
                                 headers={"Content-Type": manifest.media_type}, body=lambda: manifest.raw,
                                 what=f"{self.registry}/{repository}:{reference}")
        echoed = response.headers.get("Docker-Content-Digest")
        if echoed and echoed != manifest.digest:
            raise digests.DigestMismatch(f"manifest pushed to {self.registry}/{repository}", manifest.digest, echoed)
        return manifest.digest

    def tags(self, repository, page_size=1000, max_pages=100):
        """Every tag of a repository, following the registry's Link pagination, at most max_pages pages."""
        found, path = [], f"/v2/{repository}/tags/list?n={page_size}"
        for _page in range(max_pages):
            response = self._request("GET", path, _scope(repository, "pull"), what=f"tags of {self.registry}/{repository}")
            try:
                found.extend(response.json().get("tags") or [])
            finally:
                response.close()
            path = _next_page(response.headers.get("Link", ""))
            if not path:
                return found
        raise RegistryError(f"{self.registry}/{repository} lists more than {max_pages * page_size} tags; name an exact version")

    def referrers(self, repository, digest):
        """Descriptors of the artifacts whose subject is digest (OCI 1.1 referrers API).

        A registry without the API answers 404: that means none can be listed, not an error.
        """
        response = self._request("GET", f"/v2/{repository}/referrers/{digest}", _scope(repository, "pull"),
                                 headers={"Accept": mediatypes.OCI_INDEX}, allow_missing=True,
                                 what=f"referrers of {self.registry}/{repository}@{digest}")
        if response is None:
            return []
        try:
            return response.json().get("manifests", [])
        except ValueError:
            return []
        finally:
            response.close()

    # --- blobs -------------------------------------------------------------------------

    def blob_size(self, repository, digest):
        """HEAD: the blob's size when the repository has it, else None."""
        response = self._request("HEAD", f"/v2/{repository}/blobs/{digest}", _scope(repository, "pull"),
                                 allow_missing=True, what=f"blob {digest} in {self.registry}/{repository}")
        return None if response is None else int(response.headers.get("Content-Length", -1))

    def blob_chunks(self, repository, digest, size=None):
        """Yield the blob's bytes; a connection cut midway resumes with Range where it stopped."""
        received, resumes = 0, 0
        while True:
            headers = {"Range": f"bytes={received}-"} if received else {}
            response = self._request("GET", f"/v2/{repository}/blobs/{digest}", _scope(repository, "pull"),
                                     headers=headers, stream=True, what=f"blob {digest} in {self.registry}/{repository}")
            if received and response.status_code != 206:
                response.close()
                raise RegistryError(f"{self.registry} cannot resume blob {digest} at byte {received} (no Range support)")
            try:
                for block in response.iter_content(CHUNK):
                    received += len(block)
                    yield block
                if size is None or received >= size:
                    return
            except (requests.ConnectionError, requests.exceptions.ChunkedEncodingError) as error:
                if resumes >= self.retry.resumes:
                    raise RegistryError(f"download of blob {digest} from {self.registry} kept failing at byte "
                                        f"{received}: {error}") from None
            finally:
                response.close()
            resumes += 1
            self.sleep(self.retry.wait(resumes))

    def mount_blob(self, repository, digest, from_repository):
        """Cross-repository mount on the same registry: no bytes move. False when refused."""
        query = urllib.parse.urlencode({"mount": digest, "from": from_repository})
        scope = f"{_scope(repository, 'pull,push')} {_scope(from_repository, 'pull')}"
        response = self._request("POST", f"/v2/{repository}/blobs/uploads/?{query}", scope,
                                 what=f"mount of {digest} into {self.registry}/{repository}")
        if response.status_code == 201:
            return True
        self._cancel_upload(response, scope)
        return False

    def upload_blob(self, repository, digest, chunks, size):
        """Stream chunks as the blob: monolithic (POST, PUT) up to upload_chunk bytes, else
        chunked (POST, PATCH per upload_chunk, PUT), which keeps every request under the body
        limits proxies put in front of registries.

        The registry refuses to commit bytes that do not match the digest, and the caller's
        chunks raise midway on a mismatch, so nothing wrong is ever committed.
        """
        scope = _scope(repository, "pull,push")
        what = f"upload of {digest} to {self.registry}/{repository}"
        opened = self._request("POST", f"/v2/{repository}/blobs/uploads/", scope, what=what)
        location = self._absolute(opened.headers["Location"])
        opened.close()
        final_body = _OneShot(chunks, size)
        if size is None or size > self.upload_chunk:
            location = self._patch_chunks(location, scope, what, chunks, size)
            final_body = b""
        separator = "&" if "?" in location else "?"
        self._request("PUT", f"{location}{separator}digest={urllib.parse.quote(digest)}", scope, what=what, retry=False,
                      body=final_body, headers={"Content-Type": "application/octet-stream"}).close()
        return size

    def _patch_chunks(self, location, scope, what, chunks, size):
        """PATCH the stream in upload_chunk pieces with Content-Range; returns the final location.

        With the size known each piece streams straight through (memory stays flat);
        without it a piece is gathered first.
        """
        offset = 0
        for length, piece in _pieces(chunks, self.upload_chunk, size):
            headers = {"Content-Type": "application/octet-stream", "Content-Length": str(length),
                       "Content-Range": f"{offset}-{offset + length - 1}"}
            response = self._request("PATCH", location, scope, body=_SizedStream(piece, length), headers=headers, what=what, retry=False)
            location = self._absolute(response.headers.get("Location", location))
            response.close()
            offset += length
        return location

    # --- transport ---------------------------------------------------------------------

    def ping(self):
        """GET /v2/: True when reachable; authentication is checked against a real scope later."""
        response = self._request("GET", "/v2/", None, what=f"registry {self.registry}", allow_unauthorized=True)
        return response.status_code in (200, 401)

    def _learn_challenge(self):
        """Ping /v2/ once, before concurrent use: Basic auth is then sent up front, so no
        image pays a 401 round trip (a no-op copy stays at one manifest request per image)."""
        if self._challenge_known.is_set():
            return
        with self._challenge_lock:
            if self._challenge_known.is_set():
                return
            response = self._request("GET", "/v2/", None, what=f"registry {self.registry}", allow_unauthorized=True)
            scheme, _params = auth.parse_challenge(response.headers.get("WWW-Authenticate", ""))
            if response.status_code == 401 and scheme == "basic" and self.credentials:
                self._basic = True
            response.close()
            self._challenge_known.set()

    def _request(self, method, path, scope, *, headers=None, body=None, stream=False, what="",
                 allow_missing=False, allow_unauthorized=False, retry=True):
        if scope is not None:
            self._learn_challenge()
        url = self._absolute(path)
        authenticated = False
        attempts = self.retry.attempts if retry else 1
        for attempt in range(attempts):
            try:
                response = self._send(method, url, scope, headers, body, stream)
            except requests.exceptions.SSLError as error:
                raise RegistryError(
                    f"TLS verification of {self.base_url} failed for {what}: {_root_cause(error)}; give the registry's "
                    "CA certificate (ca_file), or mark the registry insecure only if it serves plain HTTP") from None
            except (requests.ConnectionError, requests.Timeout) as error:
                if attempt + 1 >= attempts:
                    raise RegistryError(f"{self.registry} did not answer for {what} after {attempts} attempts: "
                                        f"{_root_cause(error)}") from None
                self.sleep(self.retry.wait(attempt))
                continue
            if response.status_code == 401 and not authenticated and not allow_unauthorized:
                authenticated = True
                self._authenticate(response, scope, what)
                response.close()
                response = self._send(method, url, scope, headers, body, stream)
            if response.status_code in RETRYABLE_STATUS and attempt + 1 < attempts:
                response.close()
                self.sleep(self.retry.wait(attempt, _retry_after(response)))
                continue
            return self._judge(response, what, allow_missing, allow_unauthorized)
        raise RegistryError(f"{self.registry} kept failing for {what}")  # unreachable: the loop returns or raises

    def _send(self, method, url, scope, headers, body, stream):
        merged = dict(headers or {})
        token = self._tokens.get(scope)
        if token:
            merged["Authorization"] = f"Bearer {token}"
        auth_pair = (self.credentials.username, self.credentials.secret) if self._basic and self.credentials else None
        self.requests_sent += 1
        return self.session.request(method, url, headers=merged, data=body() if callable(body) else body,
                                    stream=stream, timeout=self.timeout, verify=self.verify, auth=auth_pair,
                                    allow_redirects=True)

    def _authenticate(self, response, scope, what):
        scheme, params = auth.parse_challenge(response.headers.get("WWW-Authenticate", ""))
        if scheme == "basic":
            if not self.credentials:
                raise AuthenticationError(f"{self.registry} needs credentials for {what}; give username/password "
                                          "or log in so the docker config holds them", status=401)
            self._basic = True
            return
        if scheme != "bearer" or "realm" not in params:
            raise AuthenticationError(f"{self.registry} asked for unsupported authentication {scheme!r} for {what}")
        query = {"service": params.get("service", self.registry)}
        if scope:
            query["scope"] = scope.split(" ")
        auth_pair = None
        if self.credentials and not self.credentials.is_identity_token:
            auth_pair = (self.credentials.username, self.credentials.secret)
        self.requests_sent += 1
        if self.credentials and self.credentials.is_identity_token:
            answer = self.session.post(params["realm"], data=dict(query, grant_type="refresh_token",
                                       refresh_token=self.credentials.secret, client_id="airlock.airgap"),
                                       timeout=self.timeout, verify=self.verify)
        else:
            answer = self.session.get(params["realm"], params=query, auth=auth_pair, timeout=self.timeout,
                                      verify=self.verify)
        if answer.status_code in (401, 403):
            raise AuthenticationError(f"{self.registry} refused the credentials for {what} (token service answered "
                                      f"{answer.status_code}); check the username and password", status=answer.status_code)
        if answer.status_code != 200:
            raise RegistryError(f"token service {params['realm']} answered {answer.status_code} for {what}",
                                status=answer.status_code)
        body = answer.json()
        self._tokens[scope] = body.get("token") or body.get("access_token")

    def _judge(self, response, what, allow_missing, allow_unauthorized):
        status = response.status_code
        if status < 300 or (status == 401 and allow_unauthorized):
            return response
        if status == 404 and allow_missing:
            response.close()
            return None
        code, detail = _error_body(response)
        response.close()
        if status == 401:
            raise AuthenticationError(f"{self.registry} refused the credentials for {what}; check the username and "
                                      "password or the docker config", status=status, code=code)
        if status == 404 or code in ("MANIFEST_UNKNOWN", "NAME_UNKNOWN", "BLOB_UNKNOWN"):
            raise NotFound(f"{what} not found ({code or status}): check the repository name and the tag or digest",
                           status=status, code=code)
        if status == 403:
            raise AuthenticationError(f"{self.registry} denied {what} ({code or status}): the account lacks access",
                                      status=status, code=code)
        raise RegistryError(f"{self.registry} answered {status} {code or ''} for {what}: {detail}".strip(),
                            status=status, code=code)

    def _cancel_upload(self, response, scope):
        location = response.headers.get("Location")
        if response.status_code == 202 and location:
            try:
                self._request("DELETE", self._absolute(location), scope, what="upload cancel", allow_missing=True,
                              retry=False).close()
            except RegistryError:
                pass  # an abandoned upload session expires on the registry by itself

    def _absolute(self, path):
        return path if path.startswith(("http://", "https://")) else f"{self.base_url}{path}"


class _OneShot:
    """A streaming body that can be sent once; requests streams an iterable chunk by chunk."""

    def __init__(self, chunks, size=None):
        self.chunks = chunks
        self.size = size

    def __call__(self):
        chunks, self.chunks = self.chunks, None
        if chunks is None:
            raise RegistryError("a streamed upload cannot be replayed; the copy is retried from the source")
        return chunks if self.size is None else _SizedStream(chunks, self.size)


class _SizedStream:
    """An iterable body with a known length: sent with Content-Length, not chunked encoding,
    which costs the registry and us less per byte than HTTP chunk framing."""

    def __init__(self, chunks, size):
        self.chunks = chunks
        self.size = size

    def __iter__(self):
        return iter(self.chunks)

    def __len__(self):
        return self.size


def _pieces(chunks, piece_size, total=None):
    """Cut a stream into consecutive pieces of piece_size bytes: (length, iterator of its bytes).

    Each piece must be consumed before the next is asked for, as a PATCH body is. The stream
    is read to its end afterwards, so a verifying stream gets to check its digest.
    """
    stream = _Rest(iter(chunks))
    if total is None:
        while True:
            piece = b"".join(stream.take(piece_size, exact=False))
            if not piece:
                return
            yield len(piece), iter([piece])
    for start in range(0, total, piece_size):
        length = min(piece_size, total - start)
        yield length, stream.take(length)
    if stream.pending or next(stream.iterator, b""):
        raise RegistryError(f"the blob is longer than its declared {total} bytes")


class _Rest:
    """A chunk stream from which exact byte counts are taken, splitting chunks at the boundary."""

    def __init__(self, iterator):
        self.iterator = iterator
        self.pending = b""

    def take(self, count, exact=True):
        while count > 0:
            block = self.pending or next(self.iterator, b"")
            if not block:
                if exact:
                    raise RegistryError(f"the blob ended {count} bytes short of its declared size")
                return
            self.pending = block[count:]
            yield block[:count]
            count -= min(count, len(block))


def _scope(repository, actions):
    return f"repository:{repository}:{actions}"


def _next_page(link_header):
    """The rel="next" target of a Link header (`<URL>; rel="next"`), or None."""
    for part in link_header.split(","):
        target, _sep, params = part.partition(";")
        if 'rel="next"' in params.replace(" ", "") and target.strip().startswith("<"):
            return target.strip()[1:-1]
    return None


def _retry_after(response):
    value = response.headers.get("Retry-After")
    if not value:
        return None
    if value.strip().isdigit():
        return float(value)
    parsed = email.utils.parsedate_to_datetime(value)
    return max(0.0, parsed.timestamp() - time.time()) if parsed else None


def _error_body(response):
    try:
        errors = response.json().get("errors") or []
    except ValueError:
        return None, response.text[:200]
    if not errors:
        return None, response.text[:200]
    return errors[0].get("code"), "; ".join(e.get("message", "") for e in errors)


def _root_cause(error):
    """The innermost reason requests wraps around a failure (TLS, refused connection, timeout)."""
    while getattr(error, "__context__", None) is not None:
        error = error.__context__
    return str(error)
