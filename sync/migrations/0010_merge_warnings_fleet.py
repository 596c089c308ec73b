from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("sync", "0009_run_history_and_unfinished_indexes"),
        ("sync", "0009_run_warnings"),
    ]

    operations = []
