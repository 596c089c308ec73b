import time
import uuid

from django.core.management.base import BaseCommand, CommandError

from core.models import Heartbeat


class Command(BaseCommand):
    help = "Enqueue a ping task and wait until a worker has run it (proves broker + worker work)."

    def add_arguments(self, parser):
        parser.add_argument("--timeout", type=float, default=120.0)

    def handle(self, *args, timeout: float, **options):
        from workers.tasks import ping

        token = uuid.uuid4().hex
        started = time.monotonic()
        ping.delay(token)
        while not Heartbeat.objects.filter(token=token).exists():
            if time.monotonic() - started > timeout:
                raise CommandError(f"no worker ran the ping task within {timeout:.0f}s")
            time.sleep(0.1)
        self.stdout.write(f"worker ok ({time.monotonic() - started:.2f}s)")
