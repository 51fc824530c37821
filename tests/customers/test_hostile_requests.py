"""One test per class of hostile request a tester found (issue 16): each was a 500, an escaped
exception or a silent data change, and is now the right 4xx with nothing written. JSON endpoints
answer JSON; pages answer a readable page."""

import base64
import json
import os
import tempfile
from io import BytesIO

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse

from customers.models import CallRecord, Customer
from customers.services import log_call, set_call_notes

pytestmark = pytest.mark.django_db

MANY_PARAMETERS = "&".join(f"p{i}=1" for i in range(1200))
FORM = "application/x-www-form-urlencoded"
CSV = "name,phones\nChen Jing,+86 138-0013-8000\n"


def _csrf_client(user) -> tuple[Client, str]:
    """A client that enforces CSRF, signed in as ``user``, with its CSRF token."""
    client = Client(enforce_csrf_checks=True)
    if user is not None:
        client.force_login(user)
    client.get(reverse("login"))
    return client, client.cookies["csrftoken"].value


@pytest.fixture
def call(agent, mr_lu):
    record = log_call(
        agent,
        event="released",
        contact_id="c-1",
        direction="inbound",
        caller="135012345678",
        customer_id=mr_lu.pk,
    )
    return set_call_notes(agent, record.pk, "Wants a callback")


def test_list_cursor_of_deeply_nested_json_is_a_readable_400(agent_client, mr_lu):
    cursor = base64.urlsafe_b64encode(b"[" * 5000).decode().rstrip("=")
    response = agent_client.get(reverse("customers:list"), {"after": cursor})
    assert response.status_code == 400
    assert "This page link is not valid" in response.content.decode()


@pytest.mark.parametrize(
    "path",
    [
        "/",
        "/customers/",
        "/admin/customers/customer/",
        "/admin/customers/customer/{pk}/change/",
        "/admin/customers/customer/{pk}/delete/",
        "/admin/customers/customer/{pk}/history/",
    ],
)
def test_1200_query_parameters_on_a_page_are_a_readable_400(supervisor_client, mr_lu, path):
    response = supervisor_client.get(path.format(pk=mr_lu.pk) + "?" + MANY_PARAMETERS)
    assert response.status_code == 400
    assert response["Content-Type"].startswith("text/html")
    assert "too many parameters" in response.content.decode()


def test_1200_query_parameters_on_the_json_lookup_are_a_json_400(agent_client, mr_lu):
    response = agent_client.get("/customers/lookup?number=135012345678&" + MANY_PARAMETERS)
    assert response.status_code == 400
    assert "too many parameters" in response.json()["error"]


@pytest.mark.parametrize("charset", ["utf-7", "utf-16", "no-such-charset"])
@pytest.mark.parametrize(
    ("who", "path"),
    [
        (None, "/login/"),
        ("agent", "/logout/"),
        ("supervisor", "/customers/new"),
        ("agent", "/customers/calls/{call}/notes"),
        ("agent", "/aliyun/auth/callback"),
        ("agent", "/aliyun/refresh"),
        ("agent", "/aliyun/revoke"),
        (None, "/admin/login/"),
        ("supervisor", "/admin/customers/customer/add/"),
        ("supervisor", "/admin/customers/customer/import/"),
        (None, "/sandbox/simulator/ring"),
    ],
)
def test_a_post_in_an_unusable_charset_is_a_400_and_changes_nothing(
    request, settings, call, who, path, charset
):
    settings.SANDBOX_ENABLED = True
    user = request.getfixturevalue(who) if who else None
    client, token = _csrf_client(user)
    body = f"csrfmiddlewaretoken={token}&notes=x&name=Wu&phone=13800138000&agent=edward"
    response = client.generic(
        "POST",
        path.format(call=call.pk),
        body.encode(),
        content_type=f"{FORM}; charset={charset}",
        headers={"X-CSRFToken": token},
    )
    assert response.status_code == 400, response.content[:300]
    assert "Send the request body as UTF-8" in response.content.decode()
    call.refresh_from_db()
    assert call.notes == "Wants a callback"
    assert Customer.objects.count() == 1


