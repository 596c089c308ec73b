from django.db import models


class WorkerHeartbeat(models.Model):
    """The last beat of each Celery worker node, written by its main process every few seconds.

    In the database (not in a process's memory) so workers on every machine show on one scrape.
    """

    worker = models.CharField(primary_key=True, max_length=255)  # the node name, name@host
    beat_at = models.DateTimeField()

    def __str__(self) -> str:
        return f"{self.worker} {self.beat_at:%Y-%m-%dT%H:%M:%SZ}"
