"""The sandbox's own state: cloud users, OAuth grants and tokens, STS credentials, signing keys.

Nothing outside ``aliyun_sandbox`` imports these; the CRM reaches the sandbox over HTTP only.
Secrets the sandbox *issues* (codes, access and refresh tokens) are kept as SHA-256 hashes; the STS
AccessKeySecret is kept in clear because the sandbox must recompute HMAC signatures with it, as
Alibaba's gateway does.
"""

import hashlib

from django.contrib.auth.hashers import check_password, make_password
from django.db import models
from django.utils import timezone


def token_hash(value: str) -> str:
    """Return the hex SHA-256 of an issued secret (how codes and tokens are looked up)."""
    return hashlib.sha256(value.encode()).hexdigest()


class CloudUser(models.Model):
    """A RAM user of the sandbox's Alibaba Cloud account (e.g. ``edward@crmdemo.onaliyun.com``).

    ``upn`` is the sign-in name; ``uid`` the user id, ``aid`` the owning account id (digits, as
    strings, like Alibaba's id_token claims). ``ccc_user_id`` is the agent's user id in the
    sandbox CCC instance; ``extension`` the agent's softphone extension.
    """

    upn = models.CharField(max_length=128, unique=True)
    display_name = models.CharField(max_length=128)
    password = models.CharField(max_length=128)
    uid = models.CharField(max_length=32, unique=True)
    aid = models.CharField(max_length=32)
    ccc_user_id = models.CharField(max_length=64, blank=True)
    extension = models.CharField(max_length=16, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return self.upn

    def set_password(self, raw: str) -> None:
        self.password = make_password(raw)

    def check_password(self, raw: str) -> bool:
        return check_password(raw, self.password)


class AuthorizationCode(models.Model):
    """A single-use authorization code, bound to client, redirect_uri and PKCE challenge."""

    code_hash = models.CharField(max_length=64, unique=True)
    client_id = models.CharField(max_length=128)
    redirect_uri = models.CharField(max_length=2048)
    user = models.ForeignKey(CloudUser, on_delete=models.CASCADE)
    scope = models.CharField(max_length=512, blank=True)
    nonce = models.CharField(max_length=512, blank=True)
    code_challenge = models.CharField(max_length=128, blank=True)
    code_challenge_method = models.CharField(max_length=8, blank=True)
    offline = models.BooleanField(default=False)
    expires_at = models.DateTimeField()
    used_at = models.DateTimeField(null=True, blank=True)
    # What the code was exchanged for, so that a replayed code can revoke it (RFC 6749 §4.1.2).
    access_token = models.ForeignKey(
        "AccessToken", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    refresh_token = models.ForeignKey(
        "RefreshToken", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )


class RefreshToken(models.Model):
    """An issued refresh_token (hashed). ``refresh_token_id`` is the integer Alibaba returns in
    ``additional_information.refresh_token_id``."""

    token_hash = models.CharField(max_length=64, unique=True)
    client_id = models.CharField(max_length=128)
    user = models.ForeignKey(CloudUser, on_delete=models.CASCADE)
    scope = models.CharField(max_length=512, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField()
    revoked_at = models.DateTimeField(null=True, blank=True)

    @property
    def refresh_token_id(self) -> int:
        return self.pk

    def is_active(self, now=None) -> bool:
        """True while neither expired nor revoked."""
        now = now or timezone.now()
        return self.revoked_at is None and self.expires_at > now


class AccessToken(models.Model):
    """An issued access_token and the STS credentials it encodes.

    The access_token string is base64url(JSON{AccessKeyId, AccessKeySecret, SecurityToken,
    Expiration}); it is stored hashed. The STS triple is stored so that CCC OpenAPI calls signed
    with it can be verified; revoking either this token or its refresh token stops them too.
    """

    token_hash = models.CharField(max_length=64, unique=True)
    client_id = models.CharField(max_length=128)
    user = models.ForeignKey(CloudUser, on_delete=models.CASCADE)
    refresh_token = models.ForeignKey(
        RefreshToken, null=True, blank=True, on_delete=models.CASCADE, related_name="access_tokens"
    )
    scope = models.CharField(max_length=512, blank=True)
    access_key_id = models.CharField(max_length=64, unique=True)
    access_key_secret = models.CharField(max_length=64)
    security_token_hash = models.CharField(max_length=64)
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField()
    revoked_at = models.DateTimeField(null=True, blank=True)

    def is_active(self, now=None) -> bool:
        """True while neither expired nor revoked (itself or through its refresh token)."""
        now = now or timezone.now()
        if self.revoked_at or self.expires_at <= now:
            return False
        return not (self.refresh_token_id and self.refresh_token.revoked_at)


class SigningKey(models.Model):
    """An RS256 key of the sandbox's OIDC provider. The newest active key signs; retired keys
    stay published in the JWKS until ``retired_at + grace``."""

    kid = models.CharField(max_length=64, unique=True)
    private_pem = models.TextField()
    created_at = models.DateTimeField(default=timezone.now)
    retired_at = models.DateTimeField(null=True, blank=True)


class UsedNonce(models.Model):
    """A SignatureNonce already seen by the CCC OpenAPI (replay protection), kept for the
    Timestamp window."""

    nonce = models.CharField(max_length=128, unique=True)
    seen_at = models.DateTimeField(default=timezone.now, db_index=True)


# --- CCC: agents' softphone state and the simulator's calls (owned by the CCC part) -----------


class AgentState(models.Model):
    """What the sandbox's agent server knows of an agent's softphone (one row per cloud user).

    ``status`` is OFFLINE (not registered or signed out), SIGNED_IN (signed in to skill groups,
    not ready), READY, BREAK or WORKING (after-call work, 2.x only) (after CCC 2.x
    ``UserState``, docs/PROTOCOL.md §3). Call states live on :class:`Call`. ``skill_group_ids``
    is a comma-separated list of the groups the agent signed in to; ``last_seen`` is the time of
    the softphone's latest poll (UTC). ``device_id`` is the 2.x workbench (``DeviceId``) that
    signed in last: the only one whose call control is accepted; empty for a 1.x softphone.
    ``break_code`` is the 2.x ``BreakCode`` of the current break.
    """

    OFFLINE, SIGNED_IN, READY, BREAK, WORKING = "OFFLINE", "SIGNED_IN", "READY", "BREAK", "WORKING"
    STATUS_CHOICES = [(s, s) for s in (OFFLINE, SIGNED_IN, READY, BREAK, WORKING)]

    user = models.OneToOneField(CloudUser, on_delete=models.CASCADE, related_name="agent_state")
    status = models.CharField(max_length=16, choices=STATUS_CHOICES, default=OFFLINE)
    skill_group_ids = models.CharField(max_length=512, blank=True)
    changed_at = models.DateTimeField(default=timezone.now)
    last_seen = models.DateTimeField(null=True, blank=True)
    device_id = models.CharField(max_length=128, blank=True)
    break_code = models.CharField(max_length=64, blank=True)


class Call(models.Model):
    """A call of the sandbox CCC instance, rung by the simulator or placed by a softphone.

    ``connid`` identifies the call leg at the agent's softphone and ``contact_id`` the contact
    (the id in call detail records), as in CCC 1.x. ``caller`` is the ANI (caller number) and
    ``callee`` the called number, both as dialled ("anonymous" for a withheld caller number).
    ``state`` goes (QUEUED: an inbound call waiting while the agent is busy ->) RINGING (the
    agent's phone rings, or for outbound the remote party's) -> TALKING (<-> HELD) -> RELEASED.
    For outbound calls ``answer_at`` is when the simulated remote party picks up
    (None: only by hand).
    Timestamps are UTC.
    """

    INBOUND, OUTBOUND = "INBOUND", "OUTBOUND"
    QUEUED, RINGING, TALKING, HELD, RELEASED = "QUEUED", "RINGING", "TALKING", "HELD", "RELEASED"

    connid = models.CharField(max_length=64, unique=True)
    contact_id = models.CharField(max_length=64, unique=True)
    agent = models.ForeignKey(CloudUser, on_delete=models.CASCADE, related_name="calls")
    direction = models.CharField(
        max_length=8, choices=[(INBOUND, "inbound"), (OUTBOUND, "outbound")]
    )
    caller = models.CharField(max_length=32)
    callee = models.CharField(max_length=32)
    skill_group_id = models.CharField(max_length=64, blank=True)
    state = models.CharField(
        max_length=8,
        choices=[(s, s.lower()) for s in (QUEUED, RINGING, TALKING, HELD, RELEASED)],
        default=RINGING,
    )
    # Who ended the call: "agent", "remote", "timeout" (the softphone stopped polling),
    # "signout" (a queued call whose agent signed out), "transfer" (the agent's leg of a
    # blind transfer) or "" (still live).
    released_by = models.CharField(max_length=8, blank=True)
    # The agent's microphone is muted (2.x MuteCall/UnmuteCall).
    muted = models.BooleanField(default=False)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    answer_at = models.DateTimeField(null=True, blank=True)
    answered_at = models.DateTimeField(null=True, blank=True)
    released_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.direction} {self.caller} -> {self.callee} ({self.state})"

    @property
    def is_live(self) -> bool:
        return self.state != self.RELEASED

    @property
    def duration(self) -> int:
        """Talk time in whole seconds (0 when never answered)."""
        if not self.answered_at:
            return 0
        end = self.released_at or timezone.now()
        return max(0, int((end - self.answered_at).total_seconds()))


class AgentDevice(models.Model):
    """A softphone device an agent registered (``AddAgentDevice``/``ModifyAgentDevice``/
    ``ListAgentDevices`` of CCC 2017-07-05). ``login_time`` is UTC."""

    user = models.ForeignKey(CloudUser, on_delete=models.CASCADE, related_name="agent_devices")
    client_ip = models.CharField(max_length=64)
    client_port = models.CharField(max_length=16, blank=True)
    browser_version = models.CharField(max_length=256, blank=True)
    remark = models.CharField(max_length=256, blank=True)
    is_login = models.BooleanField(default=True)
    login_time = models.DateTimeField(default=timezone.now)
