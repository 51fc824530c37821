"""A seeded, bounded fuzz test: every URL pattern of the product and the sandbox, hostile requests,
three roles.

The URL patterns are walked from the root URLconf, so a new pattern is fuzzed without editing
this file (a pattern this walker cannot build a path for fails the test). Each pattern gets
``FUZZ_REQUESTS`` generated requests (default 24) as an anonymous user, an agent and a
supervisor, with CSRF enforced and the right token sent, so the requests reach the views. The
classes: wrong and odd methods, too many query parameters or form fields, a charset other than
UTF-8, invalid UTF-8 in the query, form or multipart body, deeply nested and broken JSON, broken
multipart, odd content types, an empty body (missing fields), huge values, control characters,
injection and path-traversal strings in fields and in the path. Every value put in a field the
product knows holds a NUL or invalid UTF-8, so no generated request is a valid save.

The test fails on any 5xx or exception, on a non-JSON answer from a JSON endpoint (a view marked
``json_api``, see crmdemo/middleware.py), and on any change in any database table other than
the sessions (and ``MAY_WRITE``: the pending sign-in ``/aliyun/auth`` records for any request,
the sandbox's first signing key).
``FUZZ_SEED`` picks another sequence; a failure message names the seed, the request and the
answer.
"""

import contextlib
import json
import os
import random
import re
from dataclasses import dataclass
from urllib.parse import quote

import pytest
from django.contrib.auth.models import Group, Permission
from django.db import connections
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, resolve
from django.urls.exceptions import Resolver404

from customers.services import ensure_customer, log_call, set_call_notes

SEED = int(os.environ.get("FUZZ_SEED", "16"))
PER_PATTERN = int(os.environ.get("FUZZ_REQUESTS", "24"))  # per pattern and role
ROLES = ("anonymous", "agent", "supervisor")

# Tables any request may change: the session store (sign-in state), and (view name -> tables)
# writes a view makes whatever its input (a sign-in started at /aliyun/auth stores its state).
ALWAYS_MAY_CHANGE = ("django_session", "axes_")
# The sandbox makes its first id_token signing key when its key set is first read.
MAY_WRITE = {
    "aliyun_oauth:authorize": ("aliyun_oauth_pendingauthorization",),
    "aliyun_sandbox:oauth_jwks": ("aliyun_sandbox_signingkey",),
}

# Field names the product reads; values sent in them always hold a NUL or invalid UTF-8.
KNOWN_FIELDS = [
    "notes",
    "name",
    "phone",
    "phone2",
    "company",
    "email",
    "q",
    "after",
    "before",
    "number",
    "event",
    "contactId",
    "customerId",
    "format",
    "resource",
    "import_file_name",
    "original_file_name",
    "action",
    "request",
    "code",
    "state",
    "token",
    "token_type_hint",
    "grant_type",
    "refresh_token",
    "client_id",
    "client_secret",
    "redirect_uri",
    "signData",
    "signature",
    "connid",
    "agent",
    "caller",
    "username",
    "password",
    "next",
    "page",
]
HOSTILE = [
    "' OR 1=1 --",
    '"><script>alert(1)</script>',
    "{{7*7}}{% debug %}",
    "../../../../etc/passwd",
    "..%2F..%2Fetc%2Fpasswd",
    "${jndi:ldap://127.0.0.1/a}",
    "\u202e\u200bgnp.exe",
    "李雷\U0001f600",
    "-1",
    "99999999999999999999999",
    "[]",
    '{"a":',
    "0x0",
    "=HYPERLINK(1)",
    "\r\nSet-Cookie: a=b",
]
ODD_CONTENT_TYPES = [
    "text/plain",
    "application/xml",
    "application/json",
    "application/json; charset=utf-8",
    "application/octet-stream",
    "",
    "multipart/form-data",  # no boundary
    "application/x-www-form-urlencoded; charset=",
]
FORM = "application/x-www-form-urlencoded"


@dataclass
class Fuzzed:
    method: str
    path: str
    body: bytes = b""
    content_type: str = FORM
    kind: str = ""

    def __str__(self):
        shown = self.body[:120]
        return f"{self.kind}: {self.method} {self.path[:160]} [{self.content_type}] {shown!r}"


