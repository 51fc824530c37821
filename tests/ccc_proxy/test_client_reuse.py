"""ccc_proxy.client reuses SDK clients and HTTP connections without ever mixing credentials.

A minimal upstream on loopback (HTTP/1.1 keep-alive, each answer in one write) checks every
request's RPC signature v1.0 against the secret of the AccessKeyId it names (or records the
BearerToken), answers which credential it saw, and counts the TCP connections it accepted.
"""

import base64
import hashlib
import hmac
import json
import threading
from concurrent.futures import ThreadPoolExecutor
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl, quote, urlsplit

import pytest

from ccc_proxy import client

AGENTS = {
    "STS.edward": ("edward-secret", "CAIS-edward"),
    "STS.sissi": ("sissi-secret", "CAIS-sissi"),
}


def rpc_signature(secret: str, params: dict[str, str]) -> str:
    """Alibaba Cloud RPC signature v1.0 of a POST (docs/ccc-openapi.md): HMAC-SHA1 with
    ``secret + "&"`` over ``POST&%2F&`` + the percent-encoded sorted query."""

    def encode(value: str) -> str:
        return quote(value, safe="-_.~")

    canonical = "&".join(
        f"{encode(k)}={encode(v)}" for k, v in sorted(params.items()) if k != "Signature"
    )
    text = "POST&%2F&" + encode(canonical)
    digest = hmac.new((secret + "&").encode(), text.encode(), hashlib.sha1).digest()
    return base64.b64encode(digest).decode()


class SigningUpstream:
    """Answers ``{"Success": true, "Seen": <AccessKeyId or BearerToken>, "SignatureOk": bool}``."""

    def __init__(self):
        self.connections = 0
        self.lock = threading.Lock()
        state = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"  # keep-alive
            wbufsize = 64 * 1024  # headers and body leave in one write (no delayed-ACK stall)

            def setup(self):
                super().setup()
                with state.lock:
                    state.connections += 1

            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0)).decode()
                params = dict(parse_qsl(urlsplit(self.path).query, keep_blank_values=True))
                params.update(parse_qsl(body, keep_blank_values=True))
                if params.get("SignatureType") == "BEARERTOKEN":
                    seen, ok = params.get("BearerToken"), params.get("Signature", "") == ""
                else:
                    seen = params.get("AccessKeyId")
                    secret, token = AGENTS.get(seen, ("", ""))
                    expected = rpc_signature(secret, params)
                    ok = params.get("Signature") == expected and params["SecurityToken"] == token
                data = json.dumps(
                    {"RequestId": "r", "Success": True, "Seen": seen, "SignatureOk": ok}
                ).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.endpoint = f"127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True).start()

    def stop(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def upstream(settings, monkeypatch):
    for name in client.OVERRIDE_ENVIRONMENT_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    server = SigningUpstream()
    settings.ALIYUN_CCC_ENDPOINT = server.endpoint
    settings.ALIYUN_CCC_PROTOCOL = "http"
    yield server
    server.stop()


def _concurrently(credentials_by_agent: dict[str, client.Credentials], calls: int):
    """Each agent makes ``calls`` calls, all agents at once from 8 threads; returns
    (agent, answer body) pairs."""
    jobs = [agent for _ in range(calls) for agent in credentials_by_agent]
    start = threading.Barrier(8)

    def one(n_agent):
        n, agent = n_agent
        if n < 8:
            start.wait()
        answer = client.call(credentials_by_agent[agent], "GetLoginDetails", {"InstanceId": "i"})
        return agent, answer.body

    with ThreadPoolExecutor(8) as pool:
        return list(pool.map(one, enumerate(jobs)))


def test_two_sts_agents_concurrent_calls_are_signed_with_their_own_keys_on_reused_connections(
    upstream,
):
    agents = {key_id: client.StsCredentials(key_id, *secret) for key_id, secret in AGENTS.items()}
    results = _concurrently(agents, 40)
    assert len(results) == 80
    for agent, body in results:
        assert body["Seen"] == agent and body["SignatureOk"] is True
    # Connections come from one pool per process: far fewer than the 80 calls (usually at most
    # one per thread; the per-call deadline watch of crmdemo.upstream sometimes costs a few more).
    assert upstream.connections < 40
    assert client.make_client(agents["STS.edward"]) is client.make_client(agents["STS.edward"])
    assert client.make_client(agents["STS.edward"]) is not client.make_client(agents["STS.sissi"])


def test_two_bearer_agents_concurrent_calls_carry_their_own_tokens(upstream):
    agents = {
        "ot-edward": client.BearerToken("ot-edward"),
        "ot-sissi": client.BearerToken("ot-sissi"),
    }
    results = _concurrently(agents, 40)
    for agent, body in results:
        assert body["Seen"] == agent and body["SignatureOk"] is True
    assert upstream.connections < 40


def test_a_new_secret_for_the_same_key_id_gets_its_own_client(upstream):
    old = client.StsCredentials("STS.edward", "old-secret", "CAIS-old")
    new = client.StsCredentials("STS.edward", *AGENTS["STS.edward"])
    assert client.make_client(new) is client.make_client(new)
    assert client.make_client(old) is not client.make_client(new)
    answer = client.call(new, "GetLoginDetails", {"InstanceId": "i"})
    assert answer.body["SignatureOk"] is True
    assert client.make_client(old).get_access_secret() == "old-secret"
