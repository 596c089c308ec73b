from django.core.management.base import BaseCommand

from accounts.models import Organization
from accounts.services import org_create

DEMO = "demo"


class Command(BaseCommand):
    help = "Create the demo organization on first run and print its master key (shown once)."

    def handle(self, *args, **options):
        if Organization.objects.filter(slug=DEMO).exists():
            self.stdout.write("Demo organization exists (its master key was printed on first run).")
            return
        org, raw = org_create(name=DEMO)
        self.stdout.write(f"Created organization '{org.slug}'. Master API key (shown once): {raw}")
