import os
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand

from accounts.models import Organization
from accounts.services import org_create

DEMO = "demo"
KEY_FILE = "demo-master-key"


class Command(BaseCommand):
    help = (
        "Create the demo organization on first run. Its master key goes to a 0600 file in "
        "COREGIT_DATA_DIR, never to the output, which often ends up in a shared log."
    )

    def handle(self, *args, **options):
        path = Path(settings.DATA_DIR) / KEY_FILE
        if Organization.objects.filter(slug=DEMO).exists():
            self.stdout.write(
                f"Demo organization exists; its master API key was written to {path} on first run "
                f"(lost it? manage.py mint_master_key {DEMO})."
            )
            return
        _, raw = org_create(name=DEMO)
        _write_private(path, raw + "\n")
        self.stdout.write(
            f"Created organization '{DEMO}'. Its master API key is in {path} (readable only by you): "
            f'KEY=$(cat "{path}")'
        )


def _write_private(path: Path, text: str) -> None:
    path.unlink(missing_ok=True)  # a key file of an earlier data dir must not keep its old mode
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(text)
