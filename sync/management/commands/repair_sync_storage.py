"""One-off repair after upgrading: take earlier imports' shallow marks and tracking refs out of
git's view in every repository (each run also does it for its own repository)."""

from django.core.management.base import BaseCommand

from repos.models import Repository
from sync.engine import tracking


class Command(BaseCommand):
    help = ("Move the shallow marks and refs/sync/ tracking refs that earlier imports wrote into "
            "each repository's sync area, so native git sees every repository's full history.")

    def handle(self, *args, **options) -> None:
        total = repaired = 0
        for repo in Repository.objects.order_by("pk").iterator():
            total += 1
            repaired += tracking.repair(repo.disk_path)
        self.stdout.write(f"Repaired {repaired} of {total} repositories")
