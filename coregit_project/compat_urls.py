"""Drop-in compatible paths under /api/v1 (seed git-credentials-api.txt)."""

urlpatterns: list = []
