from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from core.fmt import iso
from core.pagination import paginate, parse_limit
from repos import selectors, services
from repos.models import Repository


def repo_body(repo: Repository) -> dict:
    return {
        "id": repo.id,
        "slug": repo.slug,
        "namespace": repo.namespace or None,
        "full_path": repo.full_path,
        "default_branch": repo.default_branch,
        "description": repo.description,
        "created_at": iso(repo.created_at),
        "updated_at": iso(repo.updated_at),
    }


class RepoScopedMixin:
    """Resolves ``/v1/repos/:slug/...`` and ``/v1/repos/:namespace/:slug/...`` to a repository."""

    def get_repo(self, request, permission: str) -> Repository:
        return selectors.repository_for(
            principal=request.user,
            namespace=self.kwargs.get("namespace", ""),
            slug=self.kwargs["slug"],
            permission=permission,
        )


class RepoListCreateApi(APIView):
    class InputSerializer(serializers.Serializer):
        slug = serializers.CharField(max_length=100)
        namespace = serializers.CharField(max_length=100, required=False, allow_blank=True)
        default_branch = serializers.CharField(max_length=255, required=False, default="main")
        description = serializers.CharField(required=False, allow_blank=True, default="")

    def get(self, request):
        limit = parse_limit(request.query_params.get("limit"))
        rows, cursor = paginate(
            selectors.repository_list(principal=request.user),
            limit=limit,
            cursor=request.query_params.get("cursor"),
        )
        return Response({"repos": [repo_body(r) for r in rows], "next_cursor": cursor})

    def post(self, request):
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        repo = services.repository_create(principal=request.user, **data.validated_data)
        return Response(repo_body(repo), status=201)


class RepoDetailApi(RepoScopedMixin, APIView):
    def get(self, request, **kwargs):
        return Response(repo_body(self.get_repo(request, "read")))

    def delete(self, request, **kwargs):
        warnings = services.repository_delete(repo=self.get_repo(request, "write"))
        return Response({"deleted": True, **({"warnings": warnings} if warnings else {})})
