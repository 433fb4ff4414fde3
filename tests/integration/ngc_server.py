"""A loopback server answering the NGC model registry endpoints a model download uses.

Version metadata (status), the paginated file list with sha256_base64, and download URLs
that redirect to presigned links (served here too, and refused if they carry the API key,
as a real presigned store would ignore it). `corrupt` serves other bytes for a path while
the listing still names the real digest. Presigned links honour Range, as object stores do;
`cut_presigned` cuts that many of their answers midway (the connection closes after half the
bytes), and `presigned_ranges` records the Range header of each presigned request.
"""

import base64
import hashlib
import json
import re
import socket
import urllib.parse

from loopback_http import LoopbackHTTPServer

API_KEY = "nvapi-loopback-test-key"
PAGE_SIZE = 2  # small, so the client must follow pages


class NgcServer(LoopbackHTTPServer):
    """models: {(org, team, model, version): {path: bytes}}; team may be ""."""

    def __init__(self, models, status="UPLOAD_COMPLETE"):
        self.models = models
        self.status = status
        self.corrupt = {}
        self.requests = []
        self.cut_presigned = 0
        self.presigned_ranges = []
        super().__init__()

    @property
    def endpoint(self):
        return f"http://127.0.0.1:{self.port}"

    def answer(self, request):
        url = urllib.parse.urlsplit(request.path)
        query = urllib.parse.parse_qs(url.query)
        self.requests.append((url.path, request.headers.get("Authorization")))
        if url.path.startswith("/presigned/"):
            status, headers, body = self.presigned(url.path, request.headers.get("Authorization"))
            if status == 200:
                self.send_ranged(request, headers, body)
                return
        elif request.headers.get("Authorization") != f"Bearer {API_KEY}":
            status, headers, body = 401, {}, b'{"requestStatus":{"statusCode":"UNAUTHORIZED"}}'
        else:
            status, headers, body = self.api(url.path, query)
        request.send_response(status)
        for name, value in headers.items():
            request.send_header(name, value)
        request.send_header("Content-Length", str(len(body)))
        request.end_headers()
        request.wfile.write(body)

    def send_ranged(self, request, headers, body):
        """A file's bytes from the Range asked for (206), or whole (200); the first cut_presigned answers stop halfway."""
        wanted = request.headers.get("Range")
        self.presigned_ranges.append(wanted)
        start = int(wanted[len("bytes="):].split("-")[0]) if wanted else 0
        request.send_response(206 if wanted else 200)
        for name, value in headers.items():
            request.send_header(name, value)
        if wanted:
            request.send_header("Content-Range", f"bytes {start}-{len(body) - 1}/{len(body)}")
        request.send_header("Content-Length", str(len(body) - start))
        request.end_headers()
        if self.cut_presigned > 0:
            self.cut_presigned -= 1
            request.wfile.write(body[start:start + (len(body) - start) // 2])
            request.wfile.flush()
            request.close_connection = True
            request.connection.shutdown(socket.SHUT_RDWR)
            return
        request.wfile.write(body[start:])

    def api(self, path, query):
        match = re.match(r"^/v2/org/([^/]+)(?:/team/([^/]+))?/models/([^/]+)/(?:versions/([^/]+)(/files)?|([^/]+)/files)$", path)
        if not match:
            return 404, {}, b'{"requestStatus":{"statusCode":"NOT_FOUND"}}'
        org, team, model, version, listing, download_version = match.groups()
        key = (org, team or "", model, version or download_version)
        files = self.models.get(key)
        if files is None:
            return 404, {}, b'{"requestStatus":{"statusCode":"NOT_FOUND"}}'
        if download_version:
            target = query["path"][0]
            return 302, {"Location": f"{self.endpoint}/presigned/{'/'.join(key)}/{urllib.parse.quote(target)}"}, b""
        if listing:
            return self.page(files, int(query.get("page-number", ["0"])[0]))
        return 200, {"Content-Type": "application/json"}, json.dumps({"modelVersion": {"versionId": key[3], "status": self.status}}).encode()

    def page(self, files, number):
        names = sorted(files)
        chosen = names[number * PAGE_SIZE:(number + 1) * PAGE_SIZE]
        listed = [{"path": name, "sizeInBytes": len(files[name]),
                   "sha256_base64": base64.b64encode(hashlib.sha256(files[name]).digest()).decode()} for name in chosen]
        pages = (len(names) + PAGE_SIZE - 1) // PAGE_SIZE
        body = {"modelFiles": listed, "paginationInfo": {"index": number, "size": PAGE_SIZE, "totalPages": pages, "totalResults": len(names)}}
        return 200, {"Content-Type": "application/json"}, json.dumps(body).encode()

    def presigned(self, path, authorization):
        if authorization:
            return 400, {}, b"presigned URLs take no Authorization header"
        org, team, model, version, target = path[len("/presigned/"):].split("/", 4)
        files = self.models.get((org, team, model, version), {})
        target = urllib.parse.unquote(target)
        if target not in files:
            return 404, {}, b""
        return 200, {"Content-Type": "application/octet-stream"}, self.corrupt.get(target, files[target])
