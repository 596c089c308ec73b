from django.apps import apps
from django.core.management.base import BaseCommand
from django.db import transaction

from connections.crypto import needs_rotation, reencrypt
from connections.encrypted_fields import EncryptedFieldsMixin


class Command(BaseCommand):
    help = "Re-encrypt every stored secret with the first key of COREGIT_ENCRYPTION_KEYS."

    def handle(self, *args, **options):
        total = 0
        for model in apps.get_models():
            if not issubclass(model, EncryptedFieldsMixin) or not model.ENCRYPTED_FIELDS:
                continue
            total += self._rotate(model)
        self.stdout.write(f"re-encrypted {total} secret(s)")

    def _rotate(self, model) -> int:
        count = 0
        for pk in model.objects.values_list("pk", flat=True).iterator():
            with transaction.atomic():
                row = model.objects.select_for_update().get(pk=pk)
                changed = []
                for field in row.ENCRYPTED_FIELDS:
                    token = getattr(row, field)
                    if token and needs_rotation(token):
                        setattr(row, field, reencrypt(token, aad=row.secret_aad()))
                        changed.append(field)
                if changed:
                    row.save(update_fields=changed)
                    count += len(changed)
        return count
