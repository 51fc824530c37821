"""Control characters in text: found, shown escaped, refused before anything reaches the database.

PostgreSQL refuses NUL in text ("text fields cannot contain NUL"), and SQLite cuts a LIKE pattern
at it, so a stray ``%00`` in a search or a CSV cell must never become a query. "Control
character" is Unicode category ``Cc`` (C0, DEL and C1; https://www.unicode.org/reports/tr44/).
"""

import unicodedata

from django.core.exceptions import ValidationError

# Line breaks and tabs are text in multi-line fields (notes), and nowhere else.
MULTILINE_ALLOWED = "\t\n\r"


def has_control_characters(text: str, *, allow: str = "") -> bool:
    """True when ``text`` holds a control character other than those in ``allow``."""
    return any(unicodedata.category(c) == "Cc" and c not in allow for c in text)


def printable(text: str) -> str:
    """``text`` with each control character written as an escape (``"a\\x00b"``), for messages."""
    return "".join(
        c.encode("unicode_escape").decode("ascii") if unicodedata.category(c) == "Cc" else c
        for c in text
    )


def validate_single_line(value: str) -> None:
    """Model validator: raise ``ValidationError`` (code ``control_characters``) on any ``Cc``."""
    if has_control_characters(value):
        raise ValidationError(
            "“%(value)s” contains control characters; remove them.",
            code="control_characters",
            params={"value": printable(value)},
        )


def validate_multiline(value: str) -> None:
    """As :func:`validate_single_line`, but tabs and line breaks are allowed."""
    if has_control_characters(value, allow=MULTILINE_ALLOWED):
        raise ValidationError(
            "This text contains control characters other than tabs and line breaks; remove them.",
            code="control_characters",
        )
