"""The one HTTP transport against loopback servers that misbehave: it retries what another attempt may cure, as many
times as the policy says and no more, retries the token exchange with the request after a 401, and resumes a download
cut midway with Range; the digest checked over the whole shows a resumed download is the file."""

import hashlib
import json
import os

import pytest

from loopback_http import LoopbackHTTPServer
from range_http import RangeFileServer

from ansible_collections.airlock.airgap.plugins.module_utils.http import transport
from ansible_collections.airlock.airgap.plugins.module_utils.oci.registry import RegistryClient

DIGEST = "sha256:" + "a" * 64
TOKEN = "loopback-token"


class FlakyServer(LoopbackHTTPServer):
    """Answers `failures` requests of each path with `status` (a Retry-After of 0 with 429), then serves.

    /v2/... needs the bearer token of /token (a registry behind a token service); everything else answers b"ok".
    """

    METHODS = ("GET", "HEAD")

    def __init__(self, failures, status=503):
        super().__init__()
        self.failures = dict(failures)
        self.status = status
        self.log = []

    def answer(self, request):
        path = request.path.split("?")[0]
        self.log.append((request.command, path))
        if self.failures.get(path, 0) > 0:
            self.failures[path] -= 1
            self.reply(request, self.status, b"", {"Retry-After": "0"} if self.status == 429 else {})
        elif path == "/token":
            self.reply(request, 200, json.dumps({"token": TOKEN}).encode())
        elif path.startswith("/v2/") and request.headers.get("Authorization") != f"Bearer {TOKEN}":
            self.reply(request, 401, b"{}", {"WWW-Authenticate": f'Bearer realm="http://127.0.0.1:{self.port}/token",service="flaky"'})
        else:
            self.reply(request, 200, b"ok", {"Docker-Content-Digest": DIGEST})

    @staticmethod
    def reply(request, status, body, headers=None):
        request.send_response(status)
        for name, value in (headers or {}).items():
            request.send_header(name, value)
        request.send_header("Content-Length", str(len(body)))
        request.end_headers()
        if request.command != "HEAD":
            request.wfile.write(body)


def quick(attempts=3):
    """A transport whose waits are skipped: what is counted is attempts, never seconds."""
    return {"retry": transport.RetryPolicy(attempts=attempts), "sleep": lambda seconds: None}


@pytest.mark.parametrize("status", [408, 429, 500, 502, 503, 504])
def test_a_server_failing_twice_is_answered_on_the_third_attempt(status):
    with FlakyServer({"/file": 2}, status) as server:
        sender = transport.Transport("flaky", **quick())
        response = sender.request("GET", f"http://127.0.0.1:{server.port}/file", what="the file")
        assert response.status_code == 200 and response.content == b"ok"
        assert server.log == [("GET", "/file")] * 3 and sender.requests_sent == 3


def test_a_server_that_keeps_failing_is_asked_a_bounded_number_of_times_and_the_error_says_so():
    with FlakyServer({"/file": 10**6}, 500) as server:
        sender = transport.Transport("flaky", **quick())
        with pytest.raises(transport.Unavailable) as raised:
            sender.request("GET", f"http://127.0.0.1:{server.port}/file", what="the file")
    assert len(server.log) == 3, "an outage (nothing else answered meanwhile) ends after `attempts` attempts"
    assert "flaky answered 500 for the file; 3 attempts over" in str(raised.value)


def test_a_refused_connection_is_an_outage_bounded_by_the_attempts():
    sender = transport.Transport("nobody", **quick(attempts=2))
    with pytest.raises(transport.Unavailable, match="nobody did not answer for the file.*2 attempts over"):
        sender.request("GET", "http://127.0.0.1:9/file", what="the file")
    assert sender.requests_sent == 2


def test_the_token_exchange_after_a_401_is_retried_with_the_request():
    with FlakyServer({"/token": 2}) as server:
        client = RegistryClient(f"127.0.0.1:{server.port}", insecure=True, **quick())
        assert client.manifest_digest("team/app", "v1") == DIGEST
    calls = [entry for entry in server.log if entry[1] != "/v2/"]
    manifest = ("HEAD", "/v2/team/app/manifests/v1")
    assert calls == [manifest, ("GET", "/token"), manifest, ("GET", "/token"), manifest, ("GET", "/token"), manifest], \
        "each failed exchange is one failed attempt of the request: asked again, challenged again, exchanged again"


def test_a_download_cut_midway_resumes_with_range_and_the_whole_verifies():
    payload = os.urandom(3 * 1024 * 1024 + 5)
    with RangeFileServer({"blob": payload}, cut_responses=2, cut_at=1024 * 1024) as server:
        sender = transport.Transport("range", **quick())

        def open_range(headers):
            return sender.request("GET", server.url("blob"), what="blob", headers=headers, stream=True)

        received = b"".join(sender.download(open_range, what="blob", size=len(payload)))
    assert server.ranges == [None, "bytes=1048576-", "bytes=2097152-"]
    assert hashlib.sha256(received).hexdigest() == hashlib.sha256(payload).hexdigest()


def test_a_download_that_keeps_being_cut_stops_after_the_resumes_the_policy_allows():
    with RangeFileServer({"blob": os.urandom(1024 * 1024)}, cut_responses=10**6, cut_at=65536) as server:
        sender = transport.Transport("range", **quick(attempts=2))

        def open_range(headers):
            return sender.request("GET", server.url("blob"), what="blob", headers=headers, stream=True)

        with pytest.raises(transport.Unavailable, match="kept failing at byte .* after 2 resumes"):
            b"".join(sender.download(open_range, what="blob"))
    assert len(server.ranges) == 3


def test_a_server_that_ignores_range_restarts_the_file_when_it_can_and_fails_clearly_when_it_cannot():
    payload = os.urandom(512 * 1024)

    class NoRange(RangeFileServer):
        def answer(self, request):
            del request.headers["Range"]
            super().answer(request)

    with NoRange({"blob": payload}, cut_responses=1, cut_at=200 * 1024) as server:
        sender = transport.Transport("norange", **quick())
        kept = []

        def open_range(headers):
            return sender.request("GET", server.url("blob"), what="blob", headers=headers, stream=True)

        for block in sender.download(open_range, what="blob", restart=kept.clear):
            kept.append(block)
        assert b"".join(kept) == payload
        server.cut_responses = 1
        with pytest.raises(transport.HttpError, match="cannot resume blob at byte .* no Range support"):
            b"".join(sender.download(open_range, what="blob"))
