"""Encryption at rest for the tokens this app stores.

Fernet (AES-128-CBC + HMAC-SHA256, https://github.com/fernet/spec) through ``cryptography``'s
``MultiFernet`` over ``settings.TOKEN_ENCRYPTION_KEYS``: the first key encrypts, every key
decrypts, so keys rotate by putting a new key first, running ``manage.py rotate_token_encryption``
and then dropping the old key.
"""

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

from aliyun_oauth.exceptions import AliyunOAuthError


class DecryptionError(AliyunOAuthError):
    """A stored value cannot be decrypted with any configured key (a key was removed too early)."""


_UNREADABLE = "The stored Alibaba Cloud tokens cannot be read with the configured keys."


def _multi_fernet() -> MultiFernet:
    """Build the MultiFernet from the settings, read at call time.

    Raises ImproperlyConfigured when no key is set or a key is not a valid Fernet key.
    """
    keys = [k.strip() for k in settings.TOKEN_ENCRYPTION_KEYS if k and k.strip()]
    if not keys:
        raise ImproperlyConfigured("TOKEN_ENCRYPTION_KEYS is empty.")
    try:
        return MultiFernet([Fernet(k) for k in keys])
    except (ValueError, TypeError) as exc:
        raise ImproperlyConfigured("TOKEN_ENCRYPTION_KEYS holds an invalid Fernet key.") from exc


def encrypt(value: str) -> str:
    """Encrypt ``value`` with the first key; returns the Fernet token as text ("" stays "")."""
    if not value:
        return ""
    return _multi_fernet().encrypt(value.encode()).decode()


def decrypt(ciphertext: str) -> str:
    """Decrypt a value made by :func:`encrypt` with any configured key ("" stays "").

    Raises DecryptionError when no configured key opens it.
    """
    if not ciphertext:
        return ""
    try:
        return _multi_fernet().decrypt(ciphertext.encode()).decode()
    except InvalidToken as exc:
        raise DecryptionError(_UNREADABLE) from exc


def rotate(ciphertext: str) -> str:
    """Re-encrypt ``ciphertext`` with the first key (MultiFernet.rotate); "" stays "".

    Raises DecryptionError when no configured key opens it.
    """
    if not ciphertext:
        return ""
    try:
        return _multi_fernet().rotate(ciphertext.encode()).decode()
    except InvalidToken as exc:
        raise DecryptionError(_UNREADABLE) from exc
