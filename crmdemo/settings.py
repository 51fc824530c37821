"""Settings for crmdemo, every knob read from the environment (django-environ).

A ``.env`` file in the project folder is read when present (see ``.env.example``). Defaults are
safe for a developer machine: DEBUG on, SQLite in the project folder, and the built-in Alibaba
Cloud sandbox when no ``ALIYUN_CLIENT_ID`` is configured. With ``DEBUG=False`` the settings refuse
to start without a real ``SECRET_KEY``, token encryption key and client id (the sandbox is never on
in production).

Apps read these settings at call time (``django.conf.settings.X`` inside functions), so tests can
override them with pytest-django's ``settings`` fixture.
"""

import importlib.util
import secrets
import tempfile
from pathlib import Path

import environ
from csp.constants import NONCE, NONE, SELF
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent


class _Env(environ.Env):
    """django-environ's reader, naming the variable when its value cannot be read as the type
    asked for (instead of a bare ``ValueError``)."""

    def get_value(self, var, cast=None, default=environ.Env.NOTSET, parse_default=False):
        try:
            return super().get_value(var, cast=cast, default=default, parse_default=parse_default)
        except (ValueError, TypeError) as exc:
            kind = getattr(cast, "__name__", "value")
            raise ImproperlyConfigured(f"{var} is not a valid {kind}.") from exc


env = _Env()
environ.Env.read_env(BASE_DIR / ".env", overwrite=False)

DEBUG = env.bool("DEBUG", default=True)


def _dev_secret() -> str:
    """Return the local development SECRET_KEY, generated once into ``.devsecret`` (git-ignored)."""
    path = BASE_DIR / ".devsecret"
    if not path.exists():
        path.write_text(secrets.token_urlsafe(50))
        path.chmod(0o600)
    return path.read_text().strip()


SECRET_KEY = env.str("SECRET_KEY", default="")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured("SECRET_KEY must be set when DEBUG is off.")
    SECRET_KEY = _dev_secret()

ALLOWED_HOSTS = env.list(
    "ALLOWED_HOSTS", default=["127.0.0.1", "localhost", "[::1]"] if DEBUG else []
)
if not ALLOWED_HOSTS:
    raise ImproperlyConfigured(
        "ALLOWED_HOSTS must be set when DEBUG is off (the served host names)."
    )
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    # workbench first so its runsslserver (Python 3.12-safe, project certificate) wins.
    "workbench",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "sslserver",
    "import_export",
    "axes",
    "csp",
    "customers",
    "aliyun_oauth",
    "ccc_proxy",
]

MIDDLEWARE = [
    # First, so every log line of the request (and its error answer) carries the request id.
    "crmdemo.request_id.RequestIdMiddleware",
    # Before the host check and the HTTPS redirect: load balancers probe by the instance's address.
    "crmdemo.health.HealthMiddleware",
    "django.middleware.security.SecurityMiddleware",
    # Hashed, compressed static files straight from the WSGI server (no separate file server).
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    # The language from the django_language cookie (the language switch) or Accept-Language;
    # before the next one so its error answers are in the agent's language. Neither it nor the
    # session middleware reads request.GET/POST.
    "django.middleware.locale.LocaleMiddleware",
    # Before anything reads request.GET/POST: unreadable requests get a 400/413/415 here.
    "crmdemo.middleware.UnreadableRequestMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "crmdemo.csp.CSPMiddleware",  # django-csp's, plus the sandbox's origin in connect-src
    # Last, as django-axes asks: answers a locked-out sign-in with its page.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "crmdemo.urls"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "django.template.context_processors.i18n",
            ],
        },
    },
]

WSGI_APPLICATION = "crmdemo.wsgi.application"

# Seconds a SQLite connection waits for another writer's lock before "database is locked".
SQLITE_BUSY_TIMEOUT = env.float("SQLITE_BUSY_TIMEOUT", default=20.0)


def _sqlite_tuned(db: dict) -> dict:
    """Make a SQLite database hold up under concurrent requests: WAL (readers never wait for the
    writer), a busy timeout (writers queue instead of failing) and IMMEDIATE transactions (an
    atomic block takes the write lock at BEGIN, so two transactions never deadlock upgrading a
    read lock, and the row-lock pattern select_for_update-in-atomic serializes as it does on
    PostgreSQL). Tests get a real file beside it (``test_<name>``), so threads do not share one
    in-memory connection. Other engines are returned unchanged."""
    if not db["ENGINE"].endswith("sqlite3") or db["NAME"] in ("", ":memory:"):
        return db
    db.setdefault("OPTIONS", {}).update(
        {
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
            "timeout": SQLITE_BUSY_TIMEOUT,
            "transaction_mode": "IMMEDIATE",
        }
    )
    path = Path(db["NAME"])
    db.setdefault("TEST", {}).setdefault("NAME", str(path.with_name(f"test_{path.name}")))
    return db


