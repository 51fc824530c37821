"""Signing keys (kept in the database, rotated with a grace period) and the demo cloud users."""

import io

import jwt
import pytest
import requests
from django.core.management import call_command

from aliyun_sandbox.models import CloudUser, SigningKey


def jwks(sandbox):
    r = requests.get(f"{sandbox.oauth_url}/v1/keys", timeout=10)
    assert r.status_code == 200
    return r.json()["keys"]


def verify(sandbox, id_token):
    client = jwt.PyJWKClient(f"{sandbox.oauth_url}/v1/keys", cache_jwk_set=False)
    key = client.get_signing_key_from_jwt(id_token)
    return jwt.decode(
        id_token,
        key.key,
        algorithms=["RS256"],
        audience=sandbox.client_id,
        issuer=sandbox.oauth_url,
    )


def test_first_key_is_generated_on_use_and_kept_in_the_database(sandbox):
    assert not SigningKey.objects.exists()
    (key,) = jwks(sandbox)
    assert key["kty"] == "RSA" and key["alg"] == "RS256" and key["use"] == "sig"
    assert set(key) == {"kty", "kid", "use", "alg", "n", "e"}  # never the private half
    row = SigningKey.objects.get()
    assert row.kid == key["kid"]
    # A later request (or another process, after a restart) reads the same key back.
    assert [k["kid"] for k in jwks(sandbox)] == [row.kid]
    assert jwt.algorithms.RSAAlgorithm.from_jwk(key).key_size == 2048


def test_rotation_keeps_old_id_tokens_verifiable(sandbox, token_for):
    old = token_for()["id_token"]
    old_kid = jwt.get_unverified_header(old)["kid"]
    out = io.StringIO()
    call_command("sandbox_rotate_key", stdout=out)
    assert f"Retired kid={old_kid}" in out.getvalue()

    new = token_for()["id_token"]
    new_kid = jwt.get_unverified_header(new)["kid"]
    assert new_kid != old_kid
    assert [k["kid"] for k in jwks(sandbox)] == [new_kid, old_kid]
    assert verify(sandbox, old)["upn"] == "edward@crmdemo.onaliyun.com"
    assert verify(sandbox, new)["upn"] == "edward@crmdemo.onaliyun.com"


def test_retired_key_leaves_the_jwks_after_the_grace_period(sandbox, token_for, settings):
    old = token_for()["id_token"]
    settings.SANDBOX_KEY_GRACE_PERIOD = 0
    call_command("sandbox_rotate_key", stdout=io.StringIO())
    assert len(jwks(sandbox)) == 1
    with pytest.raises(jwt.PyJWKClientError):
        verify(sandbox, old)
    call_command("sandbox_rotate_key", stdout=io.StringIO())
    assert SigningKey.objects.count() == 2  # keys past their grace period are deleted


def test_sandbox_seed_is_idempotent(settings, db):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    out = io.StringIO()
    call_command("sandbox_seed", stdout=out)
    assert out.getvalue().count("created") == 2
    before = {u.upn: (u.password, u.uid, u.aid) for u in CloudUser.objects.all()}
    out = io.StringIO()
    call_command("sandbox_seed", stdout=out)
    assert out.getvalue().count("up to date") == 2
    after = {u.upn: (u.password, u.uid, u.aid) for u in CloudUser.objects.all()}
    assert before == after

    edward = CloudUser.objects.get(upn="edward@crmdemo.onaliyun.com")
    sissi = CloudUser.objects.get(upn="sissi@crmdemo.onaliyun.com")
    assert edward.display_name == "Edward" and edward.check_password("1234")
    assert sissi.check_password("5678") and not sissi.check_password("1234")
    for user in (edward, sissi):
        assert user.uid.isdigit() and user.aid.isdigit()
        assert user.ccc_user_id and user.extension
    assert edward.ccc_user_id != sissi.ccc_user_id and edward.extension != sissi.extension
