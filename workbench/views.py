"""The agent workbench (home page) and the project-wide CSRF failure answer."""

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.http import JsonResponse
from django.middleware.csrf import get_token
from django.shortcuts import render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _

from aliyun_oauth.client import provider_name
from aliyun_oauth.services import account_summary


def _first_page(request) -> str:
    """The frame's first page: the customer list, or the profile page for a user who may not
    view customers (yet)."""
    if request.user.has_perm("customers.view_customer"):
        return reverse("customers:list")
    return reverse("profile")


def _crm_page(request) -> str:
    """The CRM page the console's frame opens: ``?page=/path`` when it is a local path other
    than the console itself, else the first page (``_first_page``)."""
    page = request.GET.get("page", "")
    local = page.startswith("/") and url_has_allowed_host_and_scheme(
        page, allowed_hosts=None, require_https=False
    )
    if not local or page.split("?")[0] == reverse("home"):
        return _first_page(request)
    return page


def _name_words(text: str) -> set[str]:
    """Lower-case words of a name or sign-in name (``edward@crm.onaliyun.com`` -> {"edward",
    "crm", "onaliyun", "com"}), at least two characters each."""
    words = "".join(c if c.isalnum() else " " for c in (text or "").casefold()).split()
    return {w for w in words if len(w) >= 2}


def looks_like_someone_else(user, account: dict | None) -> bool:
    """True when the linked cloud account (``account_summary``) names nobody the CRM user is:
    none of the account's user name (before the ``@``) or display name shares a word with the
    CRM username or the user's first/last name. Unknown (no name at all) is not a mismatch."""
    if not account:
        return False
    cloud = _name_words((account.get("upn") or "").split("@")[0]) | _name_words(account.get("name"))
    if not cloud:
        return False
    crm = _name_words(user.get_username()) | _name_words(user.get_full_name())
    return not any(c in crm or any(c in w or w in c for w in crm) for c in cloud)


@login_required
def profile(request):
    """The agent's profile: the CRM user, the linked Alibaba Cloud account (token times, refresh,
    unlink) and the language. Opened in the workbench's frame from the user menu, so a call goes on.
    Never shows a token value."""
    account = account_summary(request.user)
    return render(
        request,
        "workbench/profile.html",
        {
            "account": account,
            "provider": provider_name(),
            "someone_else": looks_like_someone_else(request.user, account),
        },
    )


@login_required
def home(request):
    """The agent console: the call bar, the caller's context and the CRM pages in a frame.

    The softphone (``new WorkbenchSdk({...})``, docs/PROTOCOL.md §2) lives in this page; CRM pages
    load in a same-origin frame beside it, so opening customers during a call keeps the call and the
    panel. The SDK is mounted only when the agent's Alibaba Cloud account is linked
    (``aliyun_oauth.services.account_summary``); its configuration reaches the page's script as
    JSON (``json_script``), never as generated JavaScript.
    """
    linked = account_summary(request.user) is not None
    can_view_customers = request.user.has_perm("customers.view_customer")
    config = {
        "linked": linked,
        # Names this agent's wrap-up drafts in the browser's storage (several agents may share
        # one browser); not a secret.
        "agent": request.user.get_username(),
        "canViewCustomers": can_view_customers,
        "instanceId": settings.ALIYUN_CCC_INSTANCE_ID,
        "regionId": settings.ALIYUN_CCC_REGION,
        "apiVersion": settings.ALIYUN_CCC_API_VERSION,
        "ajaxPath": reverse("ccc_proxy:api"),
        "ajaxMethod": "post",
        "csrfToken": get_token(request),
        "lookupUrl": reverse("customers:lookup"),
        "callLogUrl": reverse("customers:call_log"),
        "createUrl": reverse("customers:create"),
        "linkUrl": reverse("aliyun_oauth:authorize"),
        "homeUrl": reverse("home"),
        "fallbackUrl": _first_page(request),
        # The page of every customer with a number: this prefix + the URL-encoded number.
        "byPhoneUrl": reverse("customers:by_phone", args=["0"])[:-1],
    }
    context = {
        "linked": linked,
        "provider": provider_name(),
        # Agents see customers (group "Agents"); anyone else gets a message, not a 403 frame.
        "can_view_customers": can_view_customers,
        "crm_page": _crm_page(request),
        "workbench_config": config,
        "sdk_scripts": settings.ALIYUN_SDK_SCRIPT_URLS if linked else [],
        "sdk_css": settings.ALIYUN_SDK_CSS_URLS if linked else [],
    }
    return render(request, "workbench/home.html", context)


def csrf_failure(request, reason: str = ""):
    """``CSRF_FAILURE_VIEW``: JSON 403 for API endpoints, the ``403_csrf.html`` page for pages.

    A view with a ``csrf_failure(request, reason)`` attribute answers in its own error shape (the
    CCC proxy's ``{requestId, errorCode, message}``); any other request that sent or asked for JSON
    gets ``{"error": "CSRF verification failed: <reason>"}``; the rest a readable page (the
    reason, meant for developers, only in the log Django writes).
    """
    match = getattr(request, "resolver_match", None)
    own_answer = getattr(getattr(match, "func", None), "csrf_failure", None)
    if own_answer is not None:
        return own_answer(request, reason)
    if "json" in request.content_type or "json" in request.headers.get("Accept", ""):
        return JsonResponse({"error": _("CSRF verification failed: %s") % reason}, status=403)
    return render(request, "403_csrf.html", status=403)