# --- the URL patterns --------------------------------------------------------------------------


def _patterns(resolvers, prefix=()):
    for entry in resolvers:
        if isinstance(entry, URLResolver):
            yield from _patterns(entry.url_patterns, (*prefix, entry.pattern))
        elif isinstance(entry, URLPattern):
            yield (*prefix, entry.pattern), entry


_ROUTE_PART = re.compile(r"<(?:(?P<converter>[^>:]+):)?(?P<name>[^>]+)>")
_REGEX_GROUP = re.compile(r"\(\?P<(?P<name>\w+)>(?P<body>[^)]*)\)")


def _value(rng: random.Random, converter: str, ids: list[int]) -> str:
    if converter == "int":
        return str(rng.choice([*ids, 0, 2**31]))
    if converter == "slug":
        return rng.choice(["poll", "state", "x", "answer", "a-b", "0" * 80])
    return rng.choice(
        [
            str(rng.choice(ids)),
            "135012345678",
            quote("../../etc/passwd", safe=""),
            "%00",
            "%FF%FE",
            quote("李雷", safe=""),
            "a" * 300,
            quote("<script>", safe=""),
        ]
    )


def _piece(rng, pattern, ids) -> str:
    """A concrete path piece for one (route or regex) pattern."""
    text = str(pattern)
    if hasattr(pattern, "regex") and not hasattr(pattern, "_route"):
        text = text.lstrip("^").rstrip("$").replace("\\Z", "")

        def group(match):
            alternatives = match["body"].split("|")
            if all(re.fullmatch(r"[\w-]+", a) for a in alternatives):
                return rng.choice(alternatives)
            return rng.choice(["x", "x/y", quote("../../etc", safe=""), "1/change/"])

        return _REGEX_GROUP.sub(group, text)
    return _ROUTE_PART.sub(lambda m: _value(rng, m["converter"] or "str", ids), text)


def build_path(rng, pieces, entry, ids) -> str | None:
    """A path that resolves to ``entry``'s view (None when none of a few tries does)."""
    for _ in range(20):
        path = "/" + "".join(_piece(rng, p, ids) for p in pieces)
        try:
            match = resolve(path.split("?")[0].replace("%FF%FE", "x"))
        except Resolver404:
            continue
        if match.func == entry.callback:
            return path
    return None


# --- the requests ------------------------------------------------------------------------------


def _bad_text(rng: random.Random) -> str:
    """A hostile value for a known field: always with a NUL (the product refuses it)."""
    base = rng.choice(HOSTILE)
    cut = rng.randrange(len(base) + 1)
    return base[:cut] + "\x00" + base[cut:]


def _fields(rng: random.Random, count: int) -> list[tuple[str, str]]:
    fields = []
    for _ in range(count):
        if rng.random() < 0.6:
            fields.append((rng.choice(KNOWN_FIELDS), _bad_text(rng)))
        else:
            fields.append((rng.choice(HOSTILE) + str(rng.randrange(99)), rng.choice(HOSTILE)))
    return fields


def _urlencode(fields) -> str:
    return "&".join(f"{quote(k, safe='')}={quote(v, safe='')}" for k, v in fields)


def _multipart(fields, extra: bytes = b"") -> tuple[bytes, str]:
    boundary = "fuzzb0undary"
    body = b""
    for name, value in fields:
        body += f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n'.encode()
        body += value.encode("utf-8", "surrogatepass") + b"\r\n"
    body += extra + f"--{boundary}--\r\n".encode()
    return body, f"multipart/form-data; boundary={boundary}"


