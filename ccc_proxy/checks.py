"""System checks of the CCC proxy (run by ``manage.py check``, ``runserver``, ``migrate``...)."""

import re

from django.conf import settings
from django.core.checks import Error, register

from ccc_proxy.client import credential_override_variables

_ACTION_RE = re.compile(r"[A-Z][A-Za-z0-9]{0,63}")


@register()
def check_no_credential_override(app_configs, **kwargs):
    """ccc_proxy.E001: ``ALIYUN_ACCESS_KEY_ID``/``ALIYUN_ACCESS_KEY_SECRET`` are in the environment.

    aliyun-python-sdk-core signs with those instead of the agent's STS credentials, so every
    agent's CCC call would run as that account. The proxy also refuses to call at run time.
    """
    names = credential_override_variables()
    if not names:
        return []
    return [
        Error(
            f"{' and '.join(names)} set in the process environment.",
            hint="Unset them: aliyun-python-sdk-core would sign every agent's CCC calls with "
            "them instead of the agent's own credentials.",
            id="ccc_proxy.E001",
        )
    ]


@register()
def check_allowed_actions(app_configs, **kwargs):
    """ccc_proxy.E002: an entry of ``CCC_PROXY_ALLOWED_ACTIONS`` is not an OpenAPI action name."""
    bad = [a for a in settings.CCC_PROXY_ALLOWED_ACTIONS if not _ACTION_RE.fullmatch(a)]
    if not bad:
        return []
    return [
        Error(
            f"CCC_PROXY_ALLOWED_ACTIONS has entries that are not API names: {bad!r}.",
            hint="Use UpperCamel OpenAPI action names such as ListSkillGroupsOfUser.",
            id="ccc_proxy.E002",
        )
    ]
