from django.db import models


class Heartbeat(models.Model):
    """Written by the ``workers.ping`` task: proves a worker consumed a message end to end."""

    token = models.CharField(max_length=64, unique=True)
    seen_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return self.token
