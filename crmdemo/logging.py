"""Logging filters for the project.

``RedactSecrets`` hides the values of credential-bearing URL/form parameters in any log message:
the CCC OpenAPI's RPC query (``SecurityToken``, ``Signature``, ``AccessKeyId``, ``BearerToken``;
PROTOCOL.md §4) and OAuth 2.0 parameters (``code``, ``state``, ``code_verifier``, tokens,
``client_secret``; RFC 6749). The development server's access log (logger ``django.server``) writes
whole request lines, so without it every signed CCC call would put an agent's STS token in the log.
"""

import logging
import re

SECRET_PARAMETERS = (
    "SecurityToken",
    "Signature",
    "AccessKeyId",
    "BearerToken",
    "code",
    "state",
    "code_verifier",
    "access_token",
    "refresh_token",
    "id_token",
    "token",
    "client_secret",
    "password",
)

_PATTERN = re.compile(
    r"(?P<key>(?<![A-Za-z0-9_])(?:" + "|".join(SECRET_PARAMETERS) + r"))=(?P<value>[^&\s\"']+)",
    re.IGNORECASE,
)


def redact(text: str) -> str:
    """Return ``text`` with each ``name=value`` secret parameter's value replaced by ``***``."""
    return _PATTERN.sub(lambda m: f"{m.group('key')}=***", text)


class RedactSecrets(logging.Filter):
    """A handler filter that rewrites each record's message through :func:`redact`; never drops
    a record."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except (TypeError, ValueError):  # a malformed record: leave it as it is
            return True
        cleaned = redact(message)
        if cleaned != message:
            record.msg, record.args = cleaned, ()
        return True
