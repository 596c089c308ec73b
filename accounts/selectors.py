from django.db.models import QuerySet

from accounts.keys import hash_key
from accounts.models import ApiKey, Organization


def api_key_by_raw(*, raw: str) -> ApiKey | None:
    if not raw:
        return None
    return ApiKey.objects.select_related("org").filter(key_hash=hash_key(raw)).first()


def api_key_list(*, org: Organization) -> QuerySet[ApiKey]:
    return ApiKey.objects.filter(org=org)
