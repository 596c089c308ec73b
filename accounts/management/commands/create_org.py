from django.core.management.base import BaseCommand, CommandError

from accounts.services import org_create
from core.errors import CoregitError


class Command(BaseCommand):
    help = "Create an organization and print its master API key (shown once)."

    def add_arguments(self, parser):
        parser.add_argument("name")
        parser.add_argument("--quiet", action="store_true", help="print only the key")

    def handle(self, *args, name: str, quiet: bool, **options):
        try:
            org, raw = org_create(name=name)
        except CoregitError as exc:
            raise CommandError(exc.message) from exc
        if quiet:
            self.stdout.write(raw)
            return
        self.stdout.write(f"Organization: {org.slug} ({org.id})")
        self.stdout.write(f"Master API key (shown once): {raw}")
