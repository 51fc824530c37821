"""Two production instances (``scripts/serve.sh``) and their upstreams, over real HTTP.

The instances share a fresh PostgreSQL database (on the server of ``DATABASE_URL``) and the Redis
at ``TEST_REDIS_URL`` (default ``redis://127.0.0.1:6379/4``; keys under a prefix of their own, so
nothing else there is touched). Upstream, ``FakeProvider`` plays Alibaba's OAuth and ``FakeCcc``
its CCC OpenAPI. The client speaks plain HTTP to gunicorn with ``X-Forwarded-Proto: https``, as a
TLS-terminating proxy would, and keeps its own cookie jar (the cookies are ``Secure``).
"""

import base64
import json
import os
import re
import secrets
import signal
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qsl, urlsplit

import psycopg
import redis
import requests
from cryptography.fernet import Fernet

REPO = Path(__file__).resolve().parents[2]
LISTENING = re.compile(r"Listening at: http://127\.0\.0\.1:(\d+)")


def sts_token(key_id: str) -> str:
    """An access token in Alibaba's shape: base64url JSON with the STS triple."""
    triple = {
        "AccessKeyId": key_id,
        "AccessKeySecret": "secret-" + secrets.token_hex(8),
        "SecurityToken": "sts-" + secrets.token_hex(16),
    }
    return base64.urlsafe_b64encode(json.dumps(triple).encode()).decode().rstrip("=")


class FakeCcc:
    """Alibaba's CCC OpenAPI stand-in: answers every action with an empty skill-group list and
    records each request's parameters and ``X-Request-ID`` header."""

    def __init__(self):
        self.requests: list[tuple[dict, str | None]] = []
        state = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0)).decode()
                params = dict(parse_qsl(urlsplit(self.path).query))
                params.update(parse_qsl(body))
                state.requests.append((params, self.headers.get("X-Request-ID")))
                data = json.dumps(
                    {
                        "RequestId": "CCC-" + secrets.token_hex(4),
                        "Success": True,
                        "Code": "OK",
                        "HttpStatusCode": 200,
                        "SkillLevels": {"SkillLevel": []},
                    }
                ).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args):
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self.endpoint = f"127.0.0.1:{self._server.server_address[1]}/ccc"
        threading.Thread(target=self._server.serve_forever, args=(0.05,), daemon=True).start()

    def stop(self):
        self._server.shutdown()
        self._server.server_close()


class Browser:
    """One agent's browser behind the TLS proxy: a cookie jar shared by every instance."""

    def __init__(self):
        self.cookies: dict[str, str] = {}

    def request(self, base: str, method: str, path: str, **kwargs) -> requests.Response:
        # An English browser: the product's fallback language is zh-hans, the assertions English.
        headers = {
            "X-Forwarded-Proto": "https",
            "Accept-Language": "en",
            **kwargs.pop("headers", {}),
        }
        if method != "GET":
            # Django checks Origin on HTTPS POSTs; the proxy keeps the Host header.
            headers.setdefault("Origin", "https://" + base.split("://", 1)[1])
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        response = requests.request(
            method, base + path, headers=headers, allow_redirects=False, timeout=30, **kwargs
        )
        for cookie in response.cookies:
            self.cookies[cookie.name] = cookie.value
        return response

    def get(self, base, path, **kwargs):
        return self.request(base, "GET", path, **kwargs)

    def post(self, base, path, **kwargs):
        return self.request(base, "POST", path, **kwargs)

    def sign_in(self, base: str, username: str, password: str) -> requests.Response:
        self.get(base, "/login/")
        data = {"username": username, "password": password}
        data["csrfmiddlewaretoken"] = self.cookies["csrftoken"]
        return self.post(base, "/login/", data=data)


