"""The sandbox provider's RS256 signing keys: generated locally, kept in the database, rotated.

Keys live in ``SigningKey`` rows so that they survive restarts and are shared by every process
(nothing is cached in process memory). The newest key without ``retired_at`` signs; a retired key
stays published in the JWKS (RFC 7517) for ``settings.SANDBOX_KEY_GRACE_PERIOD`` seconds after its
retirement, so id_tokens it signed still verify while clients refresh their cached JWKS.

Protocol sources: RFC 7517 (JWK, JWK Set), RFC 7518 §6.3 (RSA keys), OpenID Connect Core 1.0 §10.1
(signing key rotation), Alibaba Cloud RAM doc 93698 (id_token RS256 with ``kid``).
"""

import secrets
from datetime import timedelta

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from jwt.algorithms import RSAAlgorithm

from aliyun_sandbox.models import SigningKey
from aliyun_sandbox.router import SANDBOX_DB

KEY_SIZE = 2048  # bits


def _new_key_row() -> SigningKey:
    private_key = rsa.generate_private_key(public_exponent=65537, key_size=KEY_SIZE)
    pem = private_key.private_bytes(
        encoding=serialization.Encoding.PEM,
        format=serialization.PrivateFormat.PKCS8,
        encryption_algorithm=serialization.NoEncryption(),
    ).decode()
    return SigningKey.objects.create(kid=secrets.token_hex(8), private_pem=pem)


def current_signing_key() -> SigningKey:
    """Return the key that signs now (the newest unretired one), generating an RSA 2048 key on
    first use."""
    key = SigningKey.objects.filter(retired_at__isnull=True).order_by("-created_at", "-pk").first()
    if key is None:
        # Two processes racing here may each create a key: both are published, the newest signs.
        key = _new_key_row()
    return key


def rotate_signing_key() -> tuple[SigningKey, list[SigningKey]]:
    """Generate a new signing key and retire every other unretired key (now, UTC).

    Returns ``(new_key, retired_keys)``. Retired keys stay in the JWKS for
    ``settings.SANDBOX_KEY_GRACE_PERIOD`` seconds; keys whose grace period is over are deleted.
    """
    now = timezone.now()
    with transaction.atomic(using=SANDBOX_DB):
        retiring = list(SigningKey.objects.select_for_update().filter(retired_at__isnull=True))
        SigningKey.objects.filter(pk__in=[k.pk for k in retiring]).update(retired_at=now)
        SigningKey.objects.filter(retired_at__lt=now - _grace()).delete()
        new_key = _new_key_row()
    return new_key, retiring


def _grace() -> timedelta:
    return timedelta(seconds=settings.SANDBOX_KEY_GRACE_PERIOD)


def published_keys() -> list[SigningKey]:
    """Keys whose public half is in the JWKS: unretired ones and those still in their grace
    period, newest first."""
    cutoff = timezone.now() - _grace()
    return list(
        SigningKey.objects.filter(Q(retired_at__isnull=True) | Q(retired_at__gt=cutoff)).order_by(
            "-created_at", "-pk"
        )
    )


def _private_key(key: SigningKey):
    # The key was generated here by `cryptography` and read back from our own database, so the
    # RSA consistency check (about 50 ms per load, benchmarks/sandbox_oauth.py) is skipped.
    return serialization.load_pem_private_key(
        key.private_pem.encode(), password=None, unsafe_skip_rsa_key_validation=True
    )


def public_jwk(key: SigningKey) -> dict:
    """The public JWK of ``key``:
    ``{"kty": "RSA", "kid", "use": "sig", "alg": "RS256", "n", "e"}``."""
    jwk = RSAAlgorithm.to_jwk(_private_key(key).public_key(), as_dict=True)
    jwk.pop("key_ops", None)  # RFC 7517 §4.3: not together with "use"
    return {**jwk, "kid": key.kid, "use": "sig", "alg": "RS256"}


def jwks() -> dict:
    """The JWK Set document served at ``/v1/keys``: ``{"keys": [jwk, ...]}`` (RFC 7517 §5)."""
    current_signing_key()  # a fresh sandbox publishes a key before it has signed anything
    return {"keys": [public_jwk(k) for k in published_keys()]}


def sign_jwt(claims: dict) -> str:
    """Sign ``claims`` as a compact RS256 JWS with the current key's ``kid`` in the header."""
    key = current_signing_key()
    return jwt.encode(claims, _private_key(key), algorithm="RS256", headers={"kid": key.kid})
