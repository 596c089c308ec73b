"""How the CLI shows things: rich tables for people, ``--json`` for scripts, a live run display."""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table

from coregit_client.models import Model, RunProgress, SyncRun

out = Console()
err = Console(stderr=True)
PHASES = ("resolving", "fetching", "indexing", "writing", "uploading", "updating refs")


def emit_json(data: Any) -> None:
    """Plain JSON on stdout (no wrapping, no colour), for scripts."""
    if isinstance(data, Model):
        data = data.to_dict()
    elif isinstance(data, list):
        data = [d.to_dict() if isinstance(d, Model) else d for d in data]
    print(json.dumps(data, indent=2, sort_keys=True))


def table(title: str, columns: Sequence[str], rows: Iterable[Sequence[Any]]) -> None:
    t = Table(title=title)
    for name in columns:
        t.add_column(name)
    for row in rows:
        t.add_row(*("" if v is None else str(v) for v in row))
    out.print(t)


def record(title: str, obj: Model) -> None:
    """One object as a two-column table."""
    table(title, ("field", "value"), ((k, _cell(v)) for k, v in obj.to_dict().items()))


def _cell(value: Any) -> str:
    if isinstance(value, dict | list):
        return json.dumps(value)
    return "" if value is None else str(value)


def size(n: int) -> str:
    value = float(n)
    for unit in ("B", "KB", "MB", "GB"):
        if value < 1024 or unit == "GB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{n} B"


def progress_detail(p: RunProgress | None) -> str:
    if p is None:
        return ""
    parts = []
    if p.bytes_received:
        objects = f", {p.objects_received or 0}/{p.objects_total} objects" if p.objects_total else ""
        parts.append(f"{size(p.bytes_received)} received{objects}")
    if p.requests:
        of = f"/{p.requests_total}" if p.requests_total else ""
        parts.append(f"{p.requests}{of} requests, {size(p.bytes_sent)} sent")
    if p.refs_updated:
        parts.append(f"{p.refs_updated} ref{'s' if p.refs_updated != 1 else ''} updated")
    return " · ".join(parts)


class RunDisplay:
    """A live progress bar over the run's phases (bytes and refs alongside) while it runs.

    Without a terminal (pipes, CI) each phase change is printed as a line on stderr instead.
    """

    def __init__(self, run_id: str) -> None:
        self.live = err.is_terminal
        self._phase: str | None = None
        self._progress = Progress(SpinnerColumn(), TextColumn("{task.description:<14}"),
                                  BarColumn(), TextColumn("{task.fields[detail]}"),
                                  TimeElapsedColumn(), console=err, transient=True,
                                  disable=not self.live)
        self._task = self._progress.add_task(run_id, total=len(PHASES), detail="queued")

    def __enter__(self) -> RunDisplay:
        self._progress.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._progress.stop()

    def update(self, run: SyncRun) -> None:
        p = run.progress
        phase = p.phase if p and p.phase else run.status
        done = PHASES.index(phase) + 1 if phase in PHASES else 0
        if run.finished:
            done = len(PHASES)
        detail = progress_detail(p) or run.status
        self._progress.update(self._task, description=phase, completed=done, detail=detail)
        if not self.live and phase != self._phase:
            err.print(f"{run.id} {phase} {progress_detail(p)}".rstrip(), highlight=False)
        self._phase = phase


def run_rows(runs: Iterable[SyncRun]) -> Iterable[Sequence[Any]]:
    for r in runs:
        yield (r.id, r.status, r.trigger, r.direction, r.branch, r.files_changed, r.deleted,
               (r.commit_sha or "")[:12], r.started_at, r.message, len(r.warnings) or "")


RUN_COLUMNS = ("id", "status", "trigger", "direction", "branch", "files", "deleted", "commit",
               "started", "message", "warnings")
