"""The threaded loopback HTTP server the test stand-ins share (a faulty registry proxy, a Hub, NGC).

A subclass says which methods it takes and answers each request in answer(request); this
class binds 127.0.0.1 on a free port and runs the server for the length of a `with` block.
"""

import http.server
import threading


class LoopbackHTTPServer:
    METHODS = ("GET",)

    def __init__(self):
        owner = self

        def dispatch(request):
            owner.answer(request)

        handler = type("Handler", (http.server.BaseHTTPRequestHandler,), {
            "protocol_version": "HTTP/1.1",
            "log_message": lambda request, *args: None,
            **{f"do_{method}": dispatch for method in self.METHODS},
        })
        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.httpd.daemon_threads = True
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    @property
    def port(self):
        return self.httpd.server_address[1]

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.httpd.shutdown()
        self.httpd.server_close()

    def answer(self, request):
        raise NotImplementedError
