# Copyright (c) 2026, airlock.airgap contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""A small client for the OCI distribution API (v2), written to the spec.

No maintained Python library copies multi-platform images digest-exactly, so this one
keeps manifests as the raw bytes received, streams blobs, authenticates with Basic or
bearer tokens, and sends through the collection's one HTTP transport (http/transport.py), which
retries 408/429/5xx/connection errors with backoff (honouring Retry-After), the token exchange
and the re-send after a 401 included, and resumes cut-off blob downloads with HTTP Range. Failed
uploads resume at the offset the registry reports, within the same retries. Every retry is
bounded in count and in time.
"""

from __future__ import annotations

import dataclasses
import itertools
import json
import threading
import time
import urllib.parse

from ansible_collections.airlock.airgap.plugins.module_utils import jsontext
from ansible_collections.airlock.airgap.plugins.module_utils.http import transport
from ansible_collections.airlock.airgap.plugins.module_utils.http.transport import RetryPolicy, Unavailable
from ansible_collections.airlock.airgap.plugins.module_utils.integrity import digest as digests
from ansible_collections.airlock.airgap.plugins.module_utils.oci import auth, mediatypes
from ansible_collections.airlock.airgap.plugins.module_utils.oci.errors import AuthenticationError, NotFound, RegistryError
from ansible_collections.airlock.airgap.plugins.module_utils.oci.manifest import Manifest

# Blobs up to this size go up in one PUT; bigger ones in PATCHes of this size.
UPLOAD_CHUNK = 64 * 1024 * 1024
# Image references say docker.io; Docker Hub's registry API answers elsewhere.
API_HOSTS = {"docker.io": "registry-1.docker.io"}
# What a plain-HTTP request to a TLS port is answered with: Go's net/http (distribution, Zot), nginx (Harbor, Quay).
HTTPS_ONLY_ANSWERS = ("Client sent an HTTP request to an HTTPS server", "The plain HTTP request was sent to HTTPS port")
TLS_ADVICE = "give the registry's CA certificate (ca_file), or mark the registry insecure only if it serves plain HTTP"


class RegistryClient:
    """One registry host: requests over one session, tokens cached per scope."""

    def __init__(self, registry, credentials=None, insecure=False, ca_file=None,
                 timeout=300, retry=RetryPolicy(), sleep=time.sleep, upload_chunk=UPLOAD_CHUNK):
        self.registry = registry
        self.credentials = credentials
        self.base_url = f"{'http' if insecure else 'https'}://{API_HOSTS.get(registry, registry)}"
        self.transport = transport.Transport(registry, retry, timeout, verify=ca_file or True, sleep=sleep,
                                             tls_advice=TLS_ADVICE, explain=_error_body)
        self.upload_chunk = upload_chunk
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
        media_type = mediatypes.media_type_of(jsontext.parse(raw, f"manifest {what}"), response.headers.get("Content-Type"))
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

        A registry without the API answers 404; then the referrers tag schema (an index tagged
        sha256-<hex>, as cosign, oras and notation keep it there) lists them, and without that tag there are none.
        """
        response = self._request("GET", f"/v2/{repository}/referrers/{digest}", _scope(repository, "pull"),
                                 headers={"Accept": mediatypes.OCI_INDEX}, allow_missing=True,
                                 what=f"referrers of {self.registry}/{repository}@{digest}")
        if response is None:
            return self._referrers_tag_index(repository, digest).get("manifests", [])
        try:
            return response.json().get("manifests", [])
        except ValueError:
            return []
        finally:
            response.close()

    def add_referrer_to_tag_schema(self, repository, subject, descriptor):
        """On a registry without the referrers API, list descriptor in the sha256-<hex> index of subject (OCI 1.1 fallback),
        so clients find the artifact either way; True when the index changed."""
        probe = self._request("GET", f"/v2/{repository}/referrers/{subject}", _scope(repository, "pull"),
                              headers={"Accept": mediatypes.OCI_INDEX}, allow_missing=True,
                              what=f"referrers of {self.registry}/{repository}@{subject}")
        if probe is not None:
            probe.close()
            return False  # the registry lists referrers by their subject field itself
        index = self._referrers_tag_index(repository, subject)
        if any(entry.get("digest") == descriptor["digest"] for entry in index["manifests"]):
            return False
        index["manifests"].append(descriptor)
        raw = json.dumps(index, separators=(",", ":")).encode()
        self.put_manifest(repository, _referrers_tag(subject), Manifest(raw, mediatypes.OCI_INDEX, digests.of_bytes(raw)))
        return True

    def _referrers_tag_index(self, repository, subject):
        """The referrers tag schema's index for subject, or an empty one."""
        tag = _referrers_tag(subject)
        if self.manifest_digest(repository, tag) is None:
            return {"schemaVersion": 2, "mediaType": mediatypes.OCI_INDEX, "manifests": []}
        index = self.get_manifest(repository, tag)
        parsed = index.parsed() if mediatypes.is_index(index.media_type) else {}
        manifests = parsed.get("manifests") if isinstance(parsed.get("manifests"), list) else []
        return {"schemaVersion": 2, "mediaType": mediatypes.OCI_INDEX, "manifests": [m for m in manifests if isinstance(m, dict)]}

    # --- blobs -------------------------------------------------------------------------

    def blob_size(self, repository, digest):
        """HEAD: the blob's size when the repository has it, else None."""
        response = self._request("HEAD", f"/v2/{repository}/blobs/{digest}", _scope(repository, "pull"),
                                 allow_missing=True, what=f"blob {digest} in {self.registry}/{repository}")
        return None if response is None else int(response.headers.get("Content-Length", -1))

    @property
    def requests_sent(self):
        """Requests sent to the registry and its token service, retries included."""
        return self.transport.requests_sent

    def blob_chunks(self, repository, digest, size=None):
        """Yield the blob's bytes; a connection cut midway resumes with Range where it stopped (the caller verifies the digest)."""
        what = f"blob {digest} in {self.registry}/{repository}"

        def open_range(headers):
            return self._request("GET", f"/v2/{repository}/blobs/{digest}", _scope(repository, "pull"), headers=headers, stream=True, what=what)

        return self.transport.download(open_range, what=what, size=size)

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
        chunks raise midway on a mismatch, so nothing wrong is ever committed. A failed request
        is resumed (see _send_piece), which keeps the bytes of the piece in flight in memory:
        at most upload_chunk per blob being uploaded.
        """
        session = self._open_upload(repository, digest)
        if size is not None and size <= self.upload_chunk:
            self._send_piece(session, "PUT", _Replayable(chunks, size))
            return size
        for length, piece in _pieces(chunks, self.upload_chunk, size):
            self._send_piece(session, "PATCH", _Replayable(piece, length))
        self._send_piece(session, "PUT", _Replayable((), 0))
        return size

    def _open_upload(self, repository, digest):
        session = _UploadSession(f"/v2/{repository}/blobs/uploads/", _scope(repository, "pull,push"),
                                 f"upload of {digest} to {self.registry}/{repository}", digest)
        self._open_session(session)
        return session

    def _open_session(self, session, retry=True):
        opened = self._request("POST", session.open_path, session.scope, what=session.what, retry=retry)
        opened.close()
        session.location, session.received = self._absolute(opened.headers["Location"]), 0

    def _send_piece(self, session, method, piece):
        """PATCH a piece, or PUT the last one (possibly empty) with the digest, until the registry holds it.

        A failed attempt is sent again from where the registry's copy ends (OCI distribution spec: a GET
        on the session answers 204 with Range: 0-<last byte>), so a storm neither restarts the blob
        nor sends the registry bytes it holds.
        """
        start = session.received
        retries = transport.Retries(self.transport)  # one budget for the piece: its sends and the questions where to resume
        failed = False
        while True:
            try:
                if failed:
                    self._resume(session, start, piece)
                self._send_rest_of_piece(session, method, piece, start)
                return
            except Unavailable as failure:
                retries.after(failure)
                failed = True

    def _send_rest_of_piece(self, session, method, piece, start):
        skip = session.received - start
        if method == "PATCH" and skip == piece.length:
            return  # the registry took the whole piece; only its answer was lost
        headers = {"Content-Type": "application/octet-stream", "Content-Length": str(piece.length - skip)}
        url = session.location
        if method == "PATCH":
            headers["Content-Range"] = f"{session.received}-{start + piece.length - 1}"
        else:
            url = f"{url}{'&' if '?' in url else '?'}digest={urllib.parse.quote(session.digest)}"
        response = self._request(method, url, session.scope, headers=headers, body=lambda: piece.stream(skip), what=session.what,
                                 allow_missing=True, retry=False)
        if response is None:
            raise Unavailable(f"{self.registry} lost the upload session for {session.what}", status=404)
        session.location = self._absolute(response.headers.get("Location", session.location))
        response.close()
        session.received = start + piece.length

    def _resume(self, session, start, piece):
        """Continue at the end of the registry's copy, at the location it answers with.

        distribution drops a session once a request changed it without our learning its new
        location (a request cut midway): a piece that begins the blob then starts a new one.
        """
        response = self._request("GET", session.location, session.scope, what=session.what, allow_missing=True, retry=False)
        if response is None and start == 0:
            self._open_session(session, retry=False)
            return
        if response is None:
            raise RegistryError(f"{self.registry} dropped the upload session for {session.what} after a failed request, "
                                "so it cannot resume; run the copy again (blobs already copied are skipped)")
        response.close()
        session.location = self._absolute(response.headers.get("Location", session.location))
        session.received = _upload_length(response.headers.get("Range"))
        if not start <= session.received <= start + piece.length:
            raise RegistryError(f"{session.what}: the registry holds {session.received} bytes, outside the piece being sent "
                                f"({start}-{start + piece.length}); run the copy again")

    # --- transport ---------------------------------------------------------------------

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
        """Send through the transport (retried by its RetryPolicy unless retry is False), then judge the answer.

        A 401 exchanges the challenge for a token (or switches to Basic) and sends once more, inside the
        same attempt: a failure of either is retried with the request, never on a budget of its own.
        """
        if scope is not None:
            self._learn_challenge()
        authenticate = None if allow_unauthorized else lambda challenged: self._authenticate(challenged, scope, what)
        response = self.transport.request(method, self._absolute(path), what=what, retry=retry, headers=headers, body=body,
                                          stream=stream, sign=lambda: self._credentials_for(scope), authenticate=authenticate)
        return self._judge(response, what, allow_missing, allow_unauthorized)

    def _credentials_for(self, scope):
        """(headers, auth) of the next send: the scope's bearer token once one was issued, Basic once the registry asked for it."""
        token = self._tokens.get(scope)
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        return headers, (self.credentials.username, self.credentials.secret) if self._basic and self.credentials else None

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
        self._tokens[scope] = self._exchange_token(params, scope, what)

    def _exchange_token(self, challenge, scope, what):
        """The bearer token the challenge's realm issues for scope. One attempt: a failure is retried with the request it is for."""
        query = {"service": challenge.get("service", self.registry)}
        if scope:
            query["scope"] = scope.split(" ")
        realm, options = challenge["realm"], {"retry": False, "what": f"a token for {what}"}
        if self.credentials and self.credentials.is_identity_token:
            answer = self.transport.request("POST", realm, body=dict(query, grant_type="refresh_token", refresh_token=self.credentials.secret,
                                                                     client_id="airlock.airgap"), **options)
        else:
            auth_pair = (self.credentials.username, self.credentials.secret) if self.credentials else None
            answer = self.transport.request("GET", realm, params=query, auth=auth_pair, **options)
        with answer:
            if answer.status_code in (401, 403):
                raise AuthenticationError(f"{self.registry} refused the credentials for {what} (token service answered "
                                          f"{answer.status_code}); check the username and password", status=answer.status_code)
            if answer.status_code != 200:
                raise RegistryError(f"token service {realm} answered {answer.status_code} for {what}", status=answer.status_code)
            body = jsontext.parse(answer.content, f"the answer of token service {realm}")
        token = body.get("token") or body.get("access_token") if isinstance(body, dict) else None
        if not isinstance(token, str) or not token:
            raise AuthenticationError(f"token service {realm} answered {what} without a token")
        return token

    def _judge(self, response, what, allow_missing, allow_unauthorized):
        status = response.status_code
        if status < 300 or (status == 401 and allow_unauthorized):
            return response
        if status == 404 and allow_missing:
            response.close()
            return None
        code, detail = _error_body(response)
        response.close()
        if status == 400 and self.base_url.startswith("http://") and any(answer in detail for answer in HTTPS_ONLY_ANSWERS):
            raise RegistryError(f"{self.registry} speaks HTTPS, not plain HTTP, for {what}: drop insecure and give ca_file "
                                "(its CA certificate) unless a system-trusted CA signed its certificate", status=status)
        if status == 401:
            raise AuthenticationError(f"{self.registry} refused the credentials for {what}; check the username and "
                                      "password or the docker config", status=status, code=code)
        if status == 404 or code in ("MANIFEST_UNKNOWN", "NAME_UNKNOWN", "BLOB_UNKNOWN"):
            raise NotFound(f"{what} not found ({code or status}): check the repository name and the tag or digest",
                           status=status, code=code)
        if status == 403:
            raise AuthenticationError(f"{self.registry} denied {what} ({code or status}): the account lacks access",
                                      status=status, code=code)
        raise RegistryError(f"{self.registry} answered {transport.answer_text(status, code, detail)} for {what}", status=status, code=code)

    def _cancel_upload(self, response, scope):
        location = response.headers.get("Location")
        if response.status_code == 202 and location:
            try:
                self._request("DELETE", self._absolute(location), scope, what="upload cancel", allow_missing=True,
                              retry=False).close()
            except transport.HttpError:
                pass  # an abandoned upload session expires on the registry by itself

    def _absolute(self, path):
        return path if path.startswith(("http://", "https://")) else f"{self.base_url}{path}"


