"""Strict input serializers: what a body may hold is exactly what the OpenAPI document says.

DRF's defaults are lenient (``5`` becomes ``"5"``, ``"yes"`` becomes ``True``, unknown keys are
dropped silently). An API client reading our schema must get a 400 for anything the schema does
not allow, so every input serializer in the project derives from these.
"""

from __future__ import annotations

from django.core.validators import RegexValidator
from rest_framework import serializers

NUL = "\x00"
# Secrets (tokens, passwords) are capped well above any real provider token but far below the
# request size limit, so an absurd value is refused before it reaches a provider.
SECRET_MAX = 4096
PEM_MAX = 16384
NAME_MAX = 200
DESCRIPTION_MAX = 2000
ID_MAX = 64


class StrictCharField(serializers.CharField):
    """A string and only a string (no number coercion), never with a NUL, always bounded."""

    default_error_messages = {
        "not_a_string": "Must be a string.",
        "nul": "Must not contain NUL characters.",
    }

    def __init__(self, *, max_length: int, regex: str | None = None, **kwargs) -> None:
        super().__init__(max_length=max_length, **kwargs)
        if regex:
            self.validators.append(RegexValidator(regex, message=f"Must match {regex}"))

    def to_internal_value(self, data):
        if not isinstance(data, str):
            self.fail("not_a_string")
        if NUL in data:
            self.fail("nul")
        return super().to_internal_value(data)


class StrictChoiceField(serializers.ChoiceField):
    default_error_messages = {"not_a_string": "Must be a string."}

    def to_internal_value(self, data):
        if not isinstance(data, str):
            self.fail("not_a_string")
        return super().to_internal_value(data)


class StrictBooleanField(serializers.BooleanField):
    """``true`` or ``false`` only; ``"yes"``, ``1`` and ``"true"`` are refused."""

    def to_internal_value(self, data):
        if not isinstance(data, bool):
            self.fail("invalid", input=data)
        return data


class StrictIntegerField(serializers.IntegerField):
    """A JSON integer only; ``"5"`` and ``5.0`` are refused."""

    def to_internal_value(self, data):
        if isinstance(data, bool) or not isinstance(data, int):
            self.fail("invalid")
        return super().to_internal_value(data)


class StrictSerializer(serializers.Serializer):
    # Refuses bodies that are not objects and any key the serializer does not declare (unknown
    # and read-only fields alike), so a PATCH never answers ``updated`` for a no-op. (A comment,
    # not a docstring: drf-spectacular would copy a docstring into every request schema.)

    default_error_messages = {"unknown": "Unknown field."}
    allow_unknown = False  # query strings may carry other keys (cache busters...)

    def to_internal_value(self, data):
        if self.allow_unknown:
            return super().to_internal_value(data)
        if not isinstance(data, dict):
            raise serializers.ValidationError(
                {"non_field_errors": ["The body must be a JSON object."]}
            )
        writable = {name for name, field in self.fields.items() if not field.read_only}
        unknown = sorted(str(key) for key in data if key not in writable)
        if unknown:
            raise serializers.ValidationError({key[:100]: [self.error_messages["unknown"]]
                                               for key in unknown[:20]})
        return super().to_internal_value(data)
