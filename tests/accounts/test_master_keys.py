"""A lost master key is recovered with mint_master_key; the last master key cannot be deleted."""

import io
import threading

import pytest
import requests
from django.core.management import CommandError, call_command

from accounts.models import ApiKey, Organization


def _mint(slug: str) -> str:
    out = io.StringIO()
    call_command("mint_master_key", slug, "--quiet", stdout=out)
    return out.getvalue().strip()


def test_mint_master_key_recovers_an_organization_whose_key_was_lost(org, master_key, make_client):
    out = io.StringIO()
    call_command("mint_master_key", org.slug, stdout=out)
    new = out.getvalue().split("shown once): ")[1].split()[0]
    assert new != master_key
    assert ApiKey.objects.filter(org=org, is_master=True).count() == 2
    fresh = make_client(new)
    keys = fresh.get("/v1/keys").json()["keys"]
    assert [k["master"] for k in keys] == [True, True]
    lost = ApiKey.objects.get(key_hash=_digest(master_key))
    assert fresh.delete(f"/v1/keys/{lost.id}").json() == {"deleted": True}
    assert make_client(master_key).get("/v1/repos").status_code == 401
    assert fresh.post("/v1/repos", {"slug": "after"}, format="json").status_code == 201


def test_mint_master_key_for_an_unknown_organization_fails_and_creates_nothing(db):
    with pytest.raises(CommandError, match="not found"):
        call_command("mint_master_key", "nobody", stdout=io.StringIO())
    assert not ApiKey.objects.exists()


def test_the_last_master_key_cannot_be_deleted(org, api, master_key, make_client):
    only = ApiKey.objects.get(org=org, is_master=True)
    resp = api.delete(f"/v1/keys/{only.id}")
    assert resp.status_code == 409
    assert resp["Content-Type"].startswith("application/json")
    assert resp.json()["code"] == "key.last_master"
    assert "mint_master_key" in resp.json()["error"]
    assert make_client(master_key).get("/v1/keys").status_code == 200  # still there, still works

    second = _mint(org.slug)
    assert api.delete(f"/v1/keys/{only.id}").json() == {"deleted": True}  # not the last any more
    last = ApiKey.objects.get(org=org, is_master=True)
    assert make_client(second).delete(f"/v1/keys/{last.id}").status_code == 409


def test_another_organizations_master_keys_do_not_count(org, api):
    other = Organization.objects.create(name="Other", slug="other")
    _mint(other.slug)
    only = ApiKey.objects.get(org=org, is_master=True)
    assert api.delete(f"/v1/keys/{only.id}").status_code == 409


@pytest.mark.django_db(transaction=True)
def test_two_masters_deleting_each_other_at_once_leave_one(live_server):
    from accounts.services import org_create

    for round_ in range(5):
        org, first = org_create(name=f"race {round_}")
        second = _mint(org.slug)
        ids = {raw: ApiKey.objects.get(org=org, key_hash=_digest(raw)).id for raw in (first, second)}
        barrier = threading.Barrier(2)
        answers = []

        def delete(me: str, victim: str) -> None:
            barrier.wait()
            answers.append(requests.delete(f"{live_server.url}/v1/keys/{ids[victim]}",
                                           headers={"x-api-key": me}, timeout=120).status_code)

        threads = [threading.Thread(target=delete, args=(first, second)),
                   threading.Thread(target=delete, args=(second, first))]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        # One delete wins; the loser either finds its own key gone (401) or is refused (409).
        assert sorted(answers)[0] == 200 and sorted(answers)[1] in (401, 409), answers
        assert ApiKey.objects.filter(org=org, is_master=True).count() == 1


def _digest(raw: str) -> str:
    from accounts.keys import hash_key

    return hash_key(raw)
