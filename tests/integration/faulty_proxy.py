"""A loopback HTTP proxy in front of a real registry that misbehaves on purpose.

Rules say which requests fail and how: an error status a number of times (with or
without Retry-After), a request body cut off after some bytes, a response cut off after
some bytes, or a share of all requests failing at random (a storm). Everything else is
forwarded unchanged, so the registry behind it stays the real thing.
"""

import base64
import dataclasses
import http.client
import json
import random
import re
import socket
import threading
import time
import urllib.parse

from loopback_http import LoopbackHTTPServer


@dataclasses.dataclass
class Fault:
    method: str
    path_pattern: str
    times: int
    status: int = 500
    retry_after: str = None
    cut_after_bytes: int = None
    forward_body_bytes: int = None  # the registry gets this much of the request body, then the connection breaks
    delay_seconds: float = 0
    let_through: int = 0  # matching requests forwarded before the fault starts
    hits: int = 0
    matched: int = 0

    def applies(self, method, path):
        if method != self.method or not re.search(self.path_pattern, path):
            return False
        self.matched += 1
        return self.let_through < self.matched and self.hits < self.times


@dataclasses.dataclass
class Storm:
    """A share of every request answered with an error status picked at random, as an overloaded
    registry behind a load balancer answers. Seeded: every run draws the same faults, though which
    request gets which depends on the timing of concurrent requests."""

    fraction: float
    statuses: tuple = (500, 429, 503)
    seed: int = 0
    hits: int = 0

    def __post_init__(self):
        self._random = random.Random(self.seed)
        self._lock = threading.Lock()

    def strike(self):
        """The Fault this request gets, or None when it goes through."""
        with self._lock:
            if self._random.random() >= self.fraction:
                return None
            self.hits += 1
            return Fault("", "", times=1, status=self._random.choice(self.statuses))


class FaultyProxy(LoopbackHTTPServer):
    """bearer=(user, password) makes it demand bearer tokens from its own /token service,
    as Docker Hub, GHCR and Harbor do, before forwarding."""

    TOKEN = "testbed-bearer-token"
    METHODS = ("GET", "HEAD", "PUT", "POST", "PATCH", "DELETE")

    def __init__(self, upstream_host, upstream_port, bearer=None):
        self.upstream = (upstream_host, upstream_port)
        self.bearer = bearer
        self.token_requests = []
        self.referrers = {}  # subject digest -> descriptors, answered on /v2/<repo>/referrers/<digest>
        self.faults = []
        self.storm = None  # a Storm, checked before the faults
        self.log = []
        self.bodies = []  # (method, path, Content-Range, body length) of every request with a body
        super().__init__()

    @property
    def address(self):
        return f"127.0.0.1:{self.port}"

    def answer(self, request):
        self.log.append((request.command, request.path, request.headers.get("Range")))
        if self.bearer and self._answer_auth(request):
            return
        if "/referrers/" in request.path and self.referrers:
            subject = request.path.rsplit("/", 1)[1]
            index = {"schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json", "manifests": self.referrers.get(subject, [])}
            self._reply(request, 200, json.dumps(index).encode())
            return
        fault = (self.storm and self.storm.strike()) or next((f for f in self.faults if f.applies(request.command, request.path)), None)
        body = self._read_body(request)
        if body is not None:
            self.bodies.append((request.command, request.path, request.headers.get("Content-Range"), len(body)))
        if fault and fault.delay_seconds:
            fault.hits += 1
            time.sleep(fault.delay_seconds)
            fault = None
        if fault and fault.cut_after_bytes is None:
            fault.hits += 1
            if fault.forward_body_bytes is not None:
                self._forward_cut(request, body or b"", fault.forward_body_bytes)
            request.send_response(fault.status)
            if fault.retry_after is not None:
                request.send_header("Retry-After", fault.retry_after)
            request.send_header("Content-Length", "0")
            request.end_headers()
            return
        status, headers, payload = self._forward(request, body)
        if fault:
            fault.hits += 1
            payload = payload[: fault.cut_after_bytes]
        request.send_response(status)
        for name, value in headers:
            if name.lower() not in ("transfer-encoding", "connection"):
                request.send_header(name, value)
        request.end_headers()
        if request.command != "HEAD":
            request.wfile.write(payload)
        if fault:
            request.close_connection = True

    def _answer_auth(self, request):
        """Serve /token, or refuse a request without the token; True when answered here."""
        if request.path.startswith("/token"):
            query = urllib.parse.parse_qs(urllib.parse.urlsplit(request.path).query)
            expected = "Basic " + base64.b64encode(":".join(self.bearer).encode()).decode()
            self.token_requests.append((query.get("service"), query.get("scope"), request.headers.get("Authorization") == expected))
            if request.headers.get("Authorization") != expected:
                self._reply(request, 401, b'{"details":"bad credentials"}')
            else:
                self._reply(request, 200, json.dumps({"token": self.TOKEN}).encode())
            return True
        if request.headers.get("Authorization") == f"Bearer {self.TOKEN}":
            return False
        self._read_body(request)
        challenge = f'Bearer realm="http://{self.address}/token",service="faulty-proxy"'
        self._reply(request, 401, b'{"errors":[{"code":"UNAUTHORIZED","message":"token required"}]}', {"WWW-Authenticate": challenge})
        return True

    @staticmethod
    def _reply(request, status, body, headers=None):
        request.send_response(status)
        for name, value in (headers or {}).items():
            request.send_header(name, value)
        request.send_header("Content-Type", "application/json")
        request.send_header("Content-Length", str(len(body)))
        request.end_headers()
        if request.command != "HEAD":
            request.wfile.write(body)

    def _read_body(self, request):
        if request.headers.get("Transfer-Encoding", "").lower() == "chunked":
            chunks = []
            while True:
                size = int(request.rfile.readline().strip() or b"0", 16)
                if size == 0:
                    request.rfile.readline()
                    return b"".join(chunks)
                chunks.append(request.rfile.read(size))
                request.rfile.readline()
        length = int(request.headers.get("Content-Length") or 0)
        return request.rfile.read(length) if length else None

    def _forward_cut(self, request, body, length):
        """Send the registry the request with only the first length bytes of its body, then end the
        connection and wait until the registry has dealt with that: as a connection broken midway."""
        connection = http.client.HTTPConnection(*self.upstream, timeout=60)
        try:
            connection.putrequest(request.command, request.path, skip_accept_encoding=True)
            for name, value in self._upstream_headers(request, body).items():
                connection.putheader(name, value)
            connection.endheaders(body[:length])
            connection.sock.shutdown(socket.SHUT_WR)
            connection.sock.recv(65536)  # the registry's answer, or the end of the connection
        finally:
            connection.close()

    @staticmethod
    def _upstream_headers(request, body):
        headers = {k: v for k, v in request.headers.items() if k.lower() not in ("host", "transfer-encoding")}
        if body is not None:
            headers["Content-Length"] = str(len(body))
        return headers

    def _forward(self, request, body):
        connection = http.client.HTTPConnection(*self.upstream, timeout=60)
        try:
            connection.request(request.command, request.path, body=body, headers=self._upstream_headers(request, body))
            response = connection.getresponse()
            payload = response.read()
            location_fixed = [(k, v.replace(f"{self.upstream[0]}:{self.upstream[1]}", self.address))
                              for k, v in response.getheaders()]
            return response.status, location_fixed, payload
        finally:
            connection.close()