def generate(rng: random.Random, path: str, token: str) -> Fuzzed:
    """One hostile request for ``path`` (its class chosen by ``rng``)."""
    csrf = [("csrfmiddlewaretoken", token)]
    kind = rng.choice(
        [
            "method",
            "many-query",
            "many-fields",
            "charset",
            "bad-utf8-query",
            "bad-utf8-form",
            "bad-utf8-multipart",
            "deep-json",
            "broken-json",
            "broken-multipart",
            "file-upload",
            "odd-content-type",
            "empty",
            "huge-value",
            "hostile-query",
            "hostile-form",
        ]
    )
    sep = "&" if "?" in path else "?"
    post = "POST"
    if kind == "method":
        method = rng.choice(["PUT", "PATCH", "DELETE", "OPTIONS", "TRACE", "HEAD", "PROPFIND"])
        return Fuzzed(method, path, _urlencode(_fields(rng, 3)).encode(), FORM, kind)
    if kind == "many-query":
        query = "&".join(f"p{i}=1" for i in range(rng.randrange(1001, 1400)))
        return Fuzzed(rng.choice(["GET", "POST"]), f"{path}{sep}{query}", b"", FORM, kind)
    if kind == "many-fields":
        fields = csrf + [(f"f{i}", "x") for i in range(rng.randrange(1001, 1400))]
        return Fuzzed(post, path, _urlencode(fields).encode(), FORM, kind)
    if kind == "charset":
        charset = rng.choice(["utf-7", "utf-16", "utf-32", "latin-1", "x-no-such", "gbk"])
        body = _urlencode(csrf + _fields(rng, 3)).encode()
        return Fuzzed(post, path, body, f"{FORM}; charset={charset}", kind)
    if kind == "bad-utf8-query":
        return Fuzzed("GET", f"{path}{sep}{rng.choice(KNOWN_FIELDS)}=%FF%FEx%C3", b"", FORM, kind)
    if kind == "bad-utf8-form":
        body = _urlencode(csrf) + f"&{rng.choice(KNOWN_FIELDS)}=ok%FF%C0%AF&x%E9=1"
        return Fuzzed(post, path, body.encode(), FORM, kind)
    if kind == "bad-utf8-multipart":
        body, content_type = _multipart(csrf + [(rng.choice(KNOWN_FIELDS), "\udcff\udcfe")])
        return Fuzzed(post, path, body, content_type, kind)
    if kind == "deep-json":
        depth = rng.choice([300, 1200, 6000])
        opener, closer = rng.choice([("[", "]"), ('{"a":', "}")])
        body = (opener * depth + "1" + closer * depth).encode()
        return Fuzzed(post, path, body, "application/json", kind)
    if kind == "broken-json":
        body = rng.choice([b'{"event": ', b"\xff\xfe{}", b"[1, 2", b"null", b'"\\ud800"', b"{}"])
        return Fuzzed(post, path, body, "application/json", kind)
    if kind == "broken-multipart":
        return Fuzzed(post, path, b"--x\r\nbroken", "multipart/form-data; boundary=x", kind)
    if kind == "file-upload":
        extra = (
            b'--fuzzb0undary\r\nContent-Disposition: form-data; name="import_file"; '
            b'filename="../../x.csv"\r\nContent-Type: text/csv\r\n\r\nname\r\n\x00\xff\r\n'
        )
        body, content_type = _multipart(csrf, extra)
        return Fuzzed(post, path, body, content_type, kind)
    if kind == "odd-content-type":
        body = _urlencode(csrf + _fields(rng, 2)).encode()
        return Fuzzed(post, path, body, rng.choice(ODD_CONTENT_TYPES), kind)
    if kind == "empty":
        return Fuzzed(rng.choice(["POST", "GET"]), path, b"", FORM, kind)
    if kind == "huge-value":
        fields = csrf + [(rng.choice(KNOWN_FIELDS), "\x00" + "x" * rng.choice([70_000, 300_000]))]
        return Fuzzed(post, path, _urlencode(fields).encode(), FORM, kind)
    if kind == "hostile-query":
        return Fuzzed("GET", f"{path}{sep}{_urlencode(_fields(rng, 4))}", b"", FORM, kind)
    return Fuzzed(post, path, _urlencode(csrf + _fields(rng, 5)).encode(), FORM, kind)


# --- the database ------------------------------------------------------------------------------


def snapshot(skip: tuple[str, ...]) -> dict[tuple[str, str], int]:
    """A hash of every row of every table of every database, but tables starting with ``skip``."""
    state = {}
    for conn in connections.all():
        with conn.cursor() as cursor:
            for table in conn.introspection.table_names(cursor):
                if table.startswith(skip):
                    continue
                cursor.execute(f"SELECT * FROM {conn.ops.quote_name(table)}")  # noqa: S608
                state[(conn.alias, table)] = hash(tuple(sorted(map(repr, cursor.fetchall()))))
    return state


