import logging

from django.db import IntegrityError, transaction

from accounts.principal import Principal
from core.errors import BadRequest, Conflict, Forbidden
from repos import storage
from repos.models import Repository
from repos.signals import repository_deleting
from repos.validation import branch_error, slug_error

logger = logging.getLogger(__name__)


def repository_create(
    *,
    principal: Principal,
    slug: str,
    namespace: str = "",
    default_branch: str = "main",
    description: str = "",
) -> Repository:
    errors = {}
    if err := slug_error(slug):
        errors["slug"] = [err]
    if namespace and (err := slug_error(namespace, "namespace")):
        errors["namespace"] = [err]
    if err := branch_error(default_branch):
        errors["default_branch"] = [err]
    if errors:
        first = next(iter(errors.values()))[0]
        raise BadRequest(f"Invalid request: {first}", details=errors)
    path = f"{namespace}/{slug}" if namespace else slug
    if not principal.can(path, "write"):
        raise Forbidden(f"This API key lacks 'write' on {path}")
    try:
        with transaction.atomic():
            repo = Repository.objects.create(
                org=principal.org, namespace=namespace, slug=slug,
                default_branch=default_branch, description=description,
            )
            storage.init_bare(repo.disk_path, default_branch=default_branch)
    except IntegrityError as exc:
        raise Conflict(f"Repository '{path}' already exists") from exc
    return repo


def repository_delete(*, repo: Repository) -> list[str]:
    """Delete the repository; returns warnings from best-effort cleanups (e.g. provider hooks)."""
    path = repo.disk_path
    with transaction.atomic():
        replies = repository_deleting.send(sender=Repository, repository=repo)
        repo.delete()
        # Remove the files only once the row is really gone.
        transaction.on_commit(lambda: storage.remove(path))
    # Receivers return lists that their on-commit cleanups filled as the block above committed.
    return [w for _, reply in replies if isinstance(reply, list) for w in reply]
