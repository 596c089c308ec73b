"""In-process signal sent once per branch a completed push moved (later work hooks into it)."""

from django.dispatch import Signal

# kwargs: repository (Repository), ref (str, "refs/heads/…"), old_sha (str|None), new_sha (str|None)
branch_pushed = Signal()

# kwargs: repository. Sent before a repository is deleted (sync removes provider webhooks).
repository_deleting = Signal()
