"""One linked Alibaba Cloud (OIDC) account per CRM user.

Token values are stored only encrypted (``aliyun_oauth.crypto``); read them through the
properties, which decrypt on access. Other apps never import this module: they call
``aliyun_oauth.services.get_valid_token(user)``.
"""

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from aliyun_oauth import crypto


class LinkedAccount(models.Model):
    """The agent's tokens and display claims.

    ``expires_at`` is the access token's absolute expiry (UTC); ``issued_at`` when the current
    access token was obtained; ``linked_at`` when the account was linked. ``upn`` holds the
    ``upn`` claim (RAM user) or, for a root account, ``login_name``.
    """

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="aliyun_account",
        verbose_name=_("user"),
    )
    access_token_encrypted = models.TextField()
    refresh_token_encrypted = models.TextField(blank=True)
    id_token_encrypted = models.TextField(blank=True)
    token_type = models.CharField(_("token type"), max_length=40)
    scope = models.CharField(_("scope"), max_length=1024, blank=True)
    expires_at = models.DateTimeField(_("expires at"))
    issued_at = models.DateTimeField(_("issued at"), default=timezone.now)
    linked_at = models.DateTimeField(_("linked at"), default=timezone.now)
    subject = models.CharField("sub", max_length=255)  # the OIDC claim's name
    upn = models.CharField(_("Aliyun user name"), max_length=255, blank=True)
    name = models.CharField(_("name"), max_length=255, blank=True)
    aid = models.CharField(_("account id"), max_length=64, blank=True)
    uid = models.CharField(_("user id"), max_length=64, blank=True)

    class Meta:
        verbose_name = _("linked Alibaba Cloud account")
        verbose_name_plural = _("linked Alibaba Cloud accounts")

    def __str__(self) -> str:
        return f"{self.user} → {self.upn or self.subject}"

    @property
    def access_token(self) -> str:
        return crypto.decrypt(self.access_token_encrypted)

    @access_token.setter
    def access_token(self, value: str) -> None:
        self.access_token_encrypted = crypto.encrypt(value)

    @property
    def refresh_token(self) -> str:
        return crypto.decrypt(self.refresh_token_encrypted)

    @refresh_token.setter
    def refresh_token(self, value: str) -> None:
        self.refresh_token_encrypted = crypto.encrypt(value)

    @property
    def id_token(self) -> str:
        return crypto.decrypt(self.id_token_encrypted)

    @id_token.setter
    def id_token(self, value: str) -> None:
        self.id_token_encrypted = crypto.encrypt(value)


class PendingAuthorization(models.Model):
    """The server-side, single-use record of a started authorization.

    The browser binding (state, code_verifier, nonce, redirect_uri) stays in the session, which
    is not atomic across concurrent requests; this row is what makes the state single-use: the
    callback consumes it with one conditional DELETE before the authorization code is exchanged,
    so of several identical callbacks exactly one gets to the token endpoint. ``state_hash`` is
    the hex SHA-256 of the state (the state itself is not stored); ``created_at`` is UTC.
    """

    state_hash = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        verbose_name = _("pending Alibaba Cloud authorization")
        verbose_name_plural = _("pending Alibaba Cloud authorizations")

    def __str__(self) -> str:
        return f"pending authorization {self.state_hash[:8]}… ({self.created_at:%Y-%m-%d %H:%M})"
