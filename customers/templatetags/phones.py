"""``{% load phones %}{{ number|phone_display }}``: a phone number the one way pages show it."""

from django import template

from customers.phones import display_phone

register = template.Library()


@register.filter
def phone_display(number) -> str:
    """``number`` (a ``PhoneNumber`` row or text) as :func:`customers.phones.display_phone`
    shows it: national format in ``PHONE_DEFAULT_REGION``, international otherwise, as typed when
    it cannot be read. Autoescaped like any text."""
    return display_phone(getattr(number, "raw", number))
