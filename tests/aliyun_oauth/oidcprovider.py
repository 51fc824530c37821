"""A standards-following OpenID provider for tests, served by http.server in a thread.

Unlike :mod:`tests.aliyun_oauth.fakeprovider` (scripted, misbehaving answers) this one keeps
real state and follows the specifications the way certified providers do:

- Discovery (OIDC Discovery 1.0 §3) without the optional ``revocation_endpoint`` and
  ``userinfo_endpoint`` unless asked to advertise them, and with
  ``authorization_response_iss_parameter_supported`` (RFC 9207): every authorization response
  carries ``iss``.
- One grant per subject and client, reused by every new authorization (as Google and others
  do); revoking any token of a grant ends the whole grant (RFC 7009 §2.1 allows it).
- A refresh token only when the scope holds ``offline_access`` and the authorize request said
  ``prompt=consent`` (OIDC Core §11); refresh tokens rotate.
- id_tokens signed with ES256 (P-256) by default, or PS256/RS256 with an RSA key; userinfo
  claims (``preferred_username``, ``email``, ``name``) also in the id_token.
- ``client_secret_basic`` only, PKCE S256 required, codes single use, ``token_type`` "Bearer"
  and numeric ``expires_in``.
"""

import base64
import hashlib
import html
import json
import secrets
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, unquote, urlencode, urlsplit

import jwt
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from jwt.algorithms import ECAlgorithm, RSAAlgorithm

DISCOVERY_PATH = "/.well-known/openid-configuration"


