"""Time the sandbox OAuth provider's hot paths in-process and print the figures.

    .venv/bin/python benchmarks/sandbox_oauth.py [rounds]

Uses a throw-away SQLite database in a temporary folder (fast password hashing, like the tests).
Prints milliseconds per operation for: loading a stored signing key (with and without the RSA
consistency check the provider skips), signing an id_token, serving the JWKS, and a full
authorization_code exchange and refresh through Django's request handling.
"""

import os
import shutil
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlencode

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
TMP = tempfile.mkdtemp(prefix="sandbox-oauth-bench-")
os.environ["DATABASE_URL"] = f"sqlite:///{TMP}/bench.sqlite3"
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "crmdemo.settings")

import django  # noqa: E402

django.setup()

from cryptography.hazmat.primitives import serialization  # noqa: E402
from django.conf import settings  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.http import QueryDict  # noqa: E402
from django.test import Client  # noqa: E402

from aliyun_sandbox.models import CloudUser  # noqa: E402
from aliyun_sandbox.oauth import keys  # noqa: E402
from aliyun_sandbox.oauth import provider as oauth  # noqa: E402


def per_op(label: str, fn, rounds: int) -> None:
    fn()  # warm up
    start = time.perf_counter()
    for _ in range(rounds):
        fn()
    ms = (time.perf_counter() - start) / rounds * 1000
    print(f"{label:<48} {ms:9.2f} ms/op  ({rounds} rounds)")


def main(rounds: int) -> None:
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    settings.SANDBOX_ENABLED = True
    settings.SANDBOX_REDIRECT_URIS = ["http://127.0.0.1/aliyun/auth/callback"]
    settings.ALLOWED_HOSTS = ["*"]
    call_command("migrate", verbosity=0)
    call_command("migrate", database="sandbox", verbosity=0)
    call_command("sandbox_seed", stdout=open(os.devnull, "w"))  # noqa: SIM115
    user = CloudUser.objects.get(upn="edward@crmdemo.onaliyun.com")
    key = keys.current_signing_key()
    pem = key.private_pem.encode()

    per_op(
        "load signing key, RSA check (not used)",
        lambda: serialization.load_pem_private_key(pem, password=None),
        max(3, rounds // 20),
    )
    per_op("load signing key, check skipped (used)", lambda: keys._private_key(key), rounds)
    per_op("sign an id_token", lambda: keys.sign_jwt({"sub": "1", "aud": "x"}), rounds)
    per_op("JWKS document (1 key)", keys.jwks, rounds)

    client = Client()
    secret = settings.SANDBOX_CLIENT_SECRET
    auth_query = QueryDict(
        urlencode(
            {
                "client_id": settings.SANDBOX_CLIENT_ID,
                "redirect_uri": settings.SANDBOX_REDIRECT_URIS[0],
                "response_type": "code",
                "access_type": "offline",
            }
        )
    )
    refresh = {}

    def post_form(data):
        return client.post(
            "/sandbox/oauth/v1/token",
            urlencode(data),
            content_type="application/x-www-form-urlencoded",
        )

    def exchange():
        request = oauth.parse_authorize_request(auth_query)
        code = oauth.approve(request, user).params["code"]
        r = post_form(
            {
                "grant_type": "authorization_code",
                "code": code,
                "redirect_uri": request.redirect_uri,
                "client_id": settings.SANDBOX_CLIENT_ID,
                "client_secret": secret,
            },
        )
        assert r.status_code == 200, r.content
        refresh["token"] = r.json()["refresh_token"]

    def refresh_once():
        r = post_form(
            {
                "grant_type": "refresh_token",
                "refresh_token": refresh["token"],
                "client_id": settings.SANDBOX_CLIENT_ID,
                "client_secret": secret,
            },
        )
        assert r.status_code == 200, r.content

    per_op("code issue + exchange over the token endpoint", exchange, rounds)
    per_op("refresh over the token endpoint", refresh_once, rounds)


if __name__ == "__main__":
    try:
        main(int(sys.argv[1]) if len(sys.argv) > 1 else 100)
    finally:
        shutil.rmtree(TMP, ignore_errors=True)
