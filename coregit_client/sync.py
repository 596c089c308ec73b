"""Sync configs, triggers, runs and history (seed sync-api.txt, plus run progress)."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

from coregit_client.errors import error_from
from coregit_client.models import SyncConfig, SyncRun, TriggerResult
from coregit_client.resources import pages, repo_path

if TYPE_CHECKING:
    from coregit_client.client import Client

ProgressCallback = Callable[[SyncRun], None]


class SyncConfigs:
    def __init__(self, client: Client) -> None:
        self._c = client

    def create(self, slug: str, *, remote: str, connection_id: str | None = None,
               direction: str | None = None, branch: str | None = None,
               auto_sync: bool | None = None, **extra: Any) -> SyncConfig:
        body = {"remote": remote, "connection_id": connection_id, "direction": direction,
                "branch": branch, "auto_sync": auto_sync, **extra}
        _, data = self._c._request("POST", f"{repo_path(slug)}/sync/config",
                                   json={k: v for k, v in body.items() if v is not None})
        return SyncConfig.from_dict(data)

    def get(self, slug: str) -> SyncConfig | None:
        """The repository's config, or ``None`` when it has none."""
        _, data = self._c._request("GET", f"{repo_path(slug)}/sync/config")
        return SyncConfig.from_dict(data["config"]) if data.get("config") else None

    def update(self, slug: str, **fields: Any) -> bool:
        """PATCH any of ``remote``, ``direction``, ``branch``, ``auto_sync``, ``overwrite_diverged``."""
        _, data = self._c._request("PATCH", f"{repo_path(slug)}/sync/config", json=fields)
        return bool(data.get("updated"))

    def delete(self, slug: str) -> bool:
        _, data = self._c._request("DELETE", f"{repo_path(slug)}/sync/config")
        return bool(data.get("deleted"))


class Sync:
    POLL_SECONDS = 0.5

    def __init__(self, client: Client) -> None:
        self._c = client
        self.config = SyncConfigs(client)

    def trigger(self, slug: str, sync_id: str, *, wait: bool = True, force: bool = False,
                branch: str | None = None, timeout: float | None = None,
                on_progress: ProgressCallback | None = None) -> TriggerResult:
        """Run the sync. With ``wait``, a run the server could not finish in its own wait (202)
        is polled at ``/sync/runs/:id`` until it ends; a run that ends in error raises its typed
        error (``Diverged``, ``ProviderError``...), carrying ``run_id``."""
        body = {"sync_id": sync_id, "wait": wait and on_progress is None, "force": force,
                "branch": branch}
        status, data = self._c._request("POST", f"{repo_path(slug)}/sync",
                                        json={k: v for k, v in body.items() if v is not None})
        if status == 200:
            return TriggerResult.from_dict(
                {**data, "status": "success" if data.get("synced") else "skipped"})
        queued = TriggerResult.from_dict(data)
        if not wait:
            return queued
        run = self.wait(slug, queued.run_id, timeout=timeout, on_progress=on_progress)
        if run.status == "error":
            raise error_from(None, {"error": run.message, "code": run.error_code,
                                    "run_id": run.id})
        return TriggerResult.from_run(run)

    def run(self, slug: str, run_id: str) -> SyncRun:
        _, data = self._c._request("GET", f"{repo_path(slug)}/sync/runs/{run_id}")
        return SyncRun.from_dict(data)

    def wait(self, slug: str, run_id: str, *, timeout: float | None = None,
             on_progress: ProgressCallback | None = None) -> SyncRun:
        """Poll the run until it finishes (``on_progress`` sees every poll); ``TimeoutError``
        when ``timeout`` seconds pass first."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            run = self.run(slug, run_id)
            if on_progress:
                on_progress(run)
            if run.finished:
                return run
            if deadline is not None and time.monotonic() > deadline:
                raise TimeoutError(f"run {run_id} still {run.status} after {timeout}s")
            time.sleep(self.POLL_SECONDS)

    def history(self, slug: str, *, limit: int | None = None, page_size: int = 20
                ) -> Iterator[SyncRun]:
        """Runs newest first, across cursor pages; stops after ``limit`` runs when given."""
        size = min(page_size, limit) if limit else page_size
        for n, row in enumerate(pages(self._c, f"{repo_path(slug)}/sync/history", "runs",
                                      limit=size)):
            if limit is not None and n >= limit:
                return
            yield SyncRun.from_dict(row)

    def latest(self, slug: str) -> SyncRun | None:
        return next(self.history(slug, limit=1), None)
