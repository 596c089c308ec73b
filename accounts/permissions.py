from rest_framework.permissions import BasePermission

from core.errors import Forbidden


class HasApiKey(BasePermission):
    def has_permission(self, request, view) -> bool:
        return request.user is not None and getattr(request.user, "is_authenticated", False)


class IsMasterKey(HasApiKey):
    """The seeds' "Master API key only"."""

    def has_permission(self, request, view) -> bool:
        if not super().has_permission(request, view):
            return False
        if not request.user.is_master:
            raise Forbidden("This action needs a master API key")
        return True
