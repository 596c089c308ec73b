"""One known token through every connection operation: it must surface nowhere."""

import logging

import pytest
from django.contrib.auth.models import User

from connections import services
from connections.clients import Credentials
from connections.models import Connection
from core.errors import CoregitError
from tests.support.admin_urls import admin_change_url

TOKEN = "ghp_LEAKCANARY0123456789abcdef"
NEW = "ghp_LEAKCANARYrotated987654321"
BAD = "ghp_LEAKCANARYrejected00000000"


@pytest.fixture
def github(rsps):
    def answer(request):
        token = request.headers.get("Authorization", "").removeprefix("Bearer ")
        if token in (TOKEN, NEW):
            return 200, {}, '{"login": "octocat"}'
        return 401, {}, '{"message": "Bad credentials"}'

    rsps.add_callback("GET", "https://api.github.com/user", callback=answer)
    return rsps


def test_token_never_in_responses_logs_admin_or_errors(api, github, client, caplog, org):
    caplog.set_level(logging.DEBUG)
    bodies, errors = [], []
    made = api.post("/v1/connections", {"provider": "github", "label": "L",
                    "access_token": TOKEN}, format="json")
    conn_id = made.json()["id"]
    bodies += [made, api.get("/v1/connections"),
               api.patch(f"/v1/connections/{conn_id}", {"access_token": BAD}, format="json"),
               api.patch(f"/v1/connections/{conn_id}", {"access_token": NEW}, format="json"),
               api.post(f"/v1/connections/{conn_id}/test"),
               api.post("/v1/connections", {"provider": "github", "label": "L",
                        "access_token": BAD}, format="json")]
    assert [r.status_code for r in bodies] == [201, 200, 400, 200, 200, 400]

    for call in (lambda: services.connection_create(org=org, label="x", creds=Credentials(
                     provider="github", access_token=BAD)),
                 lambda: services.connection_update(connection=Connection.objects.get(
                     id=conn_id), access_token=BAD)):
        with pytest.raises(CoregitError) as err:
            call()
        errors.append(f"{err.value} {err.value!r} {err.value.message}")

    User.objects.create_superuser("admin", "a@example.com", "pw")
    client.login(username="admin", password="pw")
    admin_pages = [client.get("/admin/connections/connection/"),
                   client.get(admin_change_url(Connection.objects.get(id=conn_id)))]
    assert all(p.status_code == 200 for p in admin_pages)
    assert b"octocat" in admin_pages[1].content  # the page really shows the connection

    bodies.append(api.delete(f"/v1/connections/{conn_id}"))
    texts = [r.content.decode() for r in bodies + admin_pages] + errors
    texts += [f"{rec.getMessage()} {rec.args!r} {rec.exc_text or ''}" for rec in caplog.records]
    texts.append(repr(Credentials(provider="github", access_token=TOKEN)))
    for secret in (TOKEN, NEW, BAD, "LEAKCANARY"):
        leaks = [t for t in texts if secret in t]
        assert not leaks, f"{secret} leaked: {leaks[0][:200]}"