def _url_setting(name: str, parse, default: str) -> dict:
    """Parse the URL variable ``name`` with django-environ, naming it in the error when it is
    not a URL of a known scheme (instead of a KeyError from deep inside the parser)."""
    try:
        return parse(name, default=default)
    except (ImproperlyConfigured, KeyError, ValueError) as exc:
        raise ImproperlyConfigured(f"{name} is not a valid URL of a supported scheme.") from exc


_crm_db = _url_setting("DATABASE_URL", env.db, f"sqlite:///{BASE_DIR / 'db.sqlite3'}")
DATABASES = {"default": _sqlite_tuned(_crm_db)}
if not DEBUG and DATABASES["default"]["ENGINE"] != "django.db.backends.postgresql":
    raise ImproperlyConfigured("DATABASE_URL must be a postgres:// URL when DEBUG is off.")
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    # Persistent connections (seconds kept open; 0 = one per request), checked before reuse so a
    # database restart costs one reconnect, not an error page.
    DATABASES["default"]["CONN_MAX_AGE"] = env.int("DB_CONN_MAX_AGE", default=0 if DEBUG else 60)
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
    # Django's backend, its check of a reused connection made without a round trip.
    DATABASES["default"]["ENGINE"] = "crmdemo.postgresql"
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

# Usernames are matched case-insensitively at sign-in ("Edward" is the account "edward").
# django-axes first: it refuses a locked-out username+address before any password is checked.
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "workbench.auth_backends.CaseInsensitiveModelBackend",
]

LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

# Pages speak the browser's language (Accept-Language) or the one chosen with the language
# switch (set_language, a cookie); LANGUAGE_CODE is the answer for anything else (no header, or
# only languages we do not have). zh-hans: the agents this product serves are Chinese, and a
# Chinese agent whose browser sends an odd header should not land on an English page.
LANGUAGES = [("zh-hans", "简体中文"), ("en", "English")]
LANGUAGE_CODE = env.str("LANGUAGE_CODE", default="zh-hans")
if LANGUAGE_CODE not in dict(LANGUAGES):
    raise ImproperlyConfigured("LANGUAGE_CODE must be zh-hans or en.")
LOCALE_PATHS = [BASE_DIR / "locale"]
# One date and time format per language (crmdemo/formats/<lang>/formats.py), in TIME_ZONE.
FORMAT_MODULE_PATH = ["crmdemo.formats"]
TIME_ZONE = env.str("TIME_ZONE", default="Asia/Shanghai")
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = Path(env.str("STATIC_ROOT", default=str(BASE_DIR / "staticfiles")))
if not DEBUG:
    # collectstatic (release step) writes hashed, gzip-compressed copies; whitenoise serves them
    # with far-future caching.
    STORAGES = {
        "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
        "staticfiles": {
            "BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage",
        },
    }

# --- Cache (JWKS, discovery, rate-limit counters) ---------------------------------------------
# CACHE_URL: redis://host:6379/0 for Django's built-in Redis cache, shared by every instance;
# default: a per-process memory cache (development). crmdemo.cache.FailSoftRedisCache turns a
# Redis outage into cache misses and a logged warning instead of errors.
CACHES = {"default": _url_setting("CACHE_URL", env.cache_url, "locmemcache://")}
if CACHES["default"]["BACKEND"] == "django.core.cache.backends.redis.RedisCache":
    CACHES["default"]["BACKEND"] = "crmdemo.cache.FailSoftRedisCache"
    CACHES["default"].setdefault("OPTIONS", {}).update(
        # Seconds to wait for Redis; past them the request goes on without the cache.
        socket_connect_timeout=env.float("CACHE_TIMEOUT", default=0.5),
        socket_timeout=env.float("CACHE_TIMEOUT", default=0.5),
    )
    CACHES["default"]["KEY_PREFIX"] = env.str("CACHE_KEY_PREFIX", default="crmdemo")
    # Sessions read from Redis, written through to the database (Django's cached_db): a
    # proxied softphone call saves a database round trip. Only with the shared Redis: a
    # per-process memory cache would keep a signed-out session alive in the other processes.
    if env.bool("SESSION_CACHED", default=True):
        SESSION_ENGINE = "django.contrib.sessions.backends.cached_db"
