"""POST /v1/repos/:slug/sync/config/webhook-secret: a generic config's webhook secret, once."""

from drf_spectacular.utils import extend_schema
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.permissions import IsMasterKey
from core.errors import NotFound
from core.responses import errors
from repos.apis import RepoScopedMixin
from sync import selectors
from sync.serializers import WebhookSecretSerializer
from sync.webhook_secret_services import generic_webhook_url, sync_config_webhook_secret_rotate


class SyncWebhookSecretApi(RepoScopedMixin, APIView):
    permission_classes = [IsMasterKey]

    @extend_schema(
        summary="Make (or replace) a generic git config's webhook secret (master key only)",
        request=None,
        responses={201: WebhookSecretSerializer,
                   **errors(403, e400="The config is not a generic git config (GitHub and "
                                      "GitLab hooks are registered with `auto_sync`).",
                            e404="No such repository, or it has no sync config.")},
    )
    def post(self, request, **kwargs):
        config = selectors.sync_config_for_repo(repo=self.get_repo(request, "write"))
        if config is None:
            raise NotFound("This repository has no sync config")
        secret = sync_config_webhook_secret_rotate(config=config)
        return Response({"webhook_url": generic_webhook_url(config), "webhook_secret": secret},
                        status=201)
