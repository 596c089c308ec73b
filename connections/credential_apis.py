from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from connections import credential_services as services
from core.fmt import iso


def _body(cred) -> dict:
    return {"id": cred.id, "created_at": iso(cred.created_at)}


class GitCredentialApi(APIView):
    """``POST|PUT|DELETE /v1/repos/git-credentials`` exactly as the seed."""

    class CreateSerializer(serializers.Serializer):
        repo_id = serializers.CharField()
        username = serializers.CharField(required=False, allow_blank=True, default="")
        password = serializers.CharField(trim_whitespace=False)

    class UpdateSerializer(serializers.Serializer):
        id = serializers.CharField()
        username = serializers.CharField(required=False, allow_blank=True)
        password = serializers.CharField(trim_whitespace=False)

    class DeleteSerializer(serializers.Serializer):
        id = serializers.CharField()

    def post(self, request):
        data = self.CreateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        cred = services.git_credential_create(principal=request.user, **data.validated_data)
        return Response(_body(cred), status=201)

    def put(self, request):
        data = self.UpdateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        fields = dict(data.validated_data)
        cred = services.git_credential_update(
            principal=request.user, credential_id=fields.pop("id"), **fields
        )
        return Response(_body(cred))

    def delete(self, request):
        data = self.DeleteSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        services.git_credential_delete(
            principal=request.user, credential_id=data.validated_data["id"]
        )
        return Response(status=204)
