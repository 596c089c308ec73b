from django.conf import settings
from django.contrib import admin
from django.contrib.staticfiles.urls import staticfiles_urlpatterns
from django.urls import include, path, re_path
from drf_spectacular.views import (
    SpectacularJSONAPIView,
    SpectacularRedocView,
    SpectacularSwaggerView,
)
from rest_framework.permissions import AllowAny

from core.health import healthz
from observability.views import metrics
from repos import githttp
from sync import webhook_intake_apis

_PUBLIC = {"permission_classes": [AllowAny], "authentication_classes": []}
_NAME = r"[a-z0-9][a-z0-9-]*"
_GIT = rf"^(?P<org>{_NAME})/(?:(?P<namespace>{_NAME})/)?(?P<slug>{_NAME})\.git/"

urlpatterns = [
    path("healthz", healthz),
    path("metrics", metrics, name="metrics"),
    path("admin/", admin.site.urls),
    path("v1/openapi.json", SpectacularJSONAPIView.as_view(**_PUBLIC), name="openapi"),
    path("v1/docs", SpectacularSwaggerView.as_view(url_name="openapi", **_PUBLIC), name="docs"),
    path("v1/redoc", SpectacularRedocView.as_view(url_name="openapi", template_name="core/redoc.html",
                                                  **_PUBLIC), name="redoc"),
    re_path(r"^v1/sync-webhooks/(?P<provider>github|gitlab)(?:/(?P<config_id>sync_[0-9a-f]+))?$",
            webhook_intake_apis.receive, name="sync-webhook"),
    re_path(r"^v1/sync-webhooks/(?P<provider>git)/(?P<config_id>sync_[0-9a-f]+)$",
            webhook_intake_apis.receive, name="sync-webhook-git"),
    path("v1/", include("coregit_project.api_urls")),
    path("api/v1/", include("coregit_project.compat_urls")),
    re_path(_GIT + r"info/refs$", githttp.git_info_refs),
    re_path(_GIT + r"(?P<service>git-upload-pack|git-receive-pack)$", githttp.git_service),
]
if settings.DEBUG:
    urlpatterns += staticfiles_urlpatterns()

handler404 = "core.exception_handler.handler404"
handler500 = "core.exception_handler.handler500"
