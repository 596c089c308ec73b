"""POST /v1/repos/:slug/sync/config/webhook-secret: a generic config's receiver secret, once."""

from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.permissions import IsMasterKey
from core.errors import NotFound
from repos.apis import RepoScopedMixin
from sync import selectors
from sync.generic_hook_services import generic_webhook_url, sync_config_webhook_secret_rotate


class SyncWebhookSecretApi(RepoScopedMixin, APIView):
    permission_classes = [IsMasterKey]

    def post(self, request, **kwargs):
        config = selectors.sync_config_for_repo(repo=self.get_repo(request, "write"))
        if config is None:
            raise NotFound("This repository has no sync config")
        secret = sync_config_webhook_secret_rotate(config=config)
        return Response({"webhook_url": generic_webhook_url(config), "webhook_secret": secret},
                        status=201)
