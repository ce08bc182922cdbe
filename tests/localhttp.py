"""A real HTTP server on 127.0.0.1 in a thread, for tests of what the portal sends out
(webhooks, iCal fetches). Tests only ever talk to loopback."""
from __future__ import annotations

import http.server
import threading


class QuietHandler(http.server.BaseHTTPRequestHandler):
    def log_message(self, *args):
        pass


class LocalServer:
    def __init__(self, handler: type[http.server.BaseHTTPRequestHandler], path: str = "/"):
        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.port = self.server.server_port
        self.url = f"http://127.0.0.1:{self.port}{path}"
        # A short poll keeps shutdown() quick (the default half second was most of the teardown).
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join()
