"""The errors this app raises. Every message is safe to show to the agent: no token, code or
secret ever goes into one."""

from django.utils.translation import gettext as _


class AliyunOAuthError(Exception):
    """Base class: something about the agent's Alibaba Cloud link failed.

    ``str(exc)`` is a readable sentence for the agent.
    """


class NotLinked(AliyunOAuthError):
    """The user has no linked Alibaba Cloud account."""


class RelinkRequired(NotLinked):
    """The provider refused the stored refresh_token (``invalid_grant``), or the expired link
    has no refresh_token; the link was removed."""


class RefreshUnavailable(AliyunOAuthError):
    """The link has no refresh_token (the provider issued none), so it cannot be refreshed;
    its access token stays usable until it expires, then only a new link helps."""


class OAuthUpstreamError(AliyunOAuthError):
    """The provider is unreachable, timed out, answered 5xx or an unreadable body, or the
    provider settings are unusable."""


class TokenRequestRejected(AliyunOAuthError):
    """The provider answered an OAuth error (RFC 6749 §5.2), e.g. a replayed code.

    ``error`` is the OAuth error code, ``description`` the provider's ``error_description``
    (may be empty) and ``status_code`` the HTTP status.
    """

    def __init__(
        self, error: str, description: str = "", status_code: int = 400, provider: str = ""
    ):
        self.error = error
        self.description = description
        self.status_code = status_code
        values = {"provider": provider or _("Alibaba Cloud"), "error": error}
        if description:
            text = _("%(provider)s refused the request (%(error)s): %(description)s") % {
                **values,
                "description": description,
            }
        else:
            text = _("%(provider)s refused the request (%(error)s).") % values
        super().__init__(text)


class InvalidGrant(TokenRequestRejected):
    """``invalid_grant``: the code or refresh_token is invalid, expired, used or revoked."""


class AuthorizationFailed(AliyunOAuthError):
    """The authorization response cannot be accepted (provider error, bad state, ...)."""


class IdTokenInvalid(AuthorizationFailed):
    """The id_token failed verification (signature, alg, iss, aud, exp, iat or nonce)."""
