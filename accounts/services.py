from django.db import transaction
from django.utils.text import slugify

from accounts.keys import display_prefix, generate_key, hash_key, validate_scopes
from accounts.models import ApiKey, Organization
from core.errors import BadRequest, Conflict, LastMasterKey, NotFound


def org_create(*, name: str) -> tuple[Organization, str]:
    """Create an organization with its master key; the raw key is returned once, never stored."""
    slug = slugify(name)[:100]
    if not slug:
        raise BadRequest("Organization name must contain letters or digits")
    if Organization.objects.filter(slug=slug).exists():
        raise Conflict(f"Organization '{slug}' already exists")
    with transaction.atomic():
        org = Organization.objects.create(name=name, slug=slug)
        _, raw = _key_create(org=org, name="master", is_master=True, scopes={})
    return org, raw


def _key_create(
    *, org: Organization, name: str, is_master: bool, scopes: dict
) -> tuple[ApiKey, str]:
    raw = generate_key()
    key = ApiKey.objects.create(
        org=org,
        name=name,
        prefix=display_prefix(raw),
        key_hash=hash_key(raw),
        is_master=is_master,
        scopes=scopes,
    )
    return key, raw


def api_key_create(*, org: Organization, name: str, scopes: object) -> tuple[ApiKey, str]:
    try:
        clean = validate_scopes(scopes)
    except ValueError as exc:
        raise BadRequest(f"Invalid scopes: {exc}", details={"scopes": [str(exc)]}) from exc
    return _key_create(org=org, name=name, is_master=False, scopes=clean)


def api_key_delete(*, org: Organization, key_id: str) -> None:
    with transaction.atomic():
        # The organization row lock serialises deletes, so two masters deleting each other at
        # once cannot leave the organization with none.
        Organization.objects.select_for_update().get(pk=org.pk)
        key = ApiKey.objects.filter(org=org, id=key_id).first()
        if key is None:
            raise NotFound("API key not found")
        if key.is_master and not org.api_keys.filter(is_master=True).exclude(pk=key.pk).exists():
            raise LastMasterKey(
                "This is the organization's last master key; mint another one first "
                "(manage.py mint_master_key ORG_SLUG)"
            )
        key.delete()


def org_master_key_mint(*, slug: str, name: str = "master") -> tuple[ApiKey, str]:
    """A new master key for an existing organization (a lost key is recovered this way)."""
    org = Organization.objects.filter(slug=slug).first()
    if org is None:
        raise NotFound(f"Organization '{slug}' not found")
    return _key_create(org=org, name=name, is_master=True, scopes={})
