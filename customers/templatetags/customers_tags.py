"""Template tags of the customers pages."""

from django import template

from customers.phones import InvalidPhoneNumber, normalize_phone

register = template.Library()


@register.inclusion_tag("customers/_phone.html")
def phone(number):
    """Render one phone number as ``<span class="phone" data-number="E.164">as typed</span>``.

    ``number`` is a ``PhoneNumber`` row or a string. Every phone number on the pages goes through
    this tag (``{% phone p %}``), so the workbench can turn them all into click-to-dial links.
    """
    raw = getattr(number, "raw", number)
    key = getattr(number, "normalized", None)
    if key is None:
        try:
            key = normalize_phone(raw)
        except InvalidPhoneNumber:
            key = ""
    return {"raw": raw, "key": key}