@pytest.mark.parametrize(
    "kind", ["multipart", "broken-multipart", "file-upload", "deep-json", "form"]
)
def test_call_log_reads_only_a_json_body_and_answers_json(agent, call, kind):
    # As the browser sends it: CSRF enforced (its check reads a form body before the view).
    client, token = _csrf_client(agent)
    url = reverse("customers:call_log")
    headers = {"X-CSRFToken": token}
    if kind == "multipart":
        data = {"event": "notes", "contactId": "c-1", "notes": ""}
        response = client.post(url, data, headers=headers)
    elif kind == "broken-multipart":
        response = client.generic(
            "POST",
            url,
            b"--x\r\nbroken",
            content_type="multipart/form-data; boundary=x",
            headers=headers,
        )
    elif kind == "file-upload":
        upload = SimpleUploadedFile("a.json", b'{"event": "notes"}')
        response = client.post(url, {"file": upload}, headers=headers)
    elif kind == "form":
        body = "event=notes&contactId=c-1"
        response = client.post(url, body, content_type=FORM, headers=headers)
    else:
        for depth in (400, 5000):
            body = "[" * depth + "]" * depth
            response = client.post(url, body, content_type="application/json", headers=headers)
            assert response.status_code == 400
    assert 400 <= response.status_code < 500, response.content[:300]
    assert response["Content-Type"] == "application/json"
    assert response.json()["error"]
    call.refresh_from_db()
    assert call.notes == "Wants a callback" and CallRecord.objects.count() == 1


def test_notes_save_without_the_notes_field_keeps_the_note(agent_client, call):
    url = reverse("customers:call_notes", args=[call.pk])
    response = agent_client.post(url, {"other": "x"})
    assert response.status_code == 400
    assert "Send the notes field" in response.content.decode()
    call.refresh_from_db()
    assert call.notes == "Wants a callback"


@pytest.mark.parametrize("body", [b"notes=%FF%FEbad", b"notes=caf%C3", b"not%FFes=x"])
def test_notes_that_are_not_valid_utf8_are_refused(agent_client, call, body):
    url = reverse("customers:call_notes", args=[call.pk])
    response = agent_client.generic("POST", url, body, content_type=FORM)
    assert response.status_code == 400
    assert "not valid UTF-8" in response.content.decode()
    call.refresh_from_db()
    assert call.notes == "Wants a callback"


def test_notes_in_a_multipart_body_that_are_not_valid_utf8_are_refused(agent_client, call):
    boundary = "b0undary"
    body = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="notes"\r\n\r\n'.encode()
        + b"\xff\xfebad\r\n"
        + f"--{boundary}--\r\n".encode()
    )
    url = reverse("customers:call_notes", args=[call.pk])
    response = agent_client.generic(
        "POST", url, body, content_type=f"multipart/form-data; boundary={boundary}"
    )
    assert response.status_code == 400
    call.refresh_from_db()
    assert call.notes == "Wants a callback"


def _preview(client):
    upload = SimpleUploadedFile("customers.csv", CSV.encode(), content_type="text/csv")
    response = client.post(
        reverse("admin:customers_customer_import"),
        {"import_file": upload, "format": "0", "resource": "0"},
    )
    return response.context["confirm_form"].initial


def _confirm(client, data):
    return client.post(reverse("admin:customers_customer_process_import"), data, follow=True)


@pytest.mark.parametrize(
    "forged",
    [
        {"format": "7"},
        {"format": "csv"},
        {"resource": "3"},
    ],
)
def test_import_confirmation_with_forged_fields_is_a_message(supervisor_client, forged):
    data = {**_preview(supervisor_client), **forged}
    response = _confirm(supervisor_client, data)
    assert response.status_code == 200
    assert response.redirect_chain[-1][0] == reverse("admin:customers_customer_import")
    assert not Customer.objects.exists()


