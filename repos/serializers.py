"""Input fields and response shapes of the repository endpoints."""

from rest_framework import serializers

from core.responses import list_shape
from core.serializers import StrictCharField, StrictSerializer

SLUG_PATTERN = r"^[a-z0-9]([a-z0-9-]{0,98}[a-z0-9])?$"
MAX_CURSOR = 512


class PageQuerySerializer(StrictSerializer):
    """``?limit=&cursor=`` of every list (query strings, so no strict typing of ``limit``)."""

    allow_unknown = True

    limit = serializers.IntegerField(min_value=1, max_value=100, default=20,
                                     help_text="Page size, 1 to 100.")
    cursor = StrictCharField(max_length=MAX_CURSOR, required=False, allow_blank=True,
                             help_text="`next_cursor` of the previous page (opaque).")


class RepoSerializer(serializers.Serializer):
    id = serializers.CharField()
    slug = serializers.CharField()
    namespace = serializers.CharField(allow_null=True)
    full_path = serializers.CharField()
    default_branch = serializers.CharField()
    description = serializers.CharField(allow_blank=True)
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()

    class Meta:
        ref_name = "Repo"


RepoListSerializer = list_shape("RepoList", "repos", RepoSerializer, paged=True)
