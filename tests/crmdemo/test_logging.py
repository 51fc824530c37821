"""Credentials never reach the logs, and each line is written once."""

import io
import logging

import pytest

from crmdemo.logging import RedactSecrets, redact


def test_redacts_rpc_and_oauth_parameters():
    line = (
        '"POST /sandbox/ccc/?AccessKeyId=STS.abc&Action=ListSkillGroupsOfUser'
        "&SecurityToken=CAISxyz%2B1&Signature=k3j%3D&Timestamp=2026-11-29T14%3A00%3A00Z"
        '&code=c0de&state=s7&client_secret=shh HTTP/1.1" 200 512'
    )
    out = redact(line)
    for secret in ("STS.abc", "CAISxyz", "k3j", "c0de", "s7", "shh"):
        assert secret not in out
    assert "Action=ListSkillGroupsOfUser" in out
    assert "Timestamp=2026-11-29T14%3A00%3A00Z" in out
    assert "SecurityToken=***" in out


def test_does_not_touch_look_alike_names():
    assert redact("zipcode=123&statement=ok") == "zipcode=123&statement=ok"


def test_filter_rewrites_records_with_args():
    record = logging.LogRecord(
        "django.server",
        logging.INFO,
        __file__,
        1,
        '"%s" %s %s',
        ("GET /x?BearerToken=abc HTTP/1.1", "200", "5"),
        None,
    )
    assert RedactSecrets().filter(record)
    assert record.getMessage() == '"GET /x?BearerToken=*** HTTP/1.1" 200 5'


def test_django_loggers_write_once_through_the_filter(settings):
    cfg = settings.LOGGING
    assert cfg["loggers"]["django"]["propagate"] is False
    assert cfg["loggers"]["django.server"]["propagate"] is False
    for name in ("console", "server"):
        assert "redact" in cfg["handlers"][name]["filters"]


def test_dev_server_access_log_as_configured_carries_no_token():
    """Through the handler that settings.LOGGING installs on ``django.server`` (the dev server's
    access log), written the way Django's WSGIRequestHandler.log_message writes it."""
    logger = logging.getLogger("django.server")
    # pytest adds capture handlers of its own; take the one settings.LOGGING made.
    (handler,) = [h for h in logger.handlers if type(h) is logging.StreamHandler]
    stream = io.StringIO()
    old = handler.setStream(stream)
    try:
        logger.info(
            '"%s" %s %s',
            "POST /sandbox/ccc/?SecurityToken=CAISsecret&Signature=sig0 HTTP/1.1",
            "200",
            "42",
        )
    finally:
        handler.setStream(old)
    written = stream.getvalue()
    assert "SecurityToken=***" in written
    assert "CAISsecret" not in written and "sig0" not in written
    assert written.count("SecurityToken") == 1


def _emit(logger_name, level, msg, args=(), exc_info=None):
    """Run one record through the project's configured handlers; return what they wrote."""
    logger = logging.getLogger(logger_name)
    stream = io.StringIO()
    for handler in logger.handlers or logging.getLogger().handlers:
        old = handler.setStream(stream)
        try:
            logger.log(level, msg, *args, exc_info=exc_info)
        finally:
            handler.setStream(old)
        break
    return stream.getvalue()


def test_tracebacks_and_exception_text_are_redacted():
    def signed_call(url):
        raise ConnectionError(f"failed: {url}")

    try:
        signed_call("https://ccc/?SecurityToken=CAISsecret&Signature=sig0&Action=X")
    except ConnectionError as exc:
        out = _emit("django.request", logging.ERROR, "boom", exc_info=exc)
    assert "Traceback" in out and "ConnectionError" in out
    assert "CAISsecret" not in out and "sig0" not in out
    assert "SecurityToken=***" in out and "Action=X" in out


def test_polls_log_at_debug_other_requests_at_info(settings):
    if not settings.SANDBOX_ENABLED:
        pytest.skip("the polls belong to the sandbox add-on, which is off")
    line = '"%s" %s %s'
    poll = _emit(
        "django.server", logging.INFO, line, ("GET /sandbox/agent/poll?x=1 HTTP/1.1", 200, 9)
    )
    page = _emit("django.server", logging.INFO, line, ("GET /customers/ HTTP/1.1", 200, 9))
    assert poll == ""
    assert "GET /customers/" in page
    logging.getLogger("django.server").setLevel(logging.DEBUG)
    try:
        poll = _emit(
            "django.server", logging.INFO, line, ("GET /sandbox/agent/poll HTTP/1.1", 200, 9)
        )
    finally:
        logging.getLogger("django.server").setLevel(logging.INFO)
    assert "/sandbox/agent/poll" in poll
