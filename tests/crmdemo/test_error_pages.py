"""Error pages as an agent sees them with DEBUG off: readable, in the CRM's frame, translated;
JSON endpoints keep their JSON errors."""

import pytest
from django.contrib.auth.models import Permission
from django.test import Client

pytestmark = pytest.mark.django_db


@pytest.fixture
def agent(django_user_model, settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    user = django_user_model.objects.create_user("edward", password="right-pw-1")
    user.user_permissions.add(Permission.objects.get(codename="view_customer"))
    return user


@pytest.fixture
def agent_client(client, agent):
    client.force_login(agent)
    return client


def _page(response) -> str:
    assert response["Content-Type"].startswith("text/html")
    html = response.content.decode()
    assert 'href="/static/css/app.css"' in html or "app.css" in html  # the CRM's own frame
    assert "Back to the workbench" in html
    return html


def test_csrf_failure_is_a_readable_page(agent):
    client = Client(enforce_csrf_checks=True)
    response = client.post("/login/", {"username": "edward", "password": "right-pw-1"})
    assert response.status_code == 403
    html = _page(response)
    assert "This form could not be accepted" in html and "Reload the page" in html
    assert "DEBUG" not in html and "Referer" not in html


def test_404_is_a_readable_page(agent_client):
    response = agent_client.get("/no/such/page")
    assert response.status_code == 404
    assert "Page not found" in _page(response)


@pytest.mark.parametrize(
    ("method", "path", "allowed"),
    [
        ("get", "/aliyun/revoke", "POST"),
        ("get", "/aliyun/refresh", "POST"),
        ("post", "/aliyun/auth", "GET"),
        ("get", "/customers/calls/1/notes", "POST"),
    ],
)
def test_405_on_pages_is_a_readable_page_with_allow(agent_client, method, path, allowed):
    response = getattr(agent_client, method)(path)
    assert response.status_code == 405
    assert allowed in response["Allow"]
    html = _page(response)
    assert f"It was sent as {method.upper()}" in html and response["Allow"] in html


def test_json_endpoints_keep_json_errors(agent_client):
    response = agent_client.get("/customers/calls/log")
    assert response.status_code == 405
    assert "error" in response.json() and "POST" in response["Allow"]