elif not DEBUG:
    raise ImproperlyConfigured(
        "CACHE_URL must be a redis:// URL when DEBUG is off (instances share it)."
    )

# --- Behind a TLS-terminating proxy ------------------------------------------------------------
# The proxy sets X-Forwarded-Proto: https; only trust it when a proxy really strips it from
# clients (gunicorn's FORWARDED_ALLOW_IPS, gunicorn.conf.py).
if env.bool("BEHIND_TLS_PROXY", default=not DEBUG):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=not DEBUG)
# /healthz and /readyz answer over plain HTTP and by any Host: crmdemo.health.HealthMiddleware.
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=0 if DEBUG else 31536000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env.bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", default=True)
# "preload" only makes the site eligible for browsers' built-in HSTS list; submitting is by hand.
SECURE_HSTS_PRELOAD = env.bool("SECURE_HSTS_PRELOAD", default=not DEBUG)
# Number of proxies in front that append to X-Forwarded-For (0: the peer address is the client);
# read by crmdemo.throttling.client_ip for sign-in throttling and rate limits.
TRUSTED_PROXY_COUNT = env.int("TRUSTED_PROXY_COUNT", default=0)

SESSION_COOKIE_SECURE = env.bool("SESSION_COOKIE_SECURE", default=not DEBUG)
CSRF_COOKIE_SECURE = env.bool("CSRF_COOKIE_SECURE", default=not DEBUG)
SESSION_COOKIE_SAMESITE = "Lax"
# Old browsers only: the CSP frame-ancestors 'self' below replaces this header in every browser
# that knows CSP 2, so the workbench can still frame CRM pages.
X_FRAME_OPTIONS = "DENY"

# LOG_FORMAT=json: one JSON object per line (python-json-logger), for log collectors; "plain"
# (default): readable lines. Both carry the request id (crmdemo/request_id.py).
LOG_FORMAT = env.str("LOG_FORMAT", default="plain")
if LOG_FORMAT not in ("plain", "json"):
    raise ImproperlyConfigured("LOG_FORMAT must be 'plain' or 'json'.")
_json_formatter = {
    "()": "pythonjsonlogger.json.JsonFormatter",
    "fmt": "%(asctime)s %(levelname)s %(name)s %(request_id)s %(message)s",
    "rename_fields": {"asctime": "time", "levelname": "level", "name": "logger"},
    "timestamp": False,
}
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s"},
        "server": {"format": "[%(asctime)s] %(message)s"},
        "json": _json_formatter,
    },
    # Every handler hides credential-bearing parameters (crmdemo/logging.py) and stamps the
    # request id. Polls (filled in below when the sandbox is on) log at DEBUG: one access line per
    # request a developer cares about.
    "filters": {
        "redact": {"()": "crmdemo.logging.RedactSecrets"},
        "request_id": {"()": "crmdemo.request_id.RequestIdFilter"},
        "quiet_polls": {"()": "crmdemo.logging.QuietPaths", "prefixes": []},
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": "json" if LOG_FORMAT == "json" else "plain",
            "filters": ["request_id", "redact"],
        },
        "server": {
            "class": "logging.StreamHandler",
            "formatter": "json" if LOG_FORMAT == "json" else "server",
            "filters": ["quiet_polls", "request_id", "redact"],
        },
    },
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    "loggers": {
        # Django's default config gives these loggers handlers of their own; replace them so that
        # each line is written once and always through the redacting filter.
        "django": {"handlers": ["console"], "level": "INFO", "propagate": False},
        # LOG_LEVEL=DEBUG shows the polls' access lines too.
        "django.server": {
            "handlers": ["server"],
            "level": env.str("LOG_LEVEL", default="INFO"),
            "propagate": False,
        },
        # requests-oauthlib/oauthlib log request bodies and tokens at DEBUG: never let them through.
        "requests_oauthlib": {"level": "WARNING"},
        "oauthlib": {"level": "WARNING"},
        # aliyun-python-sdk-core logs signed request URLs and parameters (SecurityToken included)
        # on errors and at DEBUG; ccc_proxy writes its own line per call instead.
        "aliyunsdkcore": {"level": "CRITICAL"},
    },
}

# --- Phone numbers ---------------------------------------------------------------------------
# Region used to read numbers written without a country code (ISO 3166-1 alpha-2).
PHONE_DEFAULT_REGION = env.str("PHONE_DEFAULT_REGION", default="CN")
# reconcile_calls: seconds of CCC call detail records read per run (the window also reaches back
# to each agent's oldest record CCC has not confirmed yet).
CALL_RECONCILE_WINDOW = env.int("CALL_RECONCILE_WINDOW", default=86400)
# CSV/Excel export: make cells starting with = + - @ text, not formulas (django-import-export).
IMPORT_EXPORT_ESCAPE_FORMULAE_ON_EXPORT = env.bool(
    "IMPORT_EXPORT_ESCAPE_FORMULAE_ON_EXPORT", default=True
)