# --- the test ----------------------------------------------------------------------------------


@pytest.fixture
def people(db, django_user_model):
    """An agent and a supervisor as bootstrap_demo makes them, a customer with a call."""
    from customers.roles import ROLE_PERMISSIONS

    groups = {}
    for name, codenames in ROLE_PERMISSIONS.items():
        group, _ = Group.objects.get_or_create(name=name)
        group.permissions.set(
            Permission.objects.filter(content_type__app_label="customers", codename__in=codenames)
        )
        groups[name] = group
    agent = django_user_model.objects.create_user("edward", password="fuzz-1234")
    agent.groups.add(groups["Agents"])
    boss = django_user_model.objects.create_user("boss", password="fuzz-5678", is_staff=True)
    boss.groups.add(groups["Supervisors"])
    customer = ensure_customer("Mr Lu", ["135012345678"], company="Alibaba Cloud demo")[0]
    call = log_call(agent, event="released", contact_id="c-1", direction="inbound",
                    caller="135012345678", customer_id=customer.pk)  # fmt: skip
    set_call_notes(agent, call.pk, "Wants a callback")
    return {"agent": agent, "supervisor": boss, "ids": [customer.pk, call.pk, agent.pk, boss.pk]}


@pytest.mark.django_db(databases="__all__")
def test_fuzz_every_url_pattern_as_anonymous_agent_and_supervisor(people, settings):
    settings.SANDBOX_ENABLED = True
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    rng = random.Random(SEED)
    patterns = list(_patterns(get_resolver().url_patterns))
    assert len(patterns) > 40  # the product and the sandbox were found
    unbuildable, failures, sent = [], [], 0
    clients = {}
    for role in ROLES:
        client = Client(enforce_csrf_checks=True, raise_request_exception=True)
        client.get("/login/")
        clients[role] = (client, client.cookies["csrftoken"].value)
    for pieces, entry in patterns:
        is_json = getattr(entry.callback, "json_api", False)
        for role in ROLES:
            client, token = clients[role]
            for _ in range(PER_PATTERN):
                path = build_path(rng, pieces, entry, people["ids"])
                if path is None:
                    unbuildable.append("".join(map(str, pieces)))
                    break
                request = generate(rng, path, token)
                if role != "anonymous":
                    client.force_login(people[role])  # a fuzzed /logout/ may have ended it
                allowed = ALWAYS_MAY_CHANGE
                with contextlib.suppress(Resolver404):
                    allowed += MAY_WRITE.get(resolve(path.split("?")[0]).view_name, ())
                before = snapshot(allowed)
                sent += 1
                try:
                    response = client.generic(
                        request.method,
                        request.path,
                        request.body,
                        content_type=request.content_type,
                        headers={"X-CSRFToken": token},
                    )
                except Exception as exc:  # an exception that escaped Django's handler
                    failures.append(f"{role} {request}: raised {type(exc).__name__}: {exc}")
                    continue
                problem = _problem(request, response, is_json)
                if problem is None and snapshot(allowed) != before:
                    changed = {k for k, v in snapshot(allowed).items() if before.get(k) != v}
                    problem = f"changed {sorted(changed)}"
                if problem:
                    failures.append(f"{role} {request} -> {response.status_code}: {problem}")
    print(f"fuzz: seed {SEED}, {len(patterns)} URL patterns, {sent} requests "
          f"({PER_PATTERN} per pattern and role)")  # fmt: skip
    assert not unbuildable, f"no path could be built for {sorted(set(unbuildable))}"
    assert not failures, f"seed {SEED}: {len(failures)} failures:\n" + "\n".join(failures[:30])


def _problem(request: Fuzzed, response, is_json: bool) -> str | None:
    if response.status_code >= 500:
        return "server error"
    if not is_json or request.method in ("HEAD", "OPTIONS"):
        return None
    if response.status_code in (204, 301, 302, 303, 304):
        return None
    if "json" not in response.get("Content-Type", ""):
        return f"non-JSON answer ({response.get('Content-Type')}) from a JSON endpoint"
    try:
        json.loads(response.content)
    except ValueError:
        return "unparsable JSON from a JSON endpoint"
    return None
