"""Health probes answer a load balancer that names the instance by its address; nothing else."""

import pytest

pytestmark = pytest.mark.django_db

PROBE_HOST = "10.0.0.5:8000"


@pytest.fixture
def production_hosts(settings):
    settings.ALLOWED_HOSTS = ["crm.example.com"]
    settings.SECURE_SSL_REDIRECT = True


@pytest.mark.parametrize("path", ["/healthz", "/readyz"])
def test_health_probes_answer_by_the_instance_address_over_http(client, production_hosts, path):
    answer = client.get(path, HTTP_HOST=PROBE_HOST)
    assert answer.status_code == 200
    assert answer.json() == {"status": "ok"}
    assert answer["X-Request-ID"]  # through the real middleware stack


@pytest.mark.parametrize("path", ["/", "/login/", "/healthz/", "/customers/"])
def test_other_paths_keep_the_host_check(client, production_hosts, path):
    assert client.get(path, HTTP_HOST=PROBE_HOST, secure=True).status_code == 400


def test_other_paths_keep_the_https_redirect(client, production_hosts):
    answer = client.get("/login/", HTTP_HOST="crm.example.com")
    assert answer.status_code == 301
    assert answer["Location"] == "https://crm.example.com/login/"


def test_health_probes_keep_their_methods(client, production_hosts):
    assert client.post("/healthz", HTTP_HOST=PROBE_HOST).status_code == 405
