"""Control characters in text: found, shown escaped, refused before anything reaches the database.

PostgreSQL refuses NUL in text ("text fields cannot contain NUL"), and SQLite cuts a LIKE pattern
at it, so a stray ``%00`` in a search or a CSV cell must never become a query. "Control
character" is Unicode category ``Cc`` (C0, DEL and C1; https://www.unicode.org/reports/tr44/).

The bidirectional embedding, override and isolate controls (U+202A-U+202E, U+2066-U+2069; UAX #9,
https://www.unicode.org/reports/tr9/#Explicit_Directional_Embeddings) count as control characters
too: they make a name display in another order than it is stored ("\u202eevil" shows as "live").
The marks U+200E/U+200F stay allowed: they only set the direction of neutral characters next to
them, Arabic and Hebrew text legitimately holds them, and the pages display every free text
isolated (``dir="auto"``), so a mark cannot reorder anything around it.
"""

import unicodedata

from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

# Line breaks and tabs are text in multi-line fields (notes), and nowhere else.
MULTILINE_ALLOWED = "\t\n\r"
# LRE, RLE, PDF, LRO, RLO and LRI, RLI, FSI, PDI.
BIDI_CONTROLS = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")


def is_control_character(c: str) -> bool:
    """True for a ``Cc`` character or a bidirectional embedding/override/isolate control."""
    return unicodedata.category(c) == "Cc" or c in BIDI_CONTROLS


def has_control_characters(text: str, *, allow: str = "") -> bool:
    """True when ``text`` holds a control character (see :func:`is_control_character`) other
    than those in ``allow``."""
    return any(is_control_character(c) and c not in allow for c in text)


def strip_bidi_controls(text: str) -> str:
    """``text`` without its bidirectional embedding/override/isolate controls."""
    return "".join(c for c in text if c not in BIDI_CONTROLS)


def printable(text: str) -> str:
    """``text`` with each control character written as an escape (``"a\\x00b"``,
    ``"\\u202eevil"``), for messages."""
    return "".join(
        c.encode("unicode_escape").decode("ascii") if is_control_character(c) else c for c in text
    )


def validate_single_line(value: str) -> None:
    """Model validator: raise ``ValidationError`` (code ``control_characters``) on any ``Cc``."""
    if has_control_characters(value):
        raise ValidationError(
            _("“%(value)s” contains control characters; remove them."),
            code="control_characters",
            params={"value": printable(value)},
        )


def validate_multiline(value: str) -> None:
    """As :func:`validate_single_line`, but tabs and line breaks are allowed."""
    if has_control_characters(value, allow=MULTILINE_ALLOWED):
        raise ValidationError(
            _(
                "This text contains control characters (or text-direction controls) other than "
                "tabs and line breaks; remove them."
            ),
            code="control_characters",
        )
