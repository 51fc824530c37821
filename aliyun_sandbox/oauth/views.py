"""HTTP face of the sandbox's OAuth 2.0 / OIDC provider (logic in
``aliyun_sandbox.oauth.provider``).

Paths mirror Alibaba Cloud's two hosts: ``/sandbox/signin/oauth2/v1/auth`` (signin.aliyun.com)
and ``/sandbox/oauth/v1/{token,revoke,userinfo,keys}``,
``/sandbox/oauth/.well-known/openid-configuration`` (oauth.aliyun.com).
Every view answers 404 unless ``settings.SANDBOX_ENABLED`` (read per request).
"""

import functools

from django.conf import settings
from django.http import Http404, HttpResponseRedirect, JsonResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt, csrf_protect
from django.views.decorators.http import require_http_methods, require_safe

from aliyun_sandbox.oauth import keys
from aliyun_sandbox.oauth import provider as oauth
from aliyun_sandbox.oauth.users import demo_hints
from aliyun_sandbox.request_parsing import UnreadableRequest, query_and_form

NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}


def sandbox_only(view):
    """404 unless ``settings.SANDBOX_ENABLED`` at request time."""

    @functools.wraps(view)
    def wrapper(request, *args, **kwargs):
        if not settings.SANDBOX_ENABLED:
            raise Http404("The Alibaba Cloud sandbox is disabled.")
        return view(request, *args, **kwargs)

    return wrapper


def _error(exc: oauth.OAuthError) -> JsonResponse:
    return JsonResponse(exc.body(), status=exc.status, headers={**NO_STORE, **exc.headers})


def _read(request):
    """``(query, form)`` of the request, or an ``invalid_request`` OAuthError when Django
    refuses to parse them (see ``request_parsing``)."""
    try:
        return query_and_form(request)
    except UnreadableRequest as exc:
        raise oauth.OAuthError("invalid_request", str(exc)) from None


def _post_only(request):
    if request.method != "POST":
        exc = oauth.OAuthError(
            "invalid_request", "Use POST.", status=405, headers={"Allow": "POST"}
        )
        return _error(exc)
    return None


# --- signin.aliyun.com -------------------------------------------------------------------------


def _error_page(request, error: str, message: str, status: int):
    context = {"error": error, "message": message}
    return render(request, "aliyun_sandbox/signin_error.html", context, status=status)


def _readable(view):
    """Parse the query and form before the CSRF check reads them: Django's refusals (too many
    fields, too large) are shown on the sign-in site's error page (see ``request_parsing``)."""

    @functools.wraps(view)
    def wrapper(request, *args, **kwargs):
        try:
            query_and_form(request)
        except UnreadableRequest as exc:
            return _error_page(request, "invalid_request", str(exc), exc.status)
        return view(request, *args, **kwargs)

    return wrapper


def _deliver(request, answer: oauth.AuthorizeRedirect):
    if answer.response_mode == "form_post":
        response = render(request, "aliyun_sandbox/form_post.html", {"answer": answer})
    else:
        response = HttpResponseRedirect(answer.location())
    for name, value in NO_STORE.items():
        response.headers[name] = value
    return response