def test_import_confirmation_with_duplicated_fields_is_a_message(supervisor_client):
    data = _preview(supervisor_client)
    for name in ("format", "import_file_name"):
        doubled = {**data, name: [data[name], data[name]]}
        response = _confirm(supervisor_client, doubled)
        assert response.redirect_chain[-1][0] == reverse("admin:customers_customer_import")
        assert not Customer.objects.exists()
    assert _confirm(supervisor_client, data).status_code == 200  # the real one still works
    assert Customer.objects.count() == 1


def test_import_confirmation_with_a_non_utf8_file_name_is_a_400(supervisor_client):
    data = _preview(supervisor_client)
    body = "&".join(f"{k}={v}" for k, v in data.items() if k != "import_file_name")
    response = supervisor_client.generic(
        "POST",
        reverse("admin:customers_customer_process_import"),
        (body + "&import_file_name=%FF%FE").encode(),
        content_type=FORM,
    )
    assert response.status_code == 400
    assert not Customer.objects.exists()


def test_import_confirmation_never_reads_or_deletes_a_planted_file(
    supervisor_client, supervisor, django_user_model, roles
):
    from customers.importing import import_folder

    planted = tempfile.NamedTemporaryFile(  # noqa: SIM115 - kept to check it is untouched
        "w", suffix=".csv", delete=False, dir=tempfile.gettempdir()
    )
    planted.write("name,phones\nPlanted,13900139000\n")
    planted.close()
    names = [
        os.path.basename(planted.name),
        planted.name,
        "../" + os.path.basename(planted.name),
        "https://example.com/customers.csv",
        "no-such-file",
        "0" * 32,
    ]
    try:
        for name in names:
            data = _preview(supervisor_client)
            data["import_file_name"] = name
            response = _confirm(supervisor_client, data)
            assert response.redirect_chain[-1][0] == reverse("admin:customers_customer_import")
            assert os.path.exists(planted.name)
            assert not Customer.objects.exists()
    finally:
        os.remove(planted.name)
    # Another supervisor's pending file is not this user's to confirm either.
    other = django_user_model.objects.create_user("boss2", password="pw-2", is_staff=True)
    other.groups.add(roles["Supervisors"])
    other_client = Client()
    other_client.force_login(other)
    theirs = _preview(other_client)
    _confirm(supervisor_client, theirs)
    assert not Customer.objects.exists()
    assert os.path.exists(os.path.join(import_folder(), theirs["import_file_name"]))
    assert _confirm(other_client, theirs).status_code == 200
    assert Customer.objects.count() == 1


@pytest.mark.parametrize("method", ["get", "head"])
def test_export_with_format_and_resource_in_the_query_is_not_a_500(
    supervisor_client, mr_lu, method
):
    url = reverse("admin:customers_customer_export") + "?format=0&resource=0"
    response = getattr(supervisor_client, method)(url)
    assert response.status_code in (200, 302)


def test_static_path_leaving_the_static_folders_is_a_404_in_the_dev_server(settings):
    from django.core.handlers.wsgi import WSGIHandler
    from django.test import RequestFactory

    from workbench.management.commands.runsslserver import SafeStaticFilesHandler

    handler = SafeStaticFilesHandler(WSGIHandler())
    environ = RequestFactory().get("/").environ
    environ.update(PATH_INFO="/static/../../../etc/passwd", REQUEST_METHOD="GET")
    environ["wsgi.input"] = BytesIO(b"")
    status = []
    body = b"".join(handler(environ, lambda s, h, *a: status.append(s)))
    assert status[0].startswith("404"), status
    assert b"root:" not in body
    json.dumps(status)  # the answer was produced, nothing escaped


def test_admin_delete_needs_the_confirmation_forms_own_post(supervisor_client, call, mr_lu):
    url = reverse("admin:customers_customer_delete", args=[mr_lu.pk])
    response = supervisor_client.post(url, {"agent": "\x00x"}, follow=True)
    assert "Nothing was deleted" in response.content.decode()
    assert Customer.objects.filter(pk=mr_lu.pk).exists() and CallRecord.objects.exists()
    supervisor_client.post(url, {"post": "yes"})
    assert not Customer.objects.filter(pk=mr_lu.pk).exists()