# Private folder where an admin CSV import waits between its preview and its confirmation
# (files named by random ids; the confirmation accepts only ids issued to the same user).
IMPORT_TMP_DIR = Path(
    env.str("IMPORT_TMP_DIR", default=str(Path(tempfile.gettempdir()) / "crmdemo-imports"))
)

# --- Local HTTPS development server ------------------------------------------------------------
# Where `manage.py runsslserver` keeps the certificate it generates (SANs 127.0.0.1, localhost).
DEV_CERT_DIR = Path(env.str("DEV_CERT_DIR", default=str(BASE_DIR / ".devcert")))

# --- Alibaba Cloud ---------------------------------------------------------------------------
# Sources: docs/oauth-protocol.md (RAM OAuth docs 93696/93698); CCC docs 63062/63063.
ALIYUN_CLIENT_ID = env.str("ALIYUN_CLIENT_ID", default="")
ALIYUN_CLIENT_SECRET = env.str("ALIYUN_CLIENT_SECRET", default="")

# The address the development server listens on (scripts/run.sh, `manage.py runsslserver`).
# In sandbox mode the sandbox's URLs and registered callback follow it.
ADDRPORT = env.str("ADDRPORT", default="127.0.0.1:8443")

# The sandbox (aliyun_sandbox) stands in for Alibaba Cloud when no client id is configured. It is
# an add-on: installed, routed, migrated and configured only when enabled.
# Off when a client id is set, and when the add-on is not there at all (a deployment without it).
SANDBOX_ENABLED = env.bool(
    "SANDBOX_ENABLED",
    default=not ALIYUN_CLIENT_ID and importlib.util.find_spec("aliyun_sandbox") is not None,
)
if SANDBOX_ENABLED and not DEBUG:
    raise ImproperlyConfigured(
        "The Alibaba Cloud sandbox is for development only: set ALIYUN_CLIENT_ID and "
        "ALIYUN_CLIENT_SECRET (or SANDBOX_ENABLED=False) when DEBUG is off."
    )
if SANDBOX_ENABLED:
    INSTALLED_APPS.append("aliyun_sandbox")
    # Its own database, so the CRM's transactions and the sandbox's never wait on each other:
    # by default a second SQLite file beside the CRM's.
    _crm_sqlite = _crm_db["ENGINE"].endswith("sqlite3") and _crm_db["NAME"] not in ("", ":memory:")
    _crm_file = Path(_crm_db["NAME"]) if _crm_sqlite else BASE_DIR / "db.sqlite3"
    _sandbox_file = _crm_file.with_name(f"{_crm_file.stem}-sandbox{_crm_file.suffix}")
    DATABASES["sandbox"] = _sqlite_tuned(
        env.db("SANDBOX_DATABASE_URL", default=f"sqlite:///{_sandbox_file}")
    )
    DATABASE_ROUTERS = ["aliyun_sandbox.router.SandboxRouter"]
    # The softphone stand-in and the simulator page poll every second or so.
    LOGGING["filters"]["quiet_polls"]["prefixes"] = [
        "/sandbox/agent/poll",
        "/sandbox/simulator/calls",
    ]

    _host, _, _port = ADDRPORT.rpartition(":")
    _crm_host = _host.strip("[]")
    if _crm_host in ("", "0.0.0.0", "::"):  # noqa: S104 - a wildcard listen: browse 127.0.0.1
        _crm_host = "127.0.0.1"
    elif ":" in _crm_host:
        _crm_host = f"[{_crm_host}]"
    # The sandbox is served by this same server but on another *site* (localhost vs 127.0.0.1),
    # so the provider's form_post callback is a cross-site POST, as with signin.aliyun.com.
    _sandbox_host = "localhost" if _crm_host != "localhost" else "127.0.0.1"
    SANDBOX_BASE_URL = env.str(
        "SANDBOX_BASE_URL", default=f"https://{_sandbox_host}:{_port}/sandbox"
    )
    SANDBOX_CLIENT_ID = env.str("SANDBOX_CLIENT_ID", default="crmdemo-sandbox")
    # The sandbox's registered redirect URIs (exact match).
    SANDBOX_REDIRECT_URIS = env.list(
        "SANDBOX_REDIRECT_URIS", default=[f"https://{_crm_host}:{_port}/aliyun/auth/callback"]
    )
    # Lifetimes in seconds; tests shorten them.
    SANDBOX_ACCESS_TOKEN_LIFETIME = env.int("SANDBOX_ACCESS_TOKEN_LIFETIME", default=3600)
    SANDBOX_REFRESH_TOKEN_LIFETIME = env.int("SANDBOX_REFRESH_TOKEN_LIFETIME", default=30 * 86400)
    SANDBOX_CODE_LIFETIME = env.int("SANDBOX_CODE_LIFETIME", default=300)
    # "sts": access tokens are base64url STS JSON, as Alibaba's observed ones; "opaque": random
    # text, so that clients call CCC in bearer mode (SignatureType=BEARERTOKEN).
    SANDBOX_ACCESS_TOKEN_FORMAT = env.str("SANDBOX_ACCESS_TOKEN_FORMAT", default="sts")
    if SANDBOX_ACCESS_TOKEN_FORMAT not in ("sts", "opaque"):
        raise ImproperlyConfigured("SANDBOX_ACCESS_TOKEN_FORMAT must be 'sts' or 'opaque'.")
    # Answer each refresh with a new refresh_token and revoke the used one (Alibaba does not
    # rotate; providers that do test the CRM's one-refresh-at-a-time lock).
    SANDBOX_ROTATE_REFRESH_TOKENS = env.bool("SANDBOX_ROTATE_REFRESH_TOKENS", default=False)
    # Seconds a retired id_token signing key stays published in the JWKS after
    # `sandbox_rotate_key` (keys themselves live in the database).
    SANDBOX_KEY_GRACE_PERIOD = env.int("SANDBOX_KEY_GRACE_PERIOD", default=7 * 86400)
    # Seconds before the simulator's remote party answers an outbound call.
    SANDBOX_ANSWER_DELAY = env.float("SANDBOX_ANSWER_DELAY", default=2.0)
    # Seconds without a softphone poll after which the sandbox treats the agent as gone: its
    # calls are released and it goes OFFLINE.
    SANDBOX_AGENT_TIMEOUT = env.float("SANDBOX_AGENT_TIMEOUT", default=30.0)