@csrf_exempt  # only so that a disabled sandbox answers 404 before the CSRF check...
@sandbox_only
@require_http_methods(["GET", "POST"])
@_readable
@csrf_protect  # ...which then runs here: every form on these pages carries the CSRF token
@never_cache
def authorize(request):
    """The authorize endpoint: sign-in page, then consent screen, then the answer to the client.

    GET shows the step the browser is at; the forms POST back to the same URL (query kept), with
    ``action`` = ``signin`` | ``allow`` | ``cancel`` | ``switch``. CSRF protection stays on.
    """
    try:
        auth = oauth.parse_authorize_request(request.GET, len(request.get_full_path()))
    except oauth.AuthorizeErrorPage as exc:
        return _error_page(request, exc.error, str(exc), 400)
    except oauth.AuthorizeErrorRedirect as exc:
        return _deliver(request, exc.redirect)

    user = oauth.signed_in_user(request.session)
    action = request.POST.get("action") if request.method == "POST" else None
    error = None
    if action == "cancel":
        return _deliver(request, auth.denied())
    if action == "switch":
        oauth.sign_out(request.session)
        return redirect(request.get_full_path())
    if action == "signin":
        found = oauth.authenticate_cloud_user(
            request.POST.get("username", ""), request.POST.get("password", "")
        )
        if found is not None:
            oauth.sign_in(request.session, found)
            return redirect(request.get_full_path())
        user, error = None, gettext("Wrong user name or password.")
    elif action == "allow" and user is not None:
        return _deliver(request, oauth.approve(auth, user))

    context = {"auth": auth, "action_url": request.get_full_path(), "error": error}
    if user is None:
        context["demo_users"] = demo_hints()
        context["username"] = request.POST.get("username", "")
        return render(request, "aliyun_sandbox/signin.html", context)
    context["cloud_user"] = user
    return render(request, "aliyun_sandbox/consent.html", context)


# --- oauth.aliyun.com --------------------------------------------------------------------------


@csrf_exempt  # a client-authenticated API, not a browser form
@sandbox_only
def token(request):
    """``POST /v1/token``: authorization_code and refresh_token grants (see ``oauth.token``)."""
    if (not_post := _post_only(request)) is not None:
        return not_post
    try:
        query, form = _read(request)
        authorization = request.headers.get("Authorization")
        answer = oauth.token(form, query, request.content_type, authorization)
    except oauth.OAuthError as exc:
        return _error(exc)
    return JsonResponse(answer, headers=NO_STORE)


@csrf_exempt  # a client-authenticated API, not a browser form
@sandbox_only
def revoke(request):
    """``POST /v1/revoke`` (RFC 7009): 200 ``{"request_id"}`` whether or not the token existed."""
    if (not_post := _post_only(request)) is not None:
        return not_post
    try:
        query, form = _read(request)
        oauth.revoke(form, query, request.content_type, request.headers.get("Authorization"))
    except oauth.OAuthError as exc:
        return _error(exc)
    return JsonResponse({"request_id": oauth.new_request_id()}, headers=NO_STORE)


@csrf_exempt  # bearer-authenticated; OIDC Core §5.3.1 allows GET and POST
@sandbox_only
def userinfo(request):
    """``GET /v1/userinfo`` with ``Authorization: Bearer``: ``{"sub","name","upn","aid","uid"}``."""
    if request.method not in ("GET", "POST"):
        exc = oauth.OAuthError(
            "invalid_request", "Use GET.", status=405, headers={"Allow": "GET, POST"}
        )
        return _error(exc)
    try:
        query, _ = _read(request)
        claims = oauth.userinfo(request.headers.get("Authorization"), query)
    except oauth.OAuthError as exc:
        return _error(exc)
    return JsonResponse(claims, headers=NO_STORE)


@csrf_exempt  # read-only: a POST gets 405, not a CSRF page
@sandbox_only
@require_safe
def jwks(request):
    """``GET /v1/keys``: the JWK Set with every published signing key."""
    return JsonResponse(keys.jwks(), headers={"Cache-Control": "public, max-age=300"})


@csrf_exempt  # read-only: a POST gets 405, not a CSRF page
@sandbox_only
@require_safe
def openid_configuration(request):
    """``GET /.well-known/openid-configuration``: OIDC Discovery metadata."""
    return JsonResponse(
        oauth.discovery_document(), headers={"Cache-Control": "public, max-age=300"}
    )


# Requests the project's middleware refuses before any view runs (too many fields, a charset
# other than UTF-8, invalid UTF-8) are answered in each endpoint's own shape.
def _oauth_unreadable(request, message: str, status: int):
    return _error(oauth.OAuthError("invalid_request", message))


def _page_unreadable(request, message: str, status: int):
    return _error_page(request, "invalid_request", message, status)


for _view in (token, revoke, userinfo, jwks, openid_configuration):
    _view.json_api = True
    _view.unreadable_request = _oauth_unreadable
authorize.unreadable_request = _page_unreadable
