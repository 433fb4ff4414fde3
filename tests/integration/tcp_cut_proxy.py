"""A loopback TCP proxy that cuts every connection once a byte budget has gone upstream.

It forwards bytes untouched (so S3 signatures, which cover the Host header, stay valid)
and, after `budget` bytes of requests, resets its connections and refuses new ones: an
upload interrupted midway by a network failure, with the real server behind it.
"""

import socket
import struct
import threading


class CutProxy:
    def __init__(self, upstream_port, budget):
        self.upstream_port = upstream_port
        self.budget = budget
        self.sent = 0
        self.cut = threading.Event()
        self.lock = threading.Lock()
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.listener.settimeout(0.2)
        self.connections = []
        self.thread = threading.Thread(target=self._accept, daemon=True)

    @property
    def endpoint(self):
        return f"http://127.0.0.1:{self.listener.getsockname()[1]}"

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.cut.set()
        self.thread.join(timeout=5)
        self.listener.close()
        self._close_all()

    def _accept(self):
        while not self.cut.is_set():
            try:
                client, _address = self.listener.accept()
            except socket.timeout:
                continue
            except OSError:
                break
            upstream = socket.create_connection(("127.0.0.1", self.upstream_port), timeout=30)
            with self.lock:
                self.connections.extend([client, upstream])
            if self.cut.is_set():  # accepted as the cut happened: reset it too, or the client waits for its read timeout
                self._close_all()
                break
            threading.Thread(target=self._pump, args=(client, upstream, True), daemon=True).start()
            threading.Thread(target=self._pump, args=(upstream, client, False), daemon=True).start()
        self.listener.close()  # refused from now on, like a dead link
        self._close_all()

    def _pump(self, source, target, counted):
        try:
            while not self.cut.is_set():
                block = source.recv(256 * 1024)
                if not block:
                    break
                if counted:
                    with self.lock:
                        self.sent += len(block)
                        if self.sent > self.budget:
                            self.cut.set()
                            break
                target.sendall(block)
        except OSError:
            pass
        if self.cut.is_set():
            self._close_all()
            for connection in (source, target):  # its own pair, even if it was registered after a _close_all
                _reset(connection)

    def _close_all(self):
        with self.lock:
            connections, self.connections = self.connections, []
        for connection in connections:
            _reset(connection)


def _reset(connection):
    """Break the connection as a dead link would. shutdown first: close() alone neither wakes a pump
    thread blocked in recv() on it nor, while that thread holds it, tells the client anything, which
    then waits out its whole read timeout."""
    for step in (lambda: connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0)),
                 lambda: connection.shutdown(socket.SHUT_RDWR), connection.close):
        try:
            step()
        except OSError:
            pass