if SANDBOX_ENABLED:
    # The sandbox client secret is derived from SECRET_KEY: both sides know it, nobody commits it.
    import hashlib
    import hmac

    SANDBOX_CLIENT_SECRET = hmac.new(
        SECRET_KEY.encode(), b"crmdemo sandbox client secret", hashlib.sha256
    ).hexdigest()
    ALIYUN_CLIENT_ID = SANDBOX_CLIENT_ID
    ALIYUN_CLIENT_SECRET = SANDBOX_CLIENT_SECRET
    _signin_base = f"{SANDBOX_BASE_URL}/signin"
    _oauth_base = f"{SANDBOX_BASE_URL}/oauth"
    _ccc_endpoint = SANDBOX_BASE_URL.split("://", 1)[1] + "/ccc"
    _ca_bundle_default = str(DEV_CERT_DIR / "cert.pem")
else:
    _site = env.str("ALIYUN_SITE", default="cn")  # "cn" (aliyun.com) or "intl" (alibabacloud.com)
    if _site not in ("cn", "intl"):
        raise ImproperlyConfigured("ALIYUN_SITE must be 'cn' or 'intl'.")
    _domain = "aliyun.com" if _site == "cn" else "alibabacloud.com"
    _signin_base = f"https://signin.{_domain}"
    _oauth_base = f"https://oauth.{_domain}"
    _ccc_endpoint = "ccc.cn-shanghai.aliyuncs.com"
    _ca_bundle_default = ""