@dataclasses.dataclass
class _UploadSession:
    """Where one blob upload stands: the session's current location and the bytes the registry holds."""

    open_path: str
    scope: str
    what: str
    digest: str
    location: str = ""
    received: int = 0


class _Replayable:
    """A piece of an upload that can be sent again from any offset within it: the bytes read from
    the stream are kept for the life of the piece (at most upload_chunk), the rest is read as sent."""

    def __init__(self, chunks, length):
        self.length = length
        self._unread = iter(chunks)
        self._kept = []

    def stream(self, skip):
        return _SizedStream(self._blocks_after(skip), self.length - skip)

    def _blocks_after(self, skip):
        for block in itertools.chain(list(self._kept), self._read()):
            if skip < len(block):
                yield block[skip:] if skip else block
            skip = max(0, skip - len(block))

    def _read(self):
        for block in self._unread:
            self._kept.append(block)
            yield block


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


def _referrers_tag(subject):
    """sha256:<hex> -> sha256-<hex>, the tag the OCI 1.1 referrers tag schema gives a subject's referrers."""
    return subject.replace(":", "-", 1)


def _next_page(link_header):
    """The rel="next" target of a Link header (`<URL>; rel="next"`), or None."""
    for part in link_header.split(","):
        target, _sep, params = part.partition(";")
        if 'rel="next"' in params.replace(" ", "") and target.strip().startswith("<"):
            return target.strip()[1:-1]
    return None


def _upload_length(range_header):
    """Bytes an upload session holds, from its Range: 0-<last byte>. distribution says 0-0 of an empty session
    too, so 0-0 reads as empty; had it held one byte, the digest check refuses the blob: nothing wrong is committed."""
    _first, _sep, last = (range_header or "").partition("-")
    return int(last) + 1 if last.isdigit() and int(last) > 0 else 0


def _error_body(response):
    try:
        errors = response.json().get("errors") or []
    except ValueError:
        return None, response.text[:200]
    if not errors:
        return None, response.text[:200]
    return errors[0].get("code"), "; ".join(e.get("message", "") for e in errors)
