"""A tiny OpenID Connect provider served by http.server in a thread: real HTTP, scripted answers.

It stands in for a provider that misbehaves (5xx, non-JSON, slow) and signs id_tokens with keys
generated in the test, so each id_token check can be exercised on its own.
"""

import json
import secrets
import ssl
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs

import jwt
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm


class FakeProvider:
    """Routes: POST /token, POST /revoke, GET /userinfo, GET /keys. Each answer can be replaced
    with ``provider.answers[path] = (status, body_bytes_or_dict, delay_seconds)``; ``calls`` lists
    ``(path, form_dict, headers)`` of every request."""

    def __init__(self, client_id: str):
        self.client_id = client_id
        self.client_secret = "fake-secret-" + secrets.token_hex(16)
        self.key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.kid = "key-1"
        self.published = [(self.kid, self.key)]
        self.answers: dict[str, tuple] = {}
        self.calls: list[tuple[str, dict, dict]] = []
        self.nonce = None
        self.sub = "2030000000000099"
        self.access_token = "at-" + secrets.token_urlsafe(24)
        self.refresh_token = "rt-" + secrets.token_urlsafe(24)
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        self.issuer = self.url

    # --- what it answers by default ----------------------------------------------------------

    def claims(self, **overrides) -> dict:
        now = int(time.time())
        claims = {
            "iss": self.issuer,
            "aud": self.client_id,
            "sub": self.sub,
            "iat": now,
            "exp": now + 3600,
            "name": "Fake Edward",
            "upn": "edward@fake.onaliyun.com",
            "aid": "1290000000000009",
            "uid": self.sub,
        }
        if self.nonce is not None:
            claims["nonce"] = self.nonce
        claims.update(overrides)
        return {k: v for k, v in claims.items() if v is not None}

    def id_token(self, claims=None, kid="default", key=None, alg="RS256") -> str:
        headers = {"kid": self.kid if kid == "default" else kid} if kid is not None else {}
        if not headers:
            headers = None
        return jwt.encode(claims or self.claims(), key or self.key, algorithm=alg, headers=headers)

    def token_answer(self, **overrides) -> dict:
        answer = {
            "request_id": "R1",
            "access_token": self.access_token,
            "token_type": "AliyunSTS",
            "expires_in": "3599",
            "refresh_token": self.refresh_token,
            "id_token": self.id_token(),
        }
        answer.update(overrides)
        return {k: v for k, v in answer.items() if v is not None}

    def jwks(self) -> dict:
        keys = []
        for kid, key in self.published:
            jwk = json.loads(RSAAlgorithm.to_jwk(key.public_key()))
            jwk.update(kid=kid, use="sig", alg="RS256")
            keys.append(jwk)
        return {"keys": keys}

    def _default(self, path: str):
        if path == "/token":
            return 200, self.token_answer(), 0
        if path == "/revoke":
            return 200, {"request_id": "R2"}, 0
        if path == "/userinfo":
            c = self.claims()
            return 200, {k: c[k] for k in ("sub", "name", "upn", "aid", "uid")}, 0
        if path == "/keys":
            return 200, self.jwks(), 0
        return 404, {"error": "not_found"}, 0

    # --- server ------------------------------------------------------------------------------

    def _handler(self):
        provider = self

        class Handler(BaseHTTPRequestHandler):
            def _answer(self):
                path = self.path.split("?", 1)[0]
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length).decode() if length else ""
                form = {k: v[0] for k, v in parse_qs(body).items()}
                provider.calls.append((path, form, dict(self.headers)))
                answer = provider.answers.get(path) or provider._default(path)
                status, payload, delay = answer(form) if callable(answer) else answer
                if delay:
                    time.sleep(delay)
                data = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up (timeout tests)

            do_GET = do_POST = _answer

            def log_message(self, *args):
                pass

        return Handler

    def use_tls(self, cert_path, key_path):
        """Serve HTTPS with the given certificate (call before start())."""
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(cert_path, key_path)
        self._server.socket = context.wrap_socket(self._server.socket, server_side=True)
        self.url = self.url.replace("http://", "https://", 1)
        self.issuer = self.url

    def start(self):
        threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        ).start()

    def stop(self):
        self._server.shutdown()
        self._server.server_close()

    def count(self, path: str) -> int:
        return sum(1 for p, _, _ in self.calls if p == path)
