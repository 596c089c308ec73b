"""The operator's admin shows hooks and their deliveries, never the signing secret."""

import pytest
from django.contrib.auth.models import User

from events.models import EventDelivery, EventHook
from tests.support.admin_urls import admin_change_url

pytestmark = pytest.mark.django_db


def test_hook_and_delivery_pages_load_without_the_secret(client, api):
    User.objects.create_superuser("op", "op@example.com", "pw")
    client.login(username="op", password="pw")
    made = api.post("/v1/event-hooks", {"url": "https://hooks.example.com/x",
                                        "events": ["sync.run.failed"]}, format="json").json()
    hook = EventHook.objects.get(id=made["id"])
    EventDelivery.objects.create(hook=hook, event_type="sync.run.failed", message_id="msg_1",
                                 payload={"type": "sync.run.failed"}, status="failed",
                                 attempt=3, response_code=500)
    pages = [client.get(p) for p in ("/admin/events/eventhook/",
                                      admin_change_url(hook),
                                      "/admin/events/eventdelivery/")]
    assert all(p.status_code == 200 for p in pages)
    text = "".join(p.content.decode() for p in pages)
    assert hook.url in text and "sync.run.failed" in text
    assert made["secret"] not in text and hook.secret_ciphertext not in text
    assert client.get("/admin/events/eventhook/add/").status_code == 403
