"""The CCC defaults a new installation gets: 2.x (API 2020-07-01) unless
``ALIYUN_CCC_API_VERSION=2017-07-05``; the instance id and the softphone SDK assets follow the
version, in sandbox mode (the local stand-ins) and with a real Alibaba Cloud application."""

import importlib.util
import subprocess
import sys

import pytest

# The sandbox is an add-on: the repository also runs without its folder (tests/addon).
NO_SANDBOX = importlib.util.find_spec("aliyun_sandbox") is None

SHOW = (
    "import django; django.setup(); from django.conf import settings as s; "
    "print(s.ALIYUN_CCC_API_VERSION, s.ALIYUN_CCC_INSTANCE_ID, s.ALIYUN_CCC_REGION, "
    "s.ALIYUN_SDK_SCRIPT_URLS[-1], s.ALIYUN_SDK_CSS_URLS[-1], len(s.CCC_PROXY_ALLOWED_ACTIONS))"
)


def settings_in_a_new_process(**env) -> list[str]:
    base = {"DJANGO_SETTINGS_MODULE": "crmdemo.settings", "PATH": "/usr/bin:/bin"}
    done = subprocess.run(
        [sys.executable, "-c", SHOW], env={**base, **env}, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout.split()


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        (
            {"ALIYUN_CLIENT_ID": ""},
            [
                "2020-07-01",
                "ccc-sandbox",
                "cn-shanghai",
                "/static/aliyun_sandbox/workbench-sdk-v2.js",
                "/static/aliyun_sandbox/workbench-sdk.css",
                "0",
            ],
        ),
        (
            {"ALIYUN_CLIENT_ID": "", "ALIYUN_CCC_API_VERSION": "2017-07-05"},
            [
                "2017-07-05",
                "ccc-sandbox-instance",
                "cn-shanghai",
                "/static/aliyun_sandbox/workbench-sdk.js",
                "/static/aliyun_sandbox/workbench-sdk.css",
                "0",
            ],
        ),
        (
            {"ALIYUN_CLIENT_ID": "real-client", "ALIYUN_CCC_INSTANCE_ID": "ccc-test"},
            [
                "2020-07-01",
                "ccc-test",
                "cn-shanghai",
                "https://g.alicdn.com/cloudcallcenter/web-workbench-sdk/1.1.4/workbenchSdk.min.js",
                "https://g.alicdn.com/acca/workbench-sdk/1.1.4/main.min.css",
                "0",
            ],
        ),
        (
            {"ALIYUN_CLIENT_ID": "real-client", "ALIYUN_CCC_API_VERSION": "2017-07-05"},
            [
                "2017-07-05",
                "ccc-sandbox-instance",
                "cn-shanghai",
                "https://g.alicdn.com/acca/workbench-sdk/0.2.8/workbenchSdk.js",
                "https://g.alicdn.com/acca/workbench-sdk/0.2.8/main.min.css",
                "0",
            ],
        ),
    ],
)
def test_defaults_follow_the_api_version(env, expected):
    if NO_SANDBOX and not env["ALIYUN_CLIENT_ID"]:
        pytest.skip("the sandbox add-on is not in this copy of the repository")
    assert settings_in_a_new_process(**env) == expected


def test_an_unknown_api_version_is_refused():
    base = {"DJANGO_SETTINGS_MODULE": "crmdemo.settings", "PATH": "/usr/bin:/bin"}
    done = subprocess.run(
        [sys.executable, "-c", SHOW],
        env={**base, "ALIYUN_CCC_API_VERSION": "2019-01-01"},
        capture_output=True,
        text=True,
    )
    assert done.returncode != 0 and "ALIYUN_CCC_API_VERSION must be" in done.stderr
