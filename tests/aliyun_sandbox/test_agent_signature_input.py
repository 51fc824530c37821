"""The sandbox's agent endpoint (``POST /sandbox/agent/poll``) with a ``signature`` that is not
valid UTF-8, not ASCII or not base64: its own JSON error (400/401), never a 500."""

import pytest

pytestmark = pytest.mark.django_db

FORM = "application/x-www-form-urlencoded"


@pytest.fixture(autouse=True)
def _sandbox_on(settings):
    settings.SANDBOX_ENABLED = True


@pytest.mark.parametrize(
    "body",
    [
        b"signData=eyJ1aWQiOiIxIn0&signature=%C3%A9t%C3%A9",  # UTF-8, not ASCII
        b"signData=%E4%B8%AD&signature=%E4%B8%AD%E6%96%87",
        b"signData=!!!&signature=not-base64-at-all",
        b"signData=eyJ1aWQiOiIxIn0&signature=%F0%9F%98%80",
    ],
)
def test_agent_poll_with_a_signature_that_is_not_ascii_or_base64_is_a_401(client, body):
    response = client.generic("POST", "/sandbox/agent/poll", body, content_type=FORM)
    assert response.status_code == 401
    assert response.json()["code"] == "InvalidSignature"


@pytest.mark.parametrize(
    "body", [b"signData=x&signature=%FF%FE", b"signData=%FF&signature=abc", b"signature=%C3"]
)
def test_agent_poll_with_a_signature_that_is_not_valid_utf8_is_a_json_400(client, body):
    response = client.generic("POST", "/sandbox/agent/poll", body, content_type=FORM)
    assert response.status_code == 400
    assert response.json()["code"] == "InvalidRequest"
    assert response["Access-Control-Allow-Origin"] == "*"
