"""aliyun_oauth: the OAuth 2.0 / OpenID Connect client to Alibaba Cloud (or any OIDC provider).

Public face for other apps (``aliyun_oauth.services``): ``get_valid_token(user,
rejected_token=None) -> ValidToken`` and ``account_summary(user)``, with the exceptions
``NotLinked``, ``RelinkRequired``, ``OAuthUpstreamError`` (all ``AliyunOAuthError``). Pages:
``aliyun_oauth:authorize`` (/aliyun/auth), ``:callback`` (/aliyun/auth/callback), ``:refresh``
and ``:revoke`` (POST, back to a local ``next``); ``client.provider_name()`` names the provider.
The account is shown on the workbench's profile page (``workbench.views.profile``).

The provider's ``response_mode=form_post`` answer is a cross-site POST that carries no
SameSite=Lax session cookie: the CSRF-exempt callback answers it with a tiny same-origin page
that re-posts the fields, and only that same-site request (with the session) is checked against
the session's pending authorizations (state → code_verifier, nonce; single use, expiring).
"""
