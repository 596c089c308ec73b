from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework.response import Response
from rest_framework.views import APIView

from connections import credential_services as services
from connections.serializers import GitCredentialSerializer
from core.fmt import iso
from core.responses import errors
from core.serializers import ID_MAX, SECRET_MAX, StrictCharField, StrictSerializer

USERNAME_MAX = 255
NOT_FOUND = "The repository or credential was not found for this organization."


def _body(cred) -> dict:
    return {"id": cred.id, "created_at": iso(cred.created_at)}


class GitCredentialApi(APIView):
    """``POST|PUT|DELETE /v1/repos/git-credentials`` exactly as the seed."""

    class CreateSerializer(StrictSerializer):
        repo_id = StrictCharField(max_length=ID_MAX, help_text="The repository's `repo_…` id.")
        username = StrictCharField(max_length=USERNAME_MAX, required=False, allow_blank=True,
                                   default="", help_text="Optional for token-only providers.")
        password = StrictCharField(max_length=SECRET_MAX, trim_whitespace=False,
                                   help_text="Password or access token for the git host.")

    class UpdateSerializer(StrictSerializer):
        id = StrictCharField(max_length=ID_MAX, help_text="The credential's `ggc_…` id.")
        username = StrictCharField(max_length=USERNAME_MAX, required=False, allow_blank=True)
        password = StrictCharField(max_length=SECRET_MAX, trim_whitespace=False)

    class DeleteSerializer(StrictSerializer):
        id = StrictCharField(max_length=ID_MAX, help_text="The credential's `ggc_…` id.")

    @extend_schema(summary="Store the git credential of a repository",
                   responses={201: GitCredentialSerializer,
                              **errors(403, e404=NOT_FOUND,
                                       e409="The repository already has a credential.")})
    def post(self, request):
        data = self.CreateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        cred = services.git_credential_create(principal=request.user, **data.validated_data)
        return Response(_body(cred), status=201)

    @extend_schema(summary="Replace a git credential",
                   responses={200: GitCredentialSerializer, **errors(403, e404=NOT_FOUND)})
    def put(self, request):
        data = self.UpdateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        fields = dict(data.validated_data)
        cred = services.git_credential_update(
            principal=request.user, credential_id=fields.pop("id"), **fields
        )
        return Response(_body(cred))

    @extend_schema(summary="Delete a git credential (the body names it)",
                   responses={204: OpenApiResponse(description="Deleted; no body."),
                              **errors(403, e404=NOT_FOUND)})
    def delete(self, request):
        data = self.DeleteSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        services.git_credential_delete(
            principal=request.user, credential_id=data.validated_data["id"]
        )
        return Response(status=204)
