"""The Content-Security-Policy middleware: django-csp's, plus the sandbox's origin in
``connect-src`` while the sandbox is on (its softphone stand-in polls the sandbox's agent server,
another site). Read per request, as every setting is, so tests can move the sandbox."""

from urllib.parse import urlsplit

from csp.middleware import CSPMiddleware as BaseCSPMiddleware
from django.conf import settings


class CSPMiddleware(BaseCSPMiddleware):
    """``csp.middleware.CSPMiddleware`` adding ``SANDBOX_BASE_URL``'s origin to ``connect-src``
    when ``SANDBOX_ENABLED``."""

    def get_policy_parts(self, request, response, report_only=False):
        parts = super().get_policy_parts(request, response, report_only)
        if settings.SANDBOX_ENABLED and not report_only:
            url = urlsplit(settings.SANDBOX_BASE_URL)
            update = dict(parts.update or {})
            update["connect-src"] = [*update.get("connect-src", []), f"{url.scheme}://{url.netloc}"]
            parts.update = update
        return parts
