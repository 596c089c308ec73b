from django.db.models import Q, QuerySet

from accounts.models import Organization
from accounts.principal import Principal
from core.errors import Forbidden, NotFound
from repos.models import Repository


def repository_list(*, principal: Principal) -> QuerySet[Repository]:
    """Repositories the key may read: all for master and ``repos:*``, else the named ones."""
    qs = Repository.objects.filter(org=principal.org)
    scopes = principal.key.scopes or {}
    if principal.is_master or "repos:*" in scopes:
        return qs
    allowed = Q(pk__in=[])
    for name in scopes:
        namespace, _, slug = name.removeprefix("repos:").rpartition("/")
        allowed |= Q(namespace=namespace, slug=slug)
    return qs.filter(allowed)


def repository_get(*, org: Organization, namespace: str, slug: str) -> Repository:
    """The repository in ``org``; another org's repository is simply not found (404)."""
    repo = Repository.objects.filter(org=org, namespace=namespace or "", slug=slug).first()
    if repo is None:
        raise NotFound("Repository not found")
    return repo


def repository_for(
    *, principal: Principal, namespace: str, slug: str, permission: str
) -> Repository:
    """Look up and authorize: 404 before 403 so existence never leaks across orgs or scopes."""
    repo = repository_get(org=principal.org, namespace=namespace, slug=slug)
    if not principal.can(repo.full_path, "read"):
        raise NotFound("Repository not found")
    if not principal.can(repo.full_path, permission):
        raise Forbidden(f"This API key lacks '{permission}' on {repo.full_path}")
    return repo


def repository_by_id(*, org: Organization, repo_id: str) -> Repository:
    repo = Repository.objects.filter(org=org, id=repo_id).first()
    if repo is None:
        raise NotFound("Repository not found")
    return repo
