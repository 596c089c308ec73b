"""Git credentials: one HTTPS username/password per repository, for generic git hosts."""

from django.db import IntegrityError, transaction

from accounts.principal import Principal
from connections.models import GitCredential
from connections.selectors import git_credential_get
from core.errors import Conflict, Forbidden, NotFound
from repos.models import Repository
from repos.selectors import repository_by_id


def _writable_repo(principal: Principal, repo_id: str) -> Repository:
    """404 before 403, as on /v1/repos: a key that cannot even read the repository does not
    learn that it (or its credential) exists; a read-only key is told it lacks write."""
    repo = repository_by_id(org=principal.org, repo_id=repo_id)
    if not principal.can(repo.full_path, "read"):
        raise NotFound("Repository not found")
    if not principal.can(repo.full_path, "write"):
        raise Forbidden(f"This API key lacks 'write' on {repo.full_path}")
    return repo


def git_credential_create(
    *, principal: Principal, repo_id: str, password: str, username: str = ""
) -> GitCredential:
    repo = _writable_repo(principal, repo_id)
    cred = GitCredential(org=principal.org, repository=repo, username=username)
    cred.set_secret("password_ciphertext", password)
    try:
        with transaction.atomic():
            cred.save(force_insert=True)
    except IntegrityError as exc:
        raise Conflict("A credential already exists for this repository") from exc
    return cred


def git_credential_update(
    *, principal: Principal, credential_id: str, password: str, username: str | None = None
) -> GitCredential:
    cred = git_credential_get(org=principal.org, credential_id=credential_id)
    _writable_repo(principal, cred.repository_id)
    if username is not None:
        cred.username = username
    cred.set_secret("password_ciphertext", password)
    cred.save(update_fields=["username", "password_ciphertext", "updated_at"])
    return cred


def git_credential_delete(*, principal: Principal, credential_id: str) -> None:
    cred = git_credential_get(org=principal.org, credential_id=credential_id)
    _writable_repo(principal, cred.repository_id)
    cred.delete()


def git_credential_for_repo(*, repo: Repository) -> tuple[str, str] | None:
    """(username, password) for the sync engine, or None when the repository has none."""
    cred = GitCredential.objects.filter(repository=repo).first()
    if cred is None:
        return None
    return cred.username, cred.get_secret("password_ciphertext")
