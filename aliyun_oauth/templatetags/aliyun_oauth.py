"""``{% load aliyun_oauth %}{% aliyun_account_block %}``: the home page's "Aliyun account
information" block."""

from django import template

from aliyun_oauth import services

register = template.Library()


@register.inclusion_tag("aliyun_oauth/account_block.html", takes_context=True)
def aliyun_account_block(context):
    """Render the linked account of ``context["request"].user`` (never a token value)."""
    request = context.get("request")
    user = getattr(request, "user", None)
    return {
        "account": services.account_summary(user) if user is not None else None,
        "csrf_token": context.get("csrf_token"),
    }


@register.simple_tag(takes_context=True)
def aliyun_linked_account(context):
    """``{% aliyun_linked_account as account %}``: the request user's linked account summary
    (see ``services.account_summary``) or None."""
    request = context.get("request")
    user = getattr(request, "user", None)
    return services.account_summary(user) if user is not None else None
