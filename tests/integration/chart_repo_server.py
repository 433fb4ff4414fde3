"""A Helm chart repository on loopback: index.yaml and .tgz files from a folder, optionally behind Basic auth and TLS.

Run in a thread of the test process; the context manager stops it, so nothing outlives the test.
"""

import base64
import contextlib
import functools
import http.server
import ssl
import threading


class _Handler(http.server.SimpleHTTPRequestHandler):
    """Serves the folder read-only; with credentials set, every request must carry them."""

    expected_authorization = None
    requests_seen = None

    def do_GET(self):  # noqa: N802  (the stdlib's name)
        self.requests_seen.append((self.path, self.headers.get("Authorization")))
        if self.expected_authorization and self.headers.get("Authorization") != self.expected_authorization:
            self.send_response(401)
            self.send_header("WWW-Authenticate", 'Basic realm="charts"')
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        super().do_GET()

    def log_message(self, format, *args):  # pylint: disable=redefined-builtin
        """Quiet: pytest shows failures, not access logs."""


@contextlib.contextmanager
def serving(directory, username=None, password=None, tls=None):
    """Yield (base URL, list of (path, Authorization header) seen) while the folder is served on 127.0.0.1.

    tls: (certificate file, key file) to serve HTTPS.
    """
    expected = None
    if username is not None:
        expected = "Basic " + base64.b64encode(f"{username}:{password}".encode()).decode()
    seen = []
    handler = type("Handler", (_Handler,), {"expected_authorization": expected, "requests_seen": seen})
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(handler, directory=str(directory)))
    if tls:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(*tls)
        server.socket = context.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True)
    thread.start()
    try:
        yield f"{'https' if tls else 'http'}://127.0.0.1:{server.server_address[1]}", seen
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)
