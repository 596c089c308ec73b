"""Issue 12 point 8: the admin speaks English ("Webhook deliveries", not "Webhook deliverys")."""

import re

from django.contrib import admin
from django.contrib.auth.models import User


def test_admin_index_shows_proper_plurals(client, db):
    User.objects.create_superuser("op", "op@example.com", "pw")
    client.login(username="op", password="pw")
    page = client.get("/admin/").content.decode()
    assert "Webhook deliveries" in page and "deliverys" not in page.lower()
    for model in admin.site._registry:
        plural = str(model._meta.verbose_name_plural)
        # A consonant before "ys" is Django's naive plural of a word ending in "y".
        assert not re.search(r"[^aeiou]ys$", plural), (model, plural)
