"""Thin views: parse the request, call one service, render."""

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from aliyun_oauth import client, services
from aliyun_oauth.services import AliyunOAuthError, OAuthUpstreamError, RefreshUnavailable

# The authorization response fields (RFC 6749 §4.1.2, §4.1.2.1; RFC 9207 §2 ``iss``).
CALLBACK_FIELDS = ("code", "state", "iss", "error", "error_description", "error_uri")


def _redirect_uri(request) -> str:
    return settings.ALIYUN_OAUTH_REDIRECT_URI or request.build_absolute_uri(
        reverse("aliyun_oauth:callback")
    )


def _failure(request, message: str, status: int):
    context = {"message": message, "provider": client.provider_name()}
    return render(request, "aliyun_oauth/failure.html", context, status=status)


@never_cache
@login_required
@require_GET
def authorize(request):
    """GET /aliyun/auth: redirect to the provider's sign-in ("Retrieval Aliyun Token")."""
    try:
        url = services.start_authorization(request.session, _redirect_uri(request))
    except AliyunOAuthError as exc:
        return _failure(request, str(exc), 502)
    return redirect(url)


@csrf_exempt  # the single-use, session-bound state is this endpoint's CSRF defence
@never_cache
@require_http_methods(["GET", "POST"])
def callback(request):
    """GET/POST /aliyun/auth/callback: the provider's authorization response.

    The provider's form_post is a cross-site POST, so the browser leaves out the SameSite=Lax
    session cookie. Such a POST gets a tiny same-origin page that re-posts the same fields here
    (``?resubmit=1``): that second POST is same-site, carries the session, and the state is then
    checked against the pending authorizations of *this* browser's session.
    """
    data = request.POST if request.method == "POST" else request.GET
    params = {name: data[name] for name in CALLBACK_FIELDS if name in data}
    if (
        request.method == "POST"
        and "resubmit" not in request.GET
        and settings.SESSION_COOKIE_NAME not in request.COOKIES
    ):
        action = reverse("aliyun_oauth:callback") + "?resubmit=1"
        return render(request, "aliyun_oauth/resubmit.html", {"params": params, "action": action})
    if not request.user.is_authenticated:
        return _failure(request, _("Sign in to the CRM first, then link your account again."), 403)
    try:
        result = services.complete_authorization(request.user, request.session, params)
    except OAuthUpstreamError as exc:
        return _failure(request, str(exc), 502)
    except AliyunOAuthError as exc:
        return _failure(request, str(exc), 400)
    provider = {"provider": client.provider_name()}
    if result.notices:
        messages.warning(
            request,
            _("Your %(provider)s account is linked, with limits.") % provider
            + " "
            + " ".join(result.notices),
        )
    else:
        messages.success(request, _("Your %(provider)s account is linked.") % provider)
    return redirect("home")


def _back(request):
    """Back to the form's ``next`` (a local URL, e.g. the console showing the profile page), else
    the home page."""
    target = request.POST.get("next", "")
    if target.startswith("/") and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return redirect(target)
    return redirect("home")


@login_required
@require_POST
def refresh(request):
    """POST /aliyun/refresh: "Refresh Aliyun Token"."""
    try:
        services.refresh_now(request.user)
    except RefreshUnavailable as exc:
        messages.warning(request, str(exc))
    except AliyunOAuthError as exc:
        messages.error(request, str(exc))
    else:
        messages.success(
            request,
            _("Your %(provider)s token was refreshed.") % {"provider": client.provider_name()},
        )
    return _back(request)


@login_required
@require_POST
def revoke(request):
    """POST /aliyun/revoke: "Revoke Aliyun Token" (upstream best effort, local row always)."""
    try:
        outcome = services.revoke_account(request.user)
    except AliyunOAuthError as exc:
        messages.error(request, str(exc))
    else:
        (messages.success if outcome.upstream_revoked else messages.warning)(
            request, outcome.message
        )
    return _back(request)
