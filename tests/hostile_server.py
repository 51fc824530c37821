"""A misbehaving upstream for the bounded-answer tests: http.server in a thread on a free port.

``mode`` picks the answer to every request:

- ``"huge"``: 200, JSON, no Content-Length, ``HUGE_BYTES`` streamed until the client hangs up;
- ``"huge-declared"``: the same with a Content-Length of ``HUGE_BYTES`` announced;
- ``"drip"``: 200 with ``body`` (a valid answer) sent one byte every ``drip_interval`` seconds,
  so each read is quick but the whole answer takes ``len(body) * drip_interval`` seconds;
- ``"header-drip"``: the status line and headers (``HEADER_DRIP_BYTES`` of them, before any
  body) sent the same way, one byte every ``drip_interval`` seconds, then ``body``.

``sent`` counts the bytes written (body, or status line and headers when they drip) until the
client hung up: how long a client held on, in bytes. ``tls=(cert_path, key_path)`` serves HTTPS;
``redirect=True`` first answers every path not ending in ``/moved`` with a 302 to that path plus
``/moved``.
"""

import json
import ssl
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

HUGE_BYTES = 200 * 1024 * 1024  # what the tester sent: 200 MiB
HEADER_DRIP_BYTES = 1000  # status line and headers of the "header-drip" answer


class HostileServer:
    def __init__(
        self,
        mode: str = "huge",
        body: object = None,
        drip_interval: float = 0.05,
        tls=None,
        redirect=False,
    ):
        self.mode = mode
        self.body = body
        self.drip_interval = drip_interval
        self.redirect = redirect
        self.sent = 0  # bytes of body written, all requests
        self.requests = 0
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._server.daemon_threads = True
        self.host = f"127.0.0.1:{self._server.server_address[1]}"
        self.url = f"http://{self.host}"
        if tls:
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            context.load_cert_chain(*tls)
            self._server.socket = context.wrap_socket(self._server.socket, server_side=True)
            self.url = f"https://{self.host}"
        self._thread = threading.Thread(target=self._server.serve_forever, args=(0.05,))
        self._thread.daemon = True

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    def _handler(self):
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.0"  # body ends when the connection closes

            def _answer(self):
                server.requests += 1
                length = int(self.headers.get("Content-Length") or 0)
                if length:
                    self.rfile.read(length)
                try:
                    if server.redirect and not self.path.endswith("/moved"):
                        self.send_response(302)
                        self.send_header("Location", self.path + "/moved")
                        self.send_header("Content-Length", "0")
                        self.end_headers()
                        return
                    if server.mode == "header-drip":
                        self._drip(self._dripped_head())
                        self.wfile.write(self._body())
                        return
                    self.send_response(200)
                    self.send_header("Content-Type", "application/json")
                    if server.mode == "huge-declared":
                        self.send_header("Content-Length", str(HUGE_BYTES))
                    self.end_headers()
                    if server.mode == "drip":
                        self._drip(self._body())
                    else:
                        self._flood()
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up: what a bounded client does

            def _flood(self):
                chunk = b"a" * 65536
                self.wfile.write(b'{"access_token": "')
                for _ in range(HUGE_BYTES // len(chunk)):
                    self.wfile.write(chunk)
                    server.sent += len(chunk)
                self.wfile.write(b'"}')

            def _body(self) -> bytes:
                body = server.body
                return body if isinstance(body, bytes) else json.dumps(body).encode()

            def _dripped_head(self) -> bytes:
                head = b"HTTP/1.0 200 OK\r\nContent-Type: application/json\r\n"
                padding = HEADER_DRIP_BYTES - len(head) - len(b"X-Padding: \r\n\r\n")
                return head + b"X-Padding: " + b"p" * padding + b"\r\n\r\n"

            def _drip(self, data: bytes):
                for i in range(len(data)):
                    self.wfile.write(data[i : i + 1])
                    self.wfile.flush()
                    server.sent += 1
                    time.sleep(server.drip_interval)

            do_GET = do_POST = _answer

            def log_message(self, *args):
                pass

        return Handler
