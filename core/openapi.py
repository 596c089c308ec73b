"""drf-spectacular wiring: the API-key security scheme and request bodies from our serializers."""

import re

from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.openapi import AutoSchema
from drf_spectacular.types import OpenApiTypes


class ApiKeyScheme(OpenApiAuthenticationExtension):
    target_class = "accounts.authentication.ApiKeyAuthentication"
    name = ["ApiKeyHeader", "BearerKey"]

    def get_security_definition(self, auto_schema):
        return [
            {"type": "apiKey", "in": "header", "name": "x-api-key"},
            {"type": "http", "scheme": "bearer"},
        ]



class CoregitAutoSchema(AutoSchema):
    """Our API classes declare their input as nested serializers; document those as bodies."""

    _REQUEST_SERIALIZERS = {
        "POST": ("CreateSerializer", "InputSerializer"),
        "PUT": ("UpdateSerializer", "InputSerializer"),
        "PATCH": ("UpdateSerializer", "InputSerializer"),
        "DELETE": ("DeleteSerializer",),
    }

    def get_request_serializer(self):
        for name in self._REQUEST_SERIALIZERS.get(self.method, ()):
            serializer = getattr(self.view, name, None)
            if serializer is not None:
                return serializer
        return None

    def _get_serializer_name(self, serializer, direction, bypass_extensions=False) -> str:
        name = super()._get_serializer_name(serializer, direction, bypass_extensions)
        view = type(self.view).__name__.removesuffix("Api")
        return name if name.startswith(view) else f"{view}{name}"

    def get_response_serializers(self):
        return OpenApiTypes.OBJECT

    def get_operation_id(self) -> str:
        name = re.sub(r"(?<!^)(?=[A-Z])", "_", type(self.view).__name__.removesuffix("Api"))
        suffix = "_namespaced" if "{namespace}" in self.path else ""
        if self.path.startswith("/api/v1/"):
            suffix += "_compat"
        return f"{name.lower()}_{self.method.lower()}{suffix}"