# Base URLs of the two OAuth hosts; each endpoint below can also be set on its own, or found
# through ALIYUN_OAUTH_DISCOVERY_URL, so any standards-compliant OIDC provider can be used.
ALIYUN_SIGNIN_BASE_URL = env.str("ALIYUN_SIGNIN_BASE_URL", default=_signin_base)
ALIYUN_OAUTH_BASE_URL = env.str("ALIYUN_OAUTH_BASE_URL", default=_oauth_base)
# {signin}/oauth2/v1/auth
ALIYUN_OAUTH_AUTHORIZE_URL = env.str("ALIYUN_OAUTH_AUTHORIZE_URL", default="")
ALIYUN_OAUTH_TOKEN_URL = env.str("ALIYUN_OAUTH_TOKEN_URL", default="")  # {oauth}/v1/token
ALIYUN_OAUTH_REVOKE_URL = env.str("ALIYUN_OAUTH_REVOKE_URL", default="")  # {oauth}/v1/revoke
ALIYUN_OAUTH_USERINFO_URL = env.str("ALIYUN_OAUTH_USERINFO_URL", default="")  # {oauth}/v1/userinfo
ALIYUN_OAUTH_JWKS_URL = env.str("ALIYUN_OAUTH_JWKS_URL", default="")  # {oauth}/v1/keys
ALIYUN_OAUTH_ISSUER = env.str("ALIYUN_OAUTH_ISSUER", default="")  # {oauth}
ALIYUN_OAUTH_DISCOVERY_URL = env.str("ALIYUN_OAUTH_DISCOVERY_URL", default="")
ALIYUN_OAUTH_SCOPE = env.str("ALIYUN_OAUTH_SCOPE", default="openid aliuid profile /acs/ccc")
# client_secret_post (Alibaba) or client_secret_basic.
ALIYUN_OAUTH_CLIENT_AUTH_METHOD = env.str(
    "ALIYUN_OAUTH_CLIENT_AUTH_METHOD", default="client_secret_post"
)
# Absolute callback URL registered with the provider; empty = built from the request.
ALIYUN_OAUTH_REDIRECT_URI = env.str("ALIYUN_OAUTH_REDIRECT_URI", default="")
# Refresh when the access token expires within this many seconds.
ALIYUN_OAUTH_REFRESH_LEEWAY = env.int("ALIYUN_OAUTH_REFRESH_LEEWAY", default=300)
# Seconds of clock skew accepted on id_token exp/iat.
ALIYUN_OAUTH_CLOCK_LEEWAY = env.int("ALIYUN_OAUTH_CLOCK_LEEWAY", default=60)
# How long a pending authorization (state, code_verifier, nonce) stays valid, seconds.
ALIYUN_OAUTH_STATE_LIFETIME = env.int("ALIYUN_OAUTH_STATE_LIFETIME", default=600)
# Refuse an id_token without a nonce claim (OIDC Core 3.1.3.7). Alibaba's documented claims do
# not list nonce; set False if its id_tokens lack it (a wrong nonce is refused either way).
ALIYUN_OAUTH_REQUIRE_NONCE = env.bool("ALIYUN_OAUTH_REQUIRE_NONCE", default=True)
# Allow plain-HTTP OAuth endpoints (development and tests only; never in production).
ALIYUN_OAUTH_ALLOW_HTTP = env.bool("ALIYUN_OAUTH_ALLOW_HTTP", default=DEBUG)
# Extra authorize request parameters in query-string form, e.g. "prompt=consent" (a standard
# OpenID provider issues a refresh_token only for offline_access with prompt=consent).
ALIYUN_OAUTH_AUTHORIZE_PARAMS = env.str("ALIYUN_OAUTH_AUTHORIZE_PARAMS", default="")
# Accepted id_token algorithms, comma-separated (RS256, PS256, ES256); empty = the discovery
# document's id_token_signing_alg_values_supported, or RS256 without discovery.
ALIYUN_OAUTH_ID_TOKEN_ALGORITHMS = env.list("ALIYUN_OAUTH_ID_TOKEN_ALGORITHMS", default=[])
# The provider's name in messages; empty = "Alibaba Cloud", or the discovery URL's host name
# when that is not an Alibaba Cloud host.
ALIYUN_OAUTH_PROVIDER_NAME = env.str("ALIYUN_OAUTH_PROVIDER_NAME", default="")

# TLS trust for server-to-server calls: a CA bundle path, or empty for the system's CAs. In
# sandbox mode the project's development certificate is the trust anchor.
ALIYUN_CA_BUNDLE = env.str("ALIYUN_CA_BUNDLE", default=_ca_bundle_default)
# Upstream timeouts, seconds.
ALIYUN_CONNECT_TIMEOUT = env.float("ALIYUN_CONNECT_TIMEOUT", default=5.0)
ALIYUN_READ_TIMEOUT = env.float("ALIYUN_READ_TIMEOUT", default=10.0)
# Whole upstream call (connect, headers and the entire answer), seconds: a server that drips
# its answer is cut off here, whatever the per-read timeout (crmdemo/upstream.py).
ALIYUN_UPSTREAM_DEADLINE = env.float("ALIYUN_UPSTREAM_DEADLINE", default=15.0)
# Largest upstream answer read (token, userinfo, JWKS, discovery, CCC OpenAPI), bytes; a larger
# one is refused as a bad upstream answer (502) and nothing of it is stored.
ALIYUN_MAX_ANSWER_BYTES = env.int("ALIYUN_MAX_ANSWER_BYTES", default=1024 * 1024)

