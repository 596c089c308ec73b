"""The Celery application; tasks live in workers/tasks.py and hold no logic."""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "coregit_project.settings")

app = Celery("coregit")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks(["workers"])