class StandardProvider:
    """Endpoints: discovery, GET /authorize (signs ``subject`` in at once and consents),
    POST /token, POST /revoke, GET /userinfo, GET /jwks. ``calls`` lists ``(method, path)``."""

    def __init__(
        self,
        client_id: str = "crm-oidc-client",
        alg: str = "ES256",
        advertise: tuple[str, ...] = (),
        expires_in: int = 3600,
    ):
        self.client_id = client_id
        self.client_secret = "oidc-secret-" + secrets.token_hex(16)
        self.alg = alg
        if alg == "ES256":
            self.key = ec.generate_private_key(ec.SECP256R1())
        else:
            self.key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.kid = "sig-" + alg.lower()
        self.advertise = set(advertise)  # "revocation_endpoint", "userinfo_endpoint"
        self.expires_in = expires_in
        self.subject = "248289761001"
        self.profile = {
            "name": "Jane Doe",
            "preferred_username": "j.doe",
            "email": "janedoe@example.com",
        }
        self.grants: dict[str, dict] = {}  # grant id -> {"sub", "scope", "alive"}
        self.codes: dict[str, dict] = {}
        self.access_tokens: dict[str, str] = {}  # token -> grant id
        self.refresh_tokens: dict[str, str] = {}  # token -> grant id (rotated ones removed)
        self.calls: list[tuple[str, str]] = []
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        self.issuer = self.url

    # --- protocol ----------------------------------------------------------------------------

    def discovery(self) -> dict:
        doc = {
            "issuer": self.issuer,
            "authorization_endpoint": self.url + "/authorize",
            "token_endpoint": self.url + "/token",
            "jwks_uri": self.url + "/jwks",
            "response_types_supported": ["code"],
            "response_modes_supported": ["query", "form_post"],
            "subject_types_supported": ["public"],
            "id_token_signing_alg_values_supported": [self.alg],
            "scopes_supported": ["openid", "profile", "email", "offline_access"],
            "token_endpoint_auth_methods_supported": ["client_secret_basic"],
            "code_challenge_methods_supported": ["S256"],
            "authorization_response_iss_parameter_supported": True,
        }
        if "revocation_endpoint" in self.advertise:
            doc["revocation_endpoint"] = self.url + "/revoke"
        if "userinfo_endpoint" in self.advertise:
            doc["userinfo_endpoint"] = self.url + "/userinfo"
        return doc

    def jwks(self) -> dict:
        public = self.key.public_key()
        algorithm = ECAlgorithm if self.alg == "ES256" else RSAAlgorithm
        jwk = json.loads(algorithm.to_jwk(public))
        jwk.update(kid=self.kid, use="sig", alg=self.alg)
        return {"keys": [jwk]}

    def _grant_for(self, sub: str, scope: str) -> str:
        """The subject's live grant for this client, reused (and widened), or a new one."""
        for grant_id, grant in self.grants.items():
            if grant["sub"] == sub and grant["alive"]:
                grant["scope"] = " ".join(sorted(set(grant["scope"].split()) | set(scope.split())))
                return grant_id
        grant_id = secrets.token_hex(8)
        self.grants[grant_id] = {"sub": sub, "scope": scope, "alive": True}
        return grant_id

    def authorize(self, query: dict) -> tuple[int, dict, bytes]:
        if query.get("client_id") != self.client_id or query.get("response_type") != "code":
            return 400, {}, b"unknown client or response_type"
        if query.get("code_challenge_method") != "S256" or not query.get("code_challenge"):
            return 400, {}, b"PKCE S256 is required"
        scope = query.get("scope", "")
        grant_id = self._grant_for(self.subject, scope)
        code = secrets.token_urlsafe(24)
        self.codes[code] = {
            "grant": grant_id,
            "scope": scope,
            "redirect_uri": query.get("redirect_uri"),
            "challenge": query["code_challenge"],
            "nonce": query.get("nonce"),
            "offline": "offline_access" in scope.split() and query.get("prompt") == "consent",
        }
        answer = {"code": code, "state": query.get("state", ""), "iss": self.issuer}
        if query.get("response_mode") == "form_post":
            inputs = "".join(
                f'<input type="hidden" name="{k}" value="{html.escape(v)}">'
                for k, v in answer.items()
            )
            target = html.escape(query["redirect_uri"])
            page = f'<form method="post" action="{target}">{inputs}</form>'
            return 200, {"Content-Type": "text/html"}, page.encode()
        return 302, {"Location": f"{query['redirect_uri']}?{urlencode(answer)}"}, b""

    def _client_ok(self, headers) -> bool:
        auth = headers.get("Authorization", "")
        if not auth.startswith("Basic "):
            return False
        user, _, password = base64.b64decode(auth[6:]).decode().partition(":")
        return (unquote(user), unquote(password)) == (self.client_id, self.client_secret)

    def _issue(self, grant_id: str, scope: str, nonce=None, offline=False) -> dict:
        access = "at-" + secrets.token_urlsafe(24)
        self.access_tokens[access] = grant_id
        now = int(time.time())
        claims = {
            "iss": self.issuer,
            "sub": self.grants[grant_id]["sub"],
            "aud": self.client_id,
            "iat": now,
            "exp": now + 600,
            **self.profile,
        }
        if nonce:
            claims["nonce"] = nonce
        answer = {
            "access_token": access,
            "token_type": "Bearer",
            "expires_in": self.expires_in,
            "scope": scope,
            "id_token": jwt.encode(claims, self.key, algorithm=self.alg, headers={"kid": self.kid}),
        }
        if offline:
            refresh = "rt-" + secrets.token_urlsafe(24)
            self.refresh_tokens[refresh] = grant_id
            answer["refresh_token"] = refresh
        return answer

    def token(self, form: dict, headers) -> tuple[int, dict]:
        if not self._client_ok(headers):
            return 401, {"error": "invalid_client"}
        if form.get("grant_type") == "authorization_code":
            entry = self.codes.pop(form.get("code", ""), None)
            if entry is None or entry["redirect_uri"] != form.get("redirect_uri"):
                return 400, {"error": "invalid_grant", "error_description": "unknown code"}
            digest = hashlib.sha256(form.get("code_verifier", "").encode()).digest()
            if base64.urlsafe_b64encode(digest).rstrip(b"=").decode() != entry["challenge"]:
                return 400, {"error": "invalid_grant", "error_description": "PKCE failed"}
            return 200, self._issue(
                entry["grant"], entry["scope"], entry["nonce"], entry["offline"]
            )
        if form.get("grant_type") == "refresh_token":
            grant_id = self.refresh_tokens.pop(form.get("refresh_token", ""), None)
            if grant_id is None or not self.grants[grant_id]["alive"]:
                return 400, {"error": "invalid_grant", "error_description": "refresh token ended"}
            return 200, self._issue(grant_id, self.grants[grant_id]["scope"], offline=True)
        return 400, {"error": "unsupported_grant_type"}

    def revoke(self, form: dict, headers) -> tuple[int, dict]:
        if not self._client_ok(headers):
            return 401, {"error": "invalid_client"}
        token = form.get("token", "")
        grant_id = self.refresh_tokens.get(token) or self.access_tokens.get(token)
        if grant_id:
            self.grants[grant_id]["alive"] = False  # the whole grant ends
        return 200, {}

    def alive(self, access_token: str) -> bool:
        grant_id = self.access_tokens.get(access_token)
        return bool(grant_id) and self.grants[grant_id]["alive"]

    def userinfo(self, headers) -> tuple[int, dict]:
        token = headers.get("Authorization", "").removeprefix("Bearer ")
        if not self.alive(token):
            return 401, {}
        return 200, {"sub": self.grants[self.access_tokens[token]]["sub"], **self.profile}

    def count(self, path: str) -> int:
        return sum(1 for _m, p in self.calls if p == path)

    # --- server ------------------------------------------------------------------------------

    def _handler(self):
        provider = self

        class Handler(BaseHTTPRequestHandler):
            def _reply(self, status, body, headers=None):
                data = body if isinstance(body, bytes) else json.dumps(body).encode()
                self.send_response(status)
                headers = headers or {"Content-Type": "application/json"}
                if status == 401 and self.path.startswith("/userinfo"):
                    headers["WWW-Authenticate"] = 'Bearer error="invalid_token"'
                for name, value in headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_GET(self):
                parts = urlsplit(self.path)
                provider.calls.append(("GET", parts.path))
                query = {k: v[0] for k, v in parse_qs(parts.query).items()}
                with provider._lock:
                    if parts.path == DISCOVERY_PATH:
                        return self._reply(200, provider.discovery())
                    if parts.path == "/jwks":
                        return self._reply(200, provider.jwks())
                    if parts.path == "/authorize":
                        status, headers, body = provider.authorize(query)
                        return self._reply(status, body, headers)
                    if parts.path == "/userinfo":
                        return self._reply(*provider.userinfo(self.headers))
                self._reply(404, {"error": "not_found"})

            def do_POST(self):
                path = urlsplit(self.path).path
                provider.calls.append(("POST", path))
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length).decode() if length else ""
                form = {k: v[0] for k, v in parse_qs(body).items()}
                with provider._lock:
                    if path == "/token":
                        return self._reply(*provider.token(form, self.headers))
                    if path == "/revoke":
                        return self._reply(*provider.revoke(form, self.headers))
                self._reply(404, {"error": "not_found"})

            def log_message(self, *args):
                pass

        return Handler

    def start(self):
        threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        ).start()

    def stop(self):
        self._server.shutdown()
        self._server.server_close()
