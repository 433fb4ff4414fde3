"""A loopback file server with HTTP Range support that can cut its first responses midway.

Like a flaky CDN: a cut response announces the whole length, sends part of it and drops the
connection, so the client must resume with Range; every request's Range header is recorded.
"""

import socket

from loopback_http import LoopbackHTTPServer


class RangeFileServer(LoopbackHTTPServer):
    def __init__(self, files, cut_responses=0, cut_at=None):
        super().__init__()
        self.files = dict(files)
        self.cut_responses = cut_responses
        self.cut_at = cut_at
        self.ranges = []

    def url(self, name):
        return f"http://127.0.0.1:{self.port}/{name}"

    def answer(self, request):
        body = self.files.get(request.path.lstrip("/"))
        if body is None:
            request.send_error(404)
            return
        wanted = request.headers.get("Range")
        self.ranges.append(wanted)
        start = int(wanted[len("bytes="):].split("-")[0]) if wanted else 0
        if start >= len(body):
            request.send_response(416)
            request.send_header("Content-Range", f"bytes */{len(body)}")
            request.send_header("Content-Length", "0")
            request.end_headers()
            return
        request.send_response(206 if wanted else 200)
        if wanted:
            request.send_header("Content-Range", f"bytes {start}-{len(body) - 1}/{len(body)}")
        request.send_header("Content-Length", str(len(body) - start))
        request.send_header("ETag", '"v1"')
        request.end_headers()
        if self.cut_responses > 0:
            self.cut_responses -= 1
            request.wfile.write(body[start:start + (self.cut_at or (len(body) - start) // 2)])
            request.wfile.flush()
            request.close_connection = True
            request.connection.shutdown(socket.SHUT_RDWR)
            return
        request.wfile.write(body[start:])
