"""Template tags of the customers pages."""

from django import template
from django.utils.html import format_html

from customers.phones import InvalidPhoneNumber, dial_string, display_phone, normalize_phone

register = template.Library()


def phone_parts(number) -> dict:
    """``{"raw", "key", "dial", "display"}`` of a ``PhoneNumber`` row or a string: as typed, the
    normalized key ("" when none), the dial string ("" when none) and the display form
    (:func:`customers.phones.display_phone`). Every part is cached per number and region."""
    raw = getattr(number, "raw", number)
    raw = "" if raw is None else str(raw)
    key = getattr(number, "normalized", None)
    if key is None:
        try:
            key = normalize_phone(raw)
        except InvalidPhoneNumber:
            key = ""
    return {
        "raw": raw,
        "key": key,
        "dial": dial_string(key) if key else "",
        "display": display_phone(raw),
    }


@register.simple_tag
def phone(number):
    """Render one phone number as ``<span class="phone" dir="ltr" data-number="E.164"
    data-dial="..." title="as typed">display</span>``; ``data-dial`` is what the softphone dials
    (:func:`customers.phones.dial_string`), the text the display form
    (:func:`customers.phones.display_phone`), ``title`` the number as typed when that differs.

    ``number`` is a ``PhoneNumber`` row or a string. Every phone number on the pages goes through
    this tag (``{% phone p %}``), so the workbench can turn them all into click-to-dial links.
    A number that cannot be read is shown as typed, isolated (``dir="auto"``) so that
    right-to-left text in it cannot reorder the line around it.
    """
    parts = phone_parts(number)
    # format_html escapes every value; a plain template per number cost more than the number.
    return format_html(
        '<span class="phone" dir="{}" data-number="{}"{}{}>{}</span>',
        "ltr" if parts["key"] else "auto",
        parts["key"],
        format_html(' data-dial="{}"', parts["dial"]) if parts["dial"] else "",
        format_html(' title="{}"', parts["raw"])
        if parts["raw"].strip() != parts["display"]
        else "",
        parts["display"],
    )