# Cloud Call Center. API 2020-07-01 (CCC 2.x, softphone SDK 2.x) is what current instances speak;
# 2017-07-05 keeps a CCC 1.0 instance and the 1.x softphone SDK. The instance id default and the
# SDK assets follow the version (docs/ccc-2x.md).
ALIYUN_CCC_API_VERSION = env.str("ALIYUN_CCC_API_VERSION", default="2020-07-01")
if ALIYUN_CCC_API_VERSION not in ("2017-07-05", "2020-07-01"):
    raise ImproperlyConfigured("ALIYUN_CCC_API_VERSION must be 2017-07-05 or 2020-07-01.")
_CCC_2X = ALIYUN_CCC_API_VERSION == "2020-07-01"
ALIYUN_CCC_INSTANCE_ID = env.str(
    "ALIYUN_CCC_INSTANCE_ID", default="ccc-sandbox" if _CCC_2X else "ccc-sandbox-instance"
)
ALIYUN_CCC_REGION = env.str("ALIYUN_CCC_REGION", default="cn-shanghai")
# host[:port][/path-prefix] given to aliyun-python-sdk-core's RpcRequest.set_endpoint().
ALIYUN_CCC_ENDPOINT = env.str("ALIYUN_CCC_ENDPOINT", default=_ccc_endpoint)
ALIYUN_CCC_PROTOCOL = env.str("ALIYUN_CCC_PROTOCOL", default="https")
# Softphone SDK assets: 2.x WorkbenchSdk 1.1.4 or 1.x 0.2.8 from g.alicdn.com; in sandbox mode the
# stand-in of the same major version is served locally.
if SANDBOX_ENABLED:
    _sdk_name = "workbench-sdk-v2" if _CCC_2X else "workbench-sdk"
    _sdk_scripts = [f"/{STATIC_URL}aliyun_sandbox/{_sdk_name}.js"]
    _sdk_css = [f"/{STATIC_URL}aliyun_sandbox/workbench-sdk.css"]
elif _CCC_2X:
    _sdk_scripts = [
        "https://g.alicdn.com/cloudcallcenter/SIPml/0.1.9/SIPml-api.js",
        "https://g.alicdn.com/cloudcallcenter-voip/web-agentbar-sdk/1.1.5/index.js",
        "https://g.alicdn.com/cloudcallcenter/web-workbench-sdk/1.1.4/workbenchSdk.min.js",
    ]
    _sdk_css = ["https://g.alicdn.com/acca/workbench-sdk/1.1.4/main.min.css"]
else:
    _sdk_scripts = [
        "https://g.alicdn.com/crm/acc-phone/1.1.0/SIPml-api.js",
        "https://g.alicdn.com/crm/acc-phone/1.1.0/index.js",
        "https://g.alicdn.com/acca/workbench-sdk/0.2.8/workbenchSdk.js",
    ]
    _sdk_css = ["https://g.alicdn.com/acca/workbench-sdk/0.2.8/main.min.css"]
ALIYUN_SDK_SCRIPT_URLS = env.list("ALIYUN_SDK_SCRIPT_URLS", default=_sdk_scripts)
ALIYUN_SDK_CSS_URLS = env.list("ALIYUN_SDK_CSS_URLS", default=_sdk_css)

# --- CCC proxy (/aliyun/ccc/api) ---------------------------------------------------------------
# Actions the softphone may call through the proxy; empty (the default) = every action the SDK of
# ALIYUN_CCC_API_VERSION calls (the tables in ccc_proxy/actions.py).
CCC_PROXY_ALLOWED_ACTIONS = env.list("CCC_PROXY_ALLOWED_ACTIONS", default=[])
# Largest softphone request accepted, bytes (body, or the `request` query parameter).
CCC_PROXY_MAX_BODY_BYTES = env.int("CCC_PROXY_MAX_BODY_BYTES", default=64 * 1024)
# Most top-level parameters accepted in one softphone request.
CCC_PROXY_MAX_PARAMETERS = env.int("CCC_PROXY_MAX_PARAMETERS", default=50)
# JSON 403 for API endpoints (the CCC proxy in its own error shape), Django's page elsewhere.
CSRF_FAILURE_VIEW = "workbench.views.csrf_failure"

# --- Token encryption at rest ----------------------------------------------------------------
# Comma-separated Fernet keys; the first encrypts, all decrypt (rotate by putting a new key first).
TOKEN_ENCRYPTION_KEYS = env.list("TOKEN_ENCRYPTION_KEYS", default=[])
try:
    from cryptography.fernet import Fernet

    for _key in TOKEN_ENCRYPTION_KEYS:
        Fernet(_key)
