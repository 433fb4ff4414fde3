"""Readiness probes: is a service answering its own protocol yet?"""

import http.client
import socket
import ssl
import urllib.error
import urllib.request


def http_status(url, ca_file=None):
    """The HTTP status a GET of url gets, or None when nothing answers properly."""
    context = ssl.create_default_context(cafile=ca_file) if url.startswith("https") else None
    try:
        with urllib.request.urlopen(url, timeout=2, context=context) as response:  # noqa: S310
            return response.status
    except urllib.error.HTTPError as error:
        return error.code
    except (OSError, http.client.HTTPException):
        return None


class _UnixHTTPConnection(http.client.HTTPConnection):
    def __init__(self, socket_path):
        super().__init__("localhost", timeout=2)
        self.socket_path = socket_path

    def connect(self):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(2)
        self.sock.connect(self.socket_path)


def unix_http_body(socket_path, path):
    """GET path over a unix socket (the Docker API); None when the daemon is not serving."""
    connection = _UnixHTTPConnection(socket_path)
    try:
        connection.request("GET", path)
        response = connection.getresponse()
        return response.read() if response.status == 200 else None
    except (OSError, http.client.HTTPException):
        return None
    finally:
        connection.close()


def unix_connectable(socket_path):
    """True when a daemon accepts connections on socket_path."""
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as probe:
        probe.settimeout(2)
        try:
            probe.connect(socket_path)
            return True
        except OSError:
            return False
