from django.db.models import QuerySet

from accounts.models import Organization
from connections.models import Connection, GitCredential
from core.errors import NotFound


def connection_list(*, org: Organization) -> QuerySet[Connection]:
    return Connection.objects.filter(org=org).order_by("-created_at")


def connection_get(*, org: Organization, connection_id: str) -> Connection:
    conn = Connection.objects.filter(org=org, id=connection_id).first()
    if conn is None:
        raise NotFound("Connection not found")
    return conn


def git_credential_get(*, org: Organization, credential_id: str) -> GitCredential:
    cred = GitCredential.objects.select_related("repository").filter(
        org=org, id=credential_id
    ).first()
    if cred is None:
        raise NotFound("Credential not found")
    return cred