except ValueError as exc:  # said at start, not by the first sign-in that stores a token
    raise ImproperlyConfigured(
        "TOKEN_ENCRYPTION_KEYS must be Fernet keys (32 url-safe base64-encoded bytes each)."
    ) from exc
if not TOKEN_ENCRYPTION_KEYS:
    if not DEBUG:
        raise ImproperlyConfigured("TOKEN_ENCRYPTION_KEYS must be set when DEBUG is off.")
    import base64
    import hashlib

    TOKEN_ENCRYPTION_KEYS = [
        base64.urlsafe_b64encode(
            hashlib.sha256(b"crmdemo token encryption|" + SECRET_KEY.encode()).digest()
        ).decode()
    ]


# --- Sign-in throttling (django-axes) -----------------------------------------------------------
# Failed sign-ins (/login/ and /admin/login/) are counted per username + client address in the
# database every instance shares; at AXES_FAILURE_LIMIT that pair is refused for
# AXES_COOLOFF_TIME, even with the right password.
AXES_FAILURE_LIMIT = env.int("AXES_FAILURE_LIMIT", default=5)
AXES_COOLOFF_TIME = env.float("AXES_COOLOFF_MINUTES", default=15) / 60  # hours
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
# Usernames ignore case at sign-in, so "Edward" and "edward" count as one.
AXES_USERNAME_CALLABLE = "crmdemo.throttling.axes_username"
AXES_CLIENT_IP_CALLABLE = "crmdemo.throttling.axes_client_ip"
AXES_LOCKOUT_CALLABLE = "crmdemo.throttling.lockout_response"
AXES_VERBOSE = False  # its own log lines would name the username; ours do not

# --- Endpoint rate limits (django-ratelimit) ----------------------------------------------------
# "count/period" per signed-in user (per address when anonymous); past it a JSON 429 with
# Retry-After. Counted in the default cache (Redis: across instances). A Redis outage lets every
# request through (fail open) rather than refusing agents.
RATELIMIT_LOOKUP = env.str("RATELIMIT_LOOKUP", default="120/m")
RATELIMIT_CALL_LOG = env.str("RATELIMIT_CALL_LOG", default="240/m")
RATELIMIT_CCC_PROXY = env.str("RATELIMIT_CCC_PROXY", default="600/m")
RATELIMIT_FAIL_OPEN = True
RATELIMIT_ENABLE = env.bool("RATELIMIT_ENABLE", default=True)

# --- Content-Security-Policy (django-csp) -------------------------------------------------------
# No inline scripts or styles: CRM pages load theirs from static files; the one page that needs an
# inline script (the OAuth callback's self-submitting form) carries a per-response nonce. Only
# the workbench (same origin) may frame CRM pages. Origins of the softphone SDK assets are
# allowed; CSP_EXTRA_* add sources the real SDK talks to (comma-separated).


def _origins(urls: list[str]) -> list[str]:
    from urllib.parse import urlsplit

    return sorted(
        {f"{u.scheme}://{u.netloc}" for u in map(urlsplit, urls) if u.scheme and u.netloc}
    )


_SELF, _NONE = SELF, NONE
CONTENT_SECURITY_POLICY = {
    # The sandbox stands in for Alibaba's own pages (another site), not for CRM pages.
    "EXCLUDE_URL_PREFIXES": ["/sandbox/"],
    "DIRECTIVES": {
        "default-src": [_SELF],
        "script-src": [_SELF, NONCE, *_origins(ALIYUN_SDK_SCRIPT_URLS)]
        + env.list("CSP_EXTRA_SCRIPT_SRC", default=[]),
        "style-src": [_SELF, *_origins(ALIYUN_SDK_CSS_URLS)]
        + env.list("CSP_EXTRA_STYLE_SRC", default=[]),
        "img-src": [_SELF, "data:"] + env.list("CSP_EXTRA_IMG_SRC", default=[]),
        "connect-src": [_SELF] + env.list("CSP_EXTRA_CONNECT_SRC", default=[]),
        "media-src": [_SELF] + env.list("CSP_EXTRA_MEDIA_SRC", default=[]),
        "font-src": [_SELF],
        "object-src": [_NONE],
        "base-uri": [_SELF],
        # The account link leaves for the provider's sign-in page by redirect.
        "form-action": [_SELF, *_origins([ALIYUN_SIGNIN_BASE_URL, ALIYUN_OAUTH_AUTHORIZE_URL])],
        "frame-ancestors": [_SELF],
    },
}
