"""Signing in from tests through the configured backends."""

from django.test import RequestFactory


def login(client, username: str, password: str) -> bool:
    """``Client.login`` with a request, which django-axes' backend needs to count the attempt."""
    return client.login(
        request=RequestFactory().post("/login/"), username=username, password=password
    )
