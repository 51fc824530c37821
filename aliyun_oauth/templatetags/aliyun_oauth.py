"""``{% load aliyun_oauth %}{% aliyun_linked_account as account %}``: the request user's linked
account in a template."""

from django import template

from aliyun_oauth import services

register = template.Library()


@register.simple_tag(takes_context=True)
def aliyun_linked_account(context):
    """``{% aliyun_linked_account as account %}``: the request user's linked account summary
    (see ``services.account_summary``) or None."""
    request = context.get("request")
    user = getattr(request, "user", None)
    return services.account_summary(user) if user is not None else None
