from django.core.management.base import BaseCommand, CommandError

from accounts.services import org_master_key_mint
from core.errors import CoregitError


class Command(BaseCommand):
    help = "Mint a new master API key for an existing organization (shown once): recovers a lost key."

    def add_arguments(self, parser):
        parser.add_argument("org_slug")
        parser.add_argument("--name", default="master", help="the key's name in GET /v1/keys")
        parser.add_argument("--quiet", action="store_true", help="print only the key")

    def handle(self, *args, org_slug: str, name: str, quiet: bool, **options):
        try:
            key, raw = org_master_key_mint(slug=org_slug, name=name)
        except CoregitError as exc:
            raise CommandError(exc.message) from exc
        if quiet:
            self.stdout.write(raw)
            return
        self.stdout.write(f"New master key {key.id} for '{org_slug}'.")
        self.stdout.write(f"Master API key (shown once): {raw}")
        self.stdout.write("Delete a lost key with DELETE /v1/keys/<id> (list them with GET /v1/keys).")
