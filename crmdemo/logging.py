"""Logging filters for the project.

``RedactSecrets`` hides the values of credential-bearing URL/form parameters in any log message:
the CCC OpenAPI's RPC query (``SecurityToken``, ``Signature``, ``AccessKeyId``, ``BearerToken``;
docs/PROTOCOL.md §4) and OAuth 2.0 parameters (``code``, ``state``, ``code_verifier``, tokens,
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
    """A handler filter that rewrites each record's message, exception text and stack through
    :func:`redact`; never drops a record. An exception's text (``str(exc)``, e.g. a requests
    error naming a signed URL) and its traceback's source lines can carry credentials too."""

    _formatter = logging.Formatter()

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except (TypeError, ValueError):  # a malformed record: leave it as it is
            message = None
        if message is not None:
            cleaned = redact(message)
            if cleaned != message:
                record.msg, record.args = cleaned, ()
        if record.exc_info and not record.exc_text:
            # Formatters reuse exc_text when it is set: format the traceback once, redacted.
            record.exc_text = self._formatter.formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact(record.exc_text)
        if record.stack_info:
            record.stack_info = redact(record.stack_info)
        return True


class QuietPaths(logging.Filter):
    """A filter for the access log (``django.server``) that moves requests to the given path
    prefixes (pollers that ask every second) from INFO down to DEBUG, so that the log shows one
    line per request a developer cares about."""

    def __init__(self, prefixes=()):
        super().__init__()
        self.prefixes = tuple(prefixes)

    def filter(self, record: logging.LogRecord) -> bool:
        if not self.prefixes or record.levelno != logging.INFO or not record.args:
            return True
        request_line = str(record.args[0])  # '"GET /path?query HTTP/1.1" 200 12'
        path = request_line.split(" ")[1] if request_line.count(" ") >= 2 else ""
        if not path.startswith(self.prefixes):
            return True
        record.levelno, record.levelname = logging.DEBUG, "DEBUG"
        return logging.getLogger(record.name).isEnabledFor(logging.DEBUG)
