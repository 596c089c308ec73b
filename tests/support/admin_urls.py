"""Admin links built the way the admin builds them."""

from django.contrib.admin.utils import quote
from django.db.models import Model
from django.urls import reverse


def admin_change_url(obj: Model) -> str:
    """The change page of obj. Ids such as conn_26… need quote(): the admin reads _26 as '&'."""
    meta = obj._meta
    return reverse(f"admin:{meta.app_label}_{meta.model_name}_change", args=[quote(obj.pk)])
