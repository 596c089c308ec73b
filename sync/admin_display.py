"""How the admin shows a config's pause and a run's progress (HTML built with format_html only)."""

from __future__ import annotations

from django.utils.html import format_html

from sync.models import SyncConfig, SyncRun

_BADGE = ('<span class="coregit-badge coregit-{}" style="padding:1px 6px;border-radius:8px;'
          'color:#fff;background:{};font-weight:bold">{}</span>')


def auto_sync_badge(config: SyncConfig) -> str:
    if config.auto_sync_paused:
        return format_html(_BADGE, "paused", "#ba2121", "paused")
    if config.auto_sync:
        return format_html(_BADGE, "active", "#417690", "on")
    return "off"


def run_progress(run: SyncRun) -> str:
    """The run's last recorded progress (the ``progress`` field, where this version has it)."""
    progress = getattr(run, "progress", None)
    if not progress or not isinstance(progress, dict):
        return "—"
    phase = progress.get("phase", "")
    figures = ", ".join(f"{key} {value}" for key, value in progress.items()
                        if key != "phase" and isinstance(value, int | float | str))
    return f"{phase}: {figures}" if figures else str(phase)
