"""The errors this app raises. Every message is safe to show to the agent: no token, code or
secret ever goes into one."""


class AliyunOAuthError(Exception):
    """Base class: something about the agent's Alibaba Cloud link failed.

    ``str(exc)`` is a readable sentence for the agent.
    """


class NotLinked(AliyunOAuthError):
    """The user has no linked Alibaba Cloud account."""


class RelinkRequired(NotLinked):
    """The provider refused the stored refresh_token (``invalid_grant``); the link was removed."""


class OAuthUpstreamError(AliyunOAuthError):
    """The provider is unreachable, timed out, answered 5xx or an unreadable body, or the
    provider settings are unusable."""


class TokenRequestRejected(AliyunOAuthError):
    """The provider answered an OAuth error (RFC 6749 §5.2), e.g. a replayed code.

    ``error`` is the OAuth error code, ``description`` the provider's ``error_description``
    (may be empty) and ``status_code`` the HTTP status.
    """

    def __init__(self, error: str, description: str = "", status_code: int = 400):
        self.error = error
        self.description = description
        self.status_code = status_code
        text = f"Alibaba Cloud refused the request ({error})"
        super().__init__(f"{text}: {description}" if description else f"{text}.")


class InvalidGrant(TokenRequestRejected):
    """``invalid_grant``: the code or refresh_token is invalid, expired, used or revoked."""


class AuthorizationFailed(AliyunOAuthError):
    """The authorization response cannot be accepted (provider error, bad state, ...)."""


class IdTokenInvalid(AuthorizationFailed):
    """The id_token failed verification (signature, alg, iss, aud, exp, iat or nonce)."""
