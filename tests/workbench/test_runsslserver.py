"""The project's runsslserver starts where ssl.wrap_socket is missing (Python 3.12+)."""

import socket
import ssl
import threading

import pytest
from django.core.servers.basehttp import WSGIRequestHandler

from workbench.devcert import ensure_dev_certificate
from workbench.management.commands import runsslserver


def _app(environ, start_response):
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [b"https=" + environ.get("HTTPS", "").encode()]


def test_certificate_has_sans_and_is_reused(tmp_path):
    from cryptography import x509

    cert_path, key_path = ensure_dev_certificate(tmp_path)
    cert = x509.load_pem_x509_certificate(cert_path.read_bytes())
    san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert "localhost" in san.get_values_for_type(x509.DNSName)
    assert {str(a) for a in san.get_values_for_type(x509.IPAddress)} >= {"127.0.0.1"}
    assert oct(key_path.stat().st_mode & 0o777) == "0o600"
    first = cert_path.read_bytes()
    ensure_dev_certificate(tmp_path)
    assert cert_path.read_bytes() == first


def test_server_serves_tls_without_wrap_socket(tmp_path, monkeypatch):
    monkeypatch.delattr(ssl, "wrap_socket", raising=False)
    assert not hasattr(ssl, "wrap_socket")
    cert, key = ensure_dev_certificate(tmp_path)
    server = runsslserver.ContextSecureHTTPServer(
        ("127.0.0.1", 0), runsslserver.upstream.WSGIRequestHandler, str(cert), str(key)
    )
    server.set_app(_app)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        port = server.server_address[1]
        ctx = ssl.create_default_context(cafile=str(cert))
        with (
            socket.create_connection(("127.0.0.1", port), timeout=5) as raw,
            ctx.wrap_socket(raw, server_hostname="localhost") as tls,
        ):
            tls.sendall(b"GET / HTTP/1.0\r\nHost: localhost\r\n\r\n")
            data = b""
            while chunk := tls.recv(4096):
                data += chunk
        assert b"200 OK" in data
        assert data.endswith(b"https=on")
    finally:
        server.shutdown()
        server.server_close()


def test_command_uses_project_certificate_not_bundled(tmp_path, settings, monkeypatch):
    settings.DEV_CERT_DIR = tmp_path
    seen = {}

    def fake_upstream_inner_run(self, *args, **options):
        seen.update(options)

    monkeypatch.setattr(runsslserver.upstream.Command, "inner_run", fake_upstream_inner_run)
    cmd = runsslserver.Command()
    parser = cmd.create_parser("manage.py", "runsslserver")
    options = vars(parser.parse_args(["127.0.0.1:0"]))
    cmd.inner_run(**options)
    assert seen["certificate"] == str(tmp_path / "cert.pem")
    assert seen["key"] == str(tmp_path / "key.pem")
    assert (tmp_path / "cert.pem").exists()


def test_module_server_class_is_the_context_one():
    assert runsslserver.upstream.SecureHTTPServer is runsslserver.ContextSecureHTTPServer
    assert issubclass(runsslserver.upstream.WSGIRequestHandler, WSGIRequestHandler)


@pytest.mark.parametrize("flag", ["--certificate", "--key", "--static", "--nostatic"])
def test_package_command_line_is_kept(flag):
    parser = runsslserver.Command().create_parser("manage.py", "runsslserver")
    assert any(flag in a.option_strings for a in parser._actions)


def _serve(tmp_path, handshake_timeout=None):
    cert, key = ensure_dev_certificate(tmp_path)
    server = runsslserver.ContextSecureHTTPServer(
        ("127.0.0.1", 0), runsslserver.upstream.WSGIRequestHandler, str(cert), str(key)
    )
    if handshake_timeout is not None:
        server.handshake_timeout = handshake_timeout
    server.set_app(_app)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, cert


def _get(port, cert) -> bytes:
    ctx = ssl.create_default_context(cafile=str(cert))
    with (
        socket.create_connection(("127.0.0.1", port), timeout=5) as raw,
        ctx.wrap_socket(raw, server_hostname="localhost") as tls,
    ):
        tls.sendall(b"GET / HTTP/1.0\r\nHost: localhost\r\n\r\n")
        data = b""
        while chunk := tls.recv(4096):
            data += chunk
    return data


def test_an_idle_connection_never_freezes_the_server(tmp_path):
    """A client that opens TCP and never starts TLS must not stop other requests (each probe
    has a 5 s socket timeout: on the old server every probe timed out)."""
    server, cert = _serve(tmp_path)
    port = server.server_address[1]
    idle = [socket.create_connection(("127.0.0.1", port), timeout=5) for _ in range(3)]
    try:
        answers = [_get(port, cert) for _ in range(9)]
        assert all(a.endswith(b"https=on") for a in answers)
    finally:
        for s in idle:
            s.close()
        server.shutdown()
        server.server_close()


def test_an_idle_handshake_is_closed_after_the_timeout(tmp_path):
    server, cert = _serve(tmp_path, handshake_timeout=0.2)
    port = server.server_address[1]
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=5) as idle:
            assert idle.recv(1) == b""  # the server gave up on it and closed the connection
        assert _get(port, cert).endswith(b"https=on")
    finally:
        server.shutdown()
        server.server_close()


def test_without_an_address_it_serves_addrport(settings, monkeypatch):
    settings.ADDRPORT = "127.0.0.1:8500"
    seen = {}
    monkeypatch.setattr(
        runsslserver.upstream.Command, "handle", lambda self, *a, **o: seen.update(o)
    )
    cmd = runsslserver.Command()
    options = vars(cmd.create_parser("manage.py", "runsslserver").parse_args([]))
    cmd.handle(**options)
    assert seen["addrport"] == "127.0.0.1:8500"
