"""/v1/event-hooks: master key only, the secret shown once and stored encrypted, the URL guard."""

import logging

import pytest
from django.test import override_settings

from accounts.services import org_create
from events.models import EventHook

pytestmark = pytest.mark.django_db

EVENTS = ["sync.run.succeeded", "sync.run.failed"]


def _create(api, url="https://hooks.example.com/coregit", events=EVENTS, **extra):
    return api.post("/v1/event-hooks", {"url": url, "events": events, **extra}, format="json")


def test_secret_is_shown_once_and_stored_encrypted(api, caplog):
    caplog.set_level(logging.DEBUG)
    with override_settings(COREGIT_ALLOW_PRIVATE_HOSTS=True):
        made = _create(api, description="pager")
    assert made.status_code == 201, made.json()
    body = made.json()
    secret = body["secret"]
    assert secret.startswith("whsec_") and len(secret) > 30
    assert body["events"] == EVENTS and body["description"] == "pager"
    assert body["disabled"] is False and body["disabled_reason"] is None
    hook = EventHook.objects.get(id=body["id"])
    assert secret not in hook.secret_ciphertext and hook.get_secret("secret_ciphertext") == secret
    listed = api.get("/v1/event-hooks")
    detail = api.get(f"/v1/event-hooks/{body['id']}")
    assert [h["id"] for h in listed.json()["event_hooks"]] == [body["id"]]
    for resp in (listed, detail):
        assert resp.status_code == 200 and secret not in resp.content.decode()
        assert "secret" not in resp.content.decode()
    assert secret not in caplog.text


def test_scoped_keys_get_403_and_other_orgs_404(api, make_client, scoped_key):
    hook_id = _create(api).json()["id"]
    scoped = make_client(scoped_key({"repos:*": ["write"]}))
    assert scoped.get("/v1/event-hooks").status_code == 403
    assert _create(scoped).status_code == 403
    assert scoped.delete(f"/v1/event-hooks/{hook_id}").status_code == 403
    _, other_key = org_create(name="Other")
    other = make_client(other_key)
    assert other.get("/v1/event-hooks").json()["event_hooks"] == []
    for resp in (other.get(f"/v1/event-hooks/{hook_id}"),
                 other.delete(f"/v1/event-hooks/{hook_id}"),
                 other.patch(f"/v1/event-hooks/{hook_id}", {"disabled": True}, format="json"),
                 other.get(f"/v1/event-hooks/{hook_id}/deliveries")):
        assert resp.status_code == 404 and resp.json()["code"] == "resource.not_found"
    assert EventHook.objects.filter(id=hook_id).exists()
    assert api.delete(f"/v1/event-hooks/{hook_id}").json() == {"deleted": True}
    assert api.get(f"/v1/event-hooks/{hook_id}").status_code == 404


@pytest.mark.parametrize("events", [[], ["sync.run.exploded"], "sync.run.failed", None])
def test_events_must_be_known_types(api, events):
    resp = _create(api, events=events)
    assert resp.status_code == 400 and resp.json()["code"] == "request.invalid"
    assert not EventHook.objects.exists()


@pytest.mark.parametrize("url", [
    "http://hooks.example.com/x",  # plain http
    "https://127.0.0.1/x", "https://10.1.2.3/x", "https://169.254.169.254/latest",
    "https://[::1]/x", "https://0x7f.1/x", "https://user:pw@hooks.example.com/x",
    "ftp://hooks.example.com/x", "/etc/passwd",
])
def test_the_url_guard_applies_as_to_provider_hosts(api, url):
    with override_settings(COREGIT_ALLOW_PRIVATE_HOSTS=False):
        resp = _create(api, url=url)
        assert resp.status_code == 400 and resp.json()["code"] == "request.unsafe_address"
        hook_id = _create(api, url="https://8.8.8.8/hook").json()["id"]
        patched = api.patch(f"/v1/event-hooks/{hook_id}", {"url": url}, format="json")
        assert patched.status_code == 400 and patched.json()["code"] == "request.unsafe_address"
    assert EventHook.objects.get(id=hook_id).url == "https://8.8.8.8/hook"


def test_private_hosts_are_admitted_only_when_allowed(api):
    with override_settings(COREGIT_ALLOW_PRIVATE_HOSTS=True):
        assert _create(api, url="http://127.0.0.1:9/x").status_code == 201


def test_patch_updates_fields_and_enables_again(api):
    hook_id = _create(api).json()["id"]
    EventHook.objects.filter(id=hook_id).update(disabled=True, disabled_reason="broken",
                                                consecutive_failures=10)
    shown = api.get(f"/v1/event-hooks/{hook_id}").json()
    assert shown["disabled"] is True and shown["disabled_reason"] == "broken"
    resp = api.patch(f"/v1/event-hooks/{hook_id}",
                     {"disabled": False, "events": ["sync.diverged"], "description": "d"},
                     format="json")
    assert resp.status_code == 200, resp.json()
    body = resp.json()
    assert (body["disabled"], body["disabled_reason"], body["consecutive_failures"]) == (
        False, None, 0)
    assert body["events"] == ["sync.diverged"] and body["description"] == "d"
    assert "secret" not in body


def test_rotate_encryption_key_covers_hook_secrets(api, settings):
    from django.core.management import call_command

    from connections import crypto

    secret = _create(api).json()["secret"]
    new = crypto.generate_key_string("k2")
    settings.COREGIT_ENCRYPTION_KEYS = f"{new},{settings.COREGIT_ENCRYPTION_KEYS}"
    crypto.reset_keyring_cache()
    try:
        call_command("rotate_encryption_key", stdout=open("/dev/null", "w"))
        settings.COREGIT_ENCRYPTION_KEYS = new  # the old key is gone
        crypto.reset_keyring_cache()
        hook = EventHook.objects.get()
        assert not crypto.needs_rotation(hook.secret_ciphertext)
        assert hook.get_secret("secret_ciphertext") == secret
    finally:
        crypto.reset_keyring_cache()
