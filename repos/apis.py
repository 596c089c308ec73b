from drf_spectacular.utils import extend_schema
from rest_framework.response import Response
from rest_framework.views import APIView

from core.fmt import iso
from core.pagination import paginate
from core.responses import DeletedSerializer, errors
from core.serializers import DESCRIPTION_MAX, StrictCharField, StrictSerializer
from repos import selectors, services
from repos.models import Repository
from repos.serializers import SLUG_PATTERN, PageQuerySerializer, RepoListSerializer, RepoSerializer


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


def page_query(request) -> dict:
    query = PageQuerySerializer(data=request.query_params)
    query.is_valid(raise_exception=True)
    return query.validated_data


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
    class InputSerializer(StrictSerializer):
        slug = StrictCharField(max_length=100, regex=SLUG_PATTERN,
                               help_text="Lowercase letters, digits and dashes; some words are "
                                         "reserved (`sync`, `git-credentials`, ...).")
        namespace = StrictCharField(max_length=100, required=False, allow_blank=True,
                                    regex=SLUG_PATTERN + "|^$")
        default_branch = StrictCharField(max_length=255, required=False, default="main",
                                         help_text="A valid git branch name.")
        description = StrictCharField(max_length=DESCRIPTION_MAX, required=False,
                                      allow_blank=True, default="")

    @extend_schema(summary="List repositories the key can read", parameters=[PageQuerySerializer],
                   responses={200: RepoListSerializer})
    def get(self, request):
        query = page_query(request)
        rows, cursor = paginate(selectors.repository_list(principal=request.user),
                                limit=query["limit"], cursor=query.get("cursor"))
        return Response({"repos": [repo_body(r) for r in rows], "next_cursor": cursor})

    @extend_schema(summary="Create a repository",
                   responses={201: RepoSerializer, **errors(403, e409="The slug is taken.")})
    def post(self, request):
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        repo = services.repository_create(principal=request.user, **data.validated_data)
        return Response(repo_body(repo), status=201)


class RepoDetailApi(RepoScopedMixin, APIView):
    @extend_schema(summary="Get a repository", responses={200: RepoSerializer, **errors(404)})
    def get(self, request, **kwargs):
        return Response(repo_body(self.get_repo(request, "read")))

    @extend_schema(summary="Delete a repository",
                   responses={200: DeletedSerializer, **errors(403, 404)})
    def delete(self, request, **kwargs):
        warnings = services.repository_delete(repo=self.get_repo(request, "write"))
        return Response({"deleted": True, **({"warnings": warnings} if warnings else {})})
