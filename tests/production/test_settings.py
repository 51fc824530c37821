"""The production environment of the README's Deploy section: ``check --deploy`` is clean, and a
missing or wrong variable stops ``manage.py`` with a message naming it (no traceback)."""

import socket
import subprocess
import sys

import pytest
from cryptography.fernet import Fernet

from tests.production.servers import REPO


def production_env(**changes) -> dict[str, str]:
    """The README's production variables (values made up), with ``changes`` (None removes)."""
    env = {
        "PATH": "/usr/bin:/bin",
        "DEBUG": "False",
        "SECRET_KEY": "k" * 20 + "-not-a-real-key-but-long-and-varied-0123456789",
        "TOKEN_ENCRYPTION_KEYS": Fernet.generate_key().decode(),
        "ALLOWED_HOSTS": "crm.example.com",
        "DATABASE_URL": "postgres://crm@db.internal:5432/crmdemo",
        "CACHE_URL": "redis://redis.internal:6379/0",
        "ALIYUN_CLIENT_ID": "4000000000000000001",
        "ALIYUN_CLIENT_SECRET": "from-the-ram-console",
    }
    env.update(changes)
    return {k: v for k, v in env.items() if v is not None}


def manage(env: dict, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_check_deploy_is_clean_with_the_documented_environment():
    result = manage(production_env(), "check", "--deploy", "--fail-level", "WARNING")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


@pytest.mark.parametrize(
    ("changes", "named"),
    [
        ({"SECRET_KEY": None}, "SECRET_KEY"),
        ({"TOKEN_ENCRYPTION_KEYS": None}, "TOKEN_ENCRYPTION_KEYS"),
        ({"ALLOWED_HOSTS": None}, "ALLOWED_HOSTS"),
        ({"DATABASE_URL": None}, "DATABASE_URL"),
        ({"DATABASE_URL": "nonsense://x"}, "DATABASE_URL"),
        ({"CACHE_URL": None}, "CACHE_URL"),
        ({"CACHE_URL": "nonsense://x"}, "CACHE_URL"),
        ({"ALIYUN_CLIENT_ID": None}, "ALIYUN_CLIENT_ID"),
        ({"LOG_FORMAT": "xml"}, "LOG_FORMAT"),
        ({"TOKEN_ENCRYPTION_KEYS": "not-a-fernet-key"}, "TOKEN_ENCRYPTION_KEYS"),
        ({"DB_CONN_MAX_AGE": "a minute"}, "DB_CONN_MAX_AGE"),
        ({"AXES_FAILURE_LIMIT": "five"}, "AXES_FAILURE_LIMIT"),
    ],
)
def test_a_missing_or_wrong_variable_is_named(changes, named):
    result = manage(production_env(**changes), "check")
    assert result.returncode != 0
    assert result.stderr.startswith("Configuration error:"), result.stderr
    assert named in result.stderr
    assert "Traceback" not in result.stderr


def test_readyz_names_the_database_when_it_is_down():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    script = (
        "import django; django.setup()\n"
        "from django.test import Client\n"
        "answer = Client().get('/readyz', HTTP_HOST='localhost')\n"
        "print(answer.status_code, answer.content.decode())\n"
    )
    env = {
        "PATH": "/usr/bin:/bin",
        "DJANGO_SETTINGS_MODULE": "crmdemo.settings",
        "DATABASE_URL": f"postgres://postgres@127.0.0.1:{port}/nowhere",
    }
    result = subprocess.run(
        [sys.executable, "-c", script], cwd=REPO, env=env, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == '503 {"status": "unavailable", "down": ["database"]}'


@pytest.mark.parametrize(
    ("changes", "engine"),
    [
        ({}, "django.contrib.sessions.backends.cached_db"),
        ({"SESSION_CACHED": "False"}, "django.contrib.sessions.backends.db"),
        ({"DEBUG": "True", "CACHE_URL": None}, "django.contrib.sessions.backends.db"),
    ],
)
def test_sessions_are_read_from_the_shared_redis_only(changes, engine):
    """A proxied call reads its session from Redis (one database round trip fewer); never from a
    per-process memory cache, which would keep a signed-out session alive in other processes."""
    show = "from django.conf import settings as s; print(s.SESSION_ENGINE)"
    result = manage(production_env(**changes), "shell", "-c", show)
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.strip().splitlines()[-1] == engine
