"""The sandbox is an add-on: with ``SANDBOX_ENABLED=False`` (production settings) nothing of it
exists, and the product stands without its folder. Each check runs ``manage.py`` in a fresh
process, as a deployment would."""

import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

PRODUCTION = {
    "DEBUG": "False",
    "SANDBOX_ENABLED": "False",
    "SECRET_KEY": "test-only-secret-key-" + "x" * 40,
    "TOKEN_ENCRYPTION_KEYS": "q3a0tKO1aG9S8mB0m9l3xD6lS4QfQmO3H8d2nQp6Xz0=",
    "ALIYUN_CLIENT_ID": "4071151845732613353",
    "ALIYUN_CLIENT_SECRET": "not-a-real-secret",
    "ALLOWED_HOSTS": "crm.example.com",
    # Production needs PostgreSQL and Redis: the machine's own (migrate --plan only reads).
    "DATABASE_URL": "postgres://postgres@127.0.0.1:5432/postgres",
    "CACHE_URL": "redis://127.0.0.1:6379/4",
}


def manage(*args, cwd=ROOT, env_extra=None, tmp_path=None):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "SANDBOX_"))}
    env.update(PRODUCTION)
    if tmp_path is not None:
        env["STATIC_ROOT"] = str(tmp_path / "static")
    env.update(env_extra or {})
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_no_sandbox_migration_is_planned(tmp_path):
    result = manage("migrate", "--plan", tmp_path=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "customers.0001_initial" in result.stdout
    assert "aliyun_sandbox" not in result.stdout


def test_sandbox_urls_are_not_routed(tmp_path):
    code = (
        "from django.urls import resolve, Resolver404\n"
        "from django.conf import settings\n"
        "try:\n    resolve('/sandbox/oauth/v1/token')\nexcept Resolver404:\n    print('404')\n"
        "print('installed' if 'aliyun_sandbox' in settings.INSTALLED_APPS else 'absent')\n"
        "print(sorted(settings.DATABASES), [k for k in dir(settings) if k.startswith('SANDBOX_')])"
    )
    result = manage("shell", "--no-imports", "-c", code, tmp_path=tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split("\n")[:3] == ["404", "absent", "['default'] ['SANDBOX_ENABLED']"]


def test_collectstatic_collects_no_sandbox_file(tmp_path):
    result = manage("collectstatic", "--noinput", tmp_path=tmp_path)
    assert result.returncode == 0, result.stderr
    collected = {
        p.relative_to(tmp_path / "static").as_posix() for p in (tmp_path / "static").rglob("*")
    }
    assert "workbench/workbench.js" in collected
    assert not [p for p in collected if "sandbox" in p or "workbench-sdk" in p]


def test_the_product_stands_without_the_sandbox_folder(tmp_path):
    """A copy of the repository without aliyun_sandbox/ (and the sandbox's own tests): the
    default settings (no SANDBOX_ENABLED given) pass Django's checks and a quick product test
    subset."""
    copy = tmp_path / "repo"
    ignore = shutil.ignore_patterns(
        ".venv", ".git", "*.sqlite3*", "__pycache__", "test-artifacts", "staticfiles", ".devcert"
    )
    shutil.copytree(ROOT, copy, ignore=ignore)
    shutil.rmtree(copy / "aliyun_sandbox")
    shutil.rmtree(copy / "tests" / "aliyun_sandbox")
    # Development defaults (no SANDBOX_ENABLED, no client id): only the folder is missing.
    dev_env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "SANDBOX_"))}
    for name in ("DATABASE_URL", "ALIYUN_CLIENT_ID", "DEBUG"):
        dev_env.pop(name, None)
    for args in (["check"], ["makemigrations", "--check", "--dry-run"]):
        result = subprocess.run(
            [sys.executable, "manage.py", *args],
            cwd=copy,
            env=dev_env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert result.returncode == 0, result.stdout + result.stderr
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-p",
            "no:cacheprovider",
            "-p",
            "no:xdist",
            "tests/customers/test_phones.py",
            "tests/crmdemo",
            "tests/workbench/test_home.py",
        ],
        cwd=copy,
        env=dev_env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-2000:]
    assert " passed" in result.stdout
