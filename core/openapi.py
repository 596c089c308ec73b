"""drf-spectacular wiring: the API-key security schemes (alternatives), request bodies from our
nested input serializers (DELETE included), and the error responses every operation can answer."""

import re

from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.openapi import AutoSchema

from core.responses import error_response

BODY_METHODS = ("POST", "PUT", "PATCH", "DELETE")


class ApiKeyScheme(OpenApiAuthenticationExtension):
    target_class = "accounts.authentication.ApiKeyAuthentication"
    name = ["ApiKeyHeader", "BearerKey"]

    def get_security_definition(self, auto_schema):
        return [
            {"type": "apiKey", "in": "header", "name": "x-api-key"},
            {"type": "http", "scheme": "bearer"},
        ]

    def get_security_requirement(self, auto_schema):
        # A list of requirement objects means "either one" (a single object would mean both).
        return [{name: []} for name in self.name]


class CoregitAutoSchema(AutoSchema):
    """Our API classes declare their input as nested serializers; document those as bodies."""

    _REQUEST_SERIALIZERS = {
        "POST": ("CreateSerializer", "InputSerializer"),
        "PUT": ("UpdateSerializer", "InputSerializer"),
        "PATCH": ("UpdateSerializer", "InputSerializer"),
        "DELETE": ("DeleteSerializer",),
    }

    _forced_request = None

    def get_request_serializer(self):
        if self._forced_request is not None:
            return self._forced_request
        for name in self._REQUEST_SERIALIZERS.get(self.method, ()):
            serializer = getattr(self.view, name, None)
            if serializer is not None:
                return serializer
        return None

    def _get_request_body(self, direction="request"):
        if self.method != "DELETE" or self.get_request_serializer() is None:
            return super()._get_request_body(direction)
        # drf-spectacular only documents bodies of POST/PUT/PATCH; our DELETE
        # /v1/repos/git-credentials takes one (seed git-credentials-api.txt).
        self._forced_request, self.method = self.get_request_serializer(), "POST"
        try:
            return super()._get_request_body(direction)
        finally:
            self._forced_request, self.method = None, "DELETE"

    def _get_response_bodies(self, direction="response"):
        responses = super()._get_response_bodies(direction)
        common = [400]  # malformed JSON, NUL bytes, bad query parameters: on every operation
        if self.get_auth():
            common.append(401)
        if self.method in BODY_METHODS and self.get_request_serializer() is not None:
            common += [413, 415]
        for status in common:
            if str(status) not in responses:
                responses[str(status)] = self._get_response_for_code(
                    error_response(status), str(status), direction=direction
                )
        return dict(sorted(responses.items()))

    def _get_serializer_name(self, serializer, direction, bypass_extensions=False) -> str:
        name = super()._get_serializer_name(serializer, direction, bypass_extensions)
        if getattr(getattr(serializer, "Meta", None), "ref_name", None):
            return name
        view = type(self.view).__name__.removesuffix("Api")
        return name if name.startswith(view) else f"{view}{name}"

    def get_tags(self) -> list[str]:
        for word in ("git-credentials", "sync", "connections", "keys", "repos"):
            if f"/{word}" in self.path:
                return [word]
        return super().get_tags()

    def get_operation_id(self) -> str:
        name = re.sub(r"(?<!^)(?=[A-Z])", "_", type(self.view).__name__.removesuffix("Api"))
        suffix = "_namespaced" if "{namespace}" in self.path else ""
        if self.path.startswith("/api/v1/"):
            suffix += "_compat"
        return f"{name.lower()}_{self.method.lower()}{suffix}"


def closed_request_bodies(result, generator, request, public):
    """Postprocessing hook: request objects admit no other keys (the API refuses unknown fields)."""
    for name, schema in result.get("components", {}).get("schemas", {}).items():
        if name.endswith("Request") and schema.get("type") == "object":
            schema.setdefault("additionalProperties", False)
    return result
