"""``manage.py runsslserver``: django-sslserver's command, made to start on any Python 3.

django-sslserver 0.22 wraps its socket with ``ssl.wrap_socket``, which Python 3.12 removed. This
command keeps the package's command line (``--certificate``, ``--key``, ``--static``...) and
replaces only the server class with one that builds an ``ssl.SSLContext``. Without
``--certificate``/``--key`` it uses the project's own certificate, generated on first run in
``settings.DEV_CERT_DIR`` (see ``workbench.devcert``), never the key bundled with the package.
"""

import ssl

from django.conf import settings
from django.contrib.staticfiles.handlers import StaticFilesHandler
from django.core.exceptions import SuspiciousFileOperation
from django.core.handlers.exception import response_for_exception
from django.core.servers.basehttp import ThreadedWSGIServer
from django.http import Http404
from sslserver.management.commands import runsslserver as upstream

from workbench.devcert import ensure_dev_certificate


class ContextSecureHTTPServer(ThreadedWSGIServer):
    """A threaded WSGI server that speaks TLS (1.2+) through an ``ssl.SSLContext``.

    The listening socket stays plain: each connection's TLS handshake runs in that connection's
    own thread, bounded by ``handshake_timeout`` seconds, so a client that connects and never
    starts TLS (or stalls in the middle) holds only its own thread, never the accept loop.
    """

    handshake_timeout = 10.0

    def __init__(self, address, handler_cls, certificate, key, ipv6=False):
        super().__init__(address, handler_cls, ipv6=ipv6)
        self.context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        self.context.minimum_version = ssl.TLSVersion.TLSv1_2
        self.context.load_cert_chain(certfile=certificate, keyfile=key)

    def finish_request(self, request, client_address):
        """Handshake (in the connection's thread), then serve the request over TLS."""
        request.settimeout(self.handshake_timeout)
        try:
            tls = self.context.wrap_socket(request, server_side=True)
        except (OSError, ValueError):  # idle past the timeout, plain HTTP, or a broken client
            request.close()
            return
        try:
            tls.settimeout(None)
            super().finish_request(tls, client_address)
        finally:
            tls.close()  # wrap_socket detached ``request``: closing it would not close this


# upstream.Command.inner_run looks the server class up in its own module at call time.
upstream.SecureHTTPServer = ContextSecureHTTPServer


class SafeStaticFilesHandler(StaticFilesHandler):
    """Django's development static files handler, with a path that leaves the static folders
    (``/static/..%2F..%2Fetc%2Fpasswd``) answered 404 like any missing file. Django's handler
    catches only ``Http404``; the finders raise ``SuspiciousFileOperation`` for such a path,
    which became a 500."""

    def get_response(self, request):
        try:
            return super().get_response(request)
        except SuspiciousFileOperation:
            return response_for_exception(request, Http404("No such static file."))


class Command(upstream.Command):
    help = "Run the development server over HTTPS with the project's generated certificate."

    def add_arguments(self, parser):
        super().add_arguments(parser)
        parser.set_defaults(certificate=None, key=None)

    def handle(self, *args, **options):
        # Without an address, serve the one the settings (and the sandbox's URLs) were built for.
        options["addrport"] = options.get("addrport") or settings.ADDRPORT
        return super().handle(*args, **options)

    def get_handler(self, *args, **options):
        handler = super().get_handler(*args, **options)
        if isinstance(handler, StaticFilesHandler):
            return SafeStaticFilesHandler(handler.application)
        return handler

    def inner_run(self, *args, **options):
        if not options.get("certificate") or not options.get("key"):
            cert, key = ensure_dev_certificate(settings.DEV_CERT_DIR)
            options["certificate"] = options.get("certificate") or str(cert)
            options["key"] = options.get("key") or str(key)
        return super().inner_run(*args, **options)