class Instances:
    """A fresh database, the release step once, then two ``scripts/serve.sh web`` instances."""

    def __init__(self, tmp: Path, db: dict, redis_url: str, provider, ccc: FakeCcc):
        self.tmp = tmp
        self.db_name = f"{db['NAME']}_serve"
        self._admin = {
            "host": db.get("HOST") or "127.0.0.1",
            "port": db.get("PORT") or 5432,
            "user": db.get("USER") or "postgres",
            "dbname": "postgres",
        }
        if db.get("PASSWORD"):
            self._admin["password"] = db["PASSWORD"]
        auth = db.get("USER") or "postgres"
        if db.get("PASSWORD"):
            auth += ":" + db["PASSWORD"]
        database_url = (
            f"postgres://{auth}@{self._admin['host']}:{self._admin['port']}/{self.db_name}"
        )
        env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "PYTEST"))}
        env.update(
            DEBUG="False",
            SECRET_KEY=secrets.token_urlsafe(50),
            TOKEN_ENCRYPTION_KEYS=Fernet.generate_key().decode(),
            ALLOWED_HOSTS="127.0.0.1",
            DATABASE_URL=database_url,
            CACHE_URL=redis_url,
            CACHE_KEY_PREFIX="test-" + secrets.token_hex(6),
            STATIC_ROOT=str(tmp / "static"),
            VENV=sys.prefix,
            BIND="127.0.0.1:0",
            WEB_CONCURRENCY="2",
            GUNICORN_THREADS="8",
            ALIYUN_CLIENT_ID=provider.client_id,
            ALIYUN_CLIENT_SECRET=provider.client_secret,
            ALIYUN_OAUTH_AUTHORIZE_URL=provider.url + "/authorize",
            ALIYUN_OAUTH_TOKEN_URL=provider.url + "/token",
            ALIYUN_OAUTH_REVOKE_URL=provider.url + "/revoke",
            ALIYUN_OAUTH_USERINFO_URL=provider.url + "/userinfo",
            ALIYUN_OAUTH_JWKS_URL=provider.url + "/keys",
            ALIYUN_OAUTH_ISSUER=provider.issuer,
            ALIYUN_OAUTH_ALLOW_HTTP="True",  # the stand-ins speak plain HTTP on loopback
            ALIYUN_CCC_ENDPOINT=ccc.endpoint,
            ALIYUN_CCC_PROTOCOL="http",
            ALIYUN_CCC_INSTANCE_ID="ccc-test",
            ALIYUN_CCC_API_VERSION="2017-07-05",  # the test calls the proxy as the 1.x SDK does
            ALIYUN_CA_BUNDLE="",
        )
        env.pop("DATABASE_URL_TEST", None)
        self.env = env
        self.processes: list[subprocess.Popen] = []
        self.urls: list[str] = []

    def _psql(self, sql: str) -> None:
        with psycopg.connect(**self._admin, autocommit=True) as conn:
            conn.execute(sql)

    def open_connections(self) -> int:
        """How many connections the instances hold open to their database right now."""
        with psycopg.connect(**self._admin, autocommit=True) as conn:
            row = conn.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = %s", (self.db_name,)
            ).fetchone()
        return row[0]

    def manage(self, *args: str) -> subprocess.CompletedProcess:
        return subprocess.run(
            [sys.executable, "manage.py", *args],
            cwd=REPO,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=300,
        )

    def serve(self, step: str) -> subprocess.CompletedProcess:
        """``scripts/serve.sh <step>`` run to its end (the release step)."""
        return subprocess.run(
            ["bash", "scripts/serve.sh", step],
            cwd=REPO,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=300,
        )

    def start(self) -> None:
        self._psql(f'DROP DATABASE IF EXISTS "{self.db_name}"')
        self._psql(f'CREATE DATABASE "{self.db_name}"')
        release = self.serve("release")
        assert release.returncode == 0, release.stdout + release.stderr
        for n in range(2):
            log = open(self.tmp / f"web{n}.log", "w")  # noqa: SIM115 - closed in stop()
            process = subprocess.Popen(
                ["bash", "scripts/serve.sh", "web"],
                cwd=REPO,
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # one process group: gunicorn and its workers
            )
            process.log = log
            self.processes.append(process)
        for n, process in enumerate(self.processes):
            self.urls.append(self._wait_listening(n, process))
        for url in self.urls:
            self._wait_ready(url)

    def _wait_listening(self, n: int, process: subprocess.Popen) -> str:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            text = (self.tmp / f"web{n}.log").read_text()
            match = LISTENING.search(text)
            if match:
                return f"http://127.0.0.1:{match.group(1)}"
            assert process.poll() is None, text
            time.sleep(0.2)
        raise AssertionError("instance did not start: " + (self.tmp / f"web{n}.log").read_text())

    def _wait_ready(self, url: str) -> None:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if requests.get(url + "/readyz", timeout=5).status_code == 200:
                    return
            except requests.ConnectionError:
                pass
            time.sleep(0.2)
        raise AssertionError(f"{url} not ready")

    def log_text(self) -> str:
        return "\n".join((self.tmp / f"web{n}.log").read_text() for n in range(len(self.processes)))

    def stop(self) -> None:
        for process in self.processes:
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
        for process in self.processes:
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()
            process.log.close()
        self._psql(f'DROP DATABASE IF EXISTS "{self.db_name}" WITH (FORCE)')
        client = redis.Redis.from_url(self.env["CACHE_URL"])
        for key in client.scan_iter(match=self.env["CACHE_KEY_PREFIX"] + ":*"):
            client.delete(key)
        client.close()
