"""``coregit sync …``: configs, trigger (with live progress), history, watch."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, Any

import typer
from rich.markup import escape

from coregit_client.cli_common import SYNC_ERROR, Json, client_for
from coregit_client.cli_output import (
    RUN_COLUMNS,
    RunDisplay,
    emit_json,
    err,
    progress_detail,
    record,
    run_rows,
    table,
)
from coregit_client.client import Client
from coregit_client.models import SyncRun

sync_app = typer.Typer(help="Sync configs, runs and history.", no_args_is_help=True)
config_app = typer.Typer(help="The repository's sync config.", no_args_is_help=True)
sync_app.add_typer(config_app, name="config")



class Way(StrEnum):
    IMPORT = "import"
    EXPORT = "export"


Direction = Annotated[Way | None, typer.Option(help="import or export")]
Branch = Annotated[str | None, typer.Option(help="Branch to sync.")]
AutoSync = Annotated[bool | None, typer.Option("--auto-sync/--no-auto-sync")]


@config_app.command("get")
def config_get(ctx: typer.Context, slug: str, json: Json = False) -> None:
    """Show the sync config (exit 1 when there is none)."""
    with client_for(ctx) as c:
        config = c.sync.config.get(slug)
    if json:
        emit_json(config.to_dict() if config else None)
    elif config:
        record(f"Sync config of {slug}", config)
    else:
        err.print(f"{slug} has no sync config")
    if config is None:
        raise typer.Exit(SYNC_ERROR)


@config_app.command("create")
def config_create(ctx: typer.Context, slug: str,
                  remote: Annotated[str, typer.Option(help="owner/repo, group/project or URL")],
                  connection_id: Annotated[str | None, typer.Option()] = None,
                  direction: Direction = None, branch: Branch = None,
                  auto_sync: AutoSync = None, json: Json = False) -> None:
    """Link the repository to an external repository."""
    with client_for(ctx) as c:
        config = c.sync.config.create(slug, remote=remote, connection_id=connection_id,
                                      direction=direction.value if direction else None,
                                      branch=branch, auto_sync=auto_sync)
    emit_json(config) if json else record(f"Sync config {config.id}", config)


@config_app.command("update")
def config_update(ctx: typer.Context, slug: str,
                  remote: Annotated[str | None, typer.Option()] = None,
                  direction: Direction = None, branch: Branch = None, auto_sync: AutoSync = None,
                  overwrite_diverged: Annotated[
                      bool | None, typer.Option("--overwrite-diverged/--no-overwrite-diverged")
                  ] = None,
                  json: Json = False) -> None:
    """Change the config (only the options given)."""
    fields = {"remote": remote, "direction": direction.value if direction else None,
              "branch": branch, "auto_sync": auto_sync,
              "overwrite_diverged": overwrite_diverged}
    fields = {k: v for k, v in fields.items() if v is not None}
    if not fields:
        raise typer.BadParameter("nothing to update: give at least one option")
    with client_for(ctx) as c:
        updated = c.sync.config.update(slug, **fields)
    emit_json({"updated": updated}) if json else err.print(f"updated {slug}")


@config_app.command("delete")
def config_delete(ctx: typer.Context, slug: str, json: Json = False) -> None:
    """Remove the sync config (and the webhook it registered)."""
    with client_for(ctx) as c:
        deleted = c.sync.config.delete(slug)
    emit_json({"deleted": deleted}) if json else err.print(f"deleted the sync config of {slug}")


@sync_app.command("trigger")
def trigger(ctx: typer.Context, slug: str,
            sync_id: Annotated[str | None, typer.Option(help="Default: the repo's config.")] = None,
            branch: Branch = None,
            wait: Annotated[bool, typer.Option("--wait/--no-wait",
                                               help="Follow the run until it ends.")] = True,
            force: Annotated[bool, typer.Option(help="Override a divergence.")] = False,
            json: Json = False) -> None:
    """Run the sync now, showing its progress (exit 1 when the run fails)."""
    with client_for(ctx) as c:
        sync_id = sync_id or _config_id(c, slug)
        queued = c.sync.trigger(slug, sync_id, wait=False, force=force, branch=branch)
        if not wait and not queued.finished:
            return emit_json(queued) if json else err.print(
                f"{queued.run_id} {queued.status}", highlight=False)
        run = _follow(c, slug, queued.run_id, json)
    _report(run, json)


@sync_app.command("watch")
def watch(ctx: typer.Context, slug: str,
          run_id: Annotated[str | None, typer.Option(help="Default: the latest run.")] = None,
          json: Json = False) -> None:
    """Follow the latest (or the given) run until it finishes."""
    with client_for(ctx) as c:
        if run_id is None:
            latest = c.sync.latest(slug)
            if latest is None:
                err.print(f"{slug} has no runs yet")
                raise typer.Exit(SYNC_ERROR)
            run_id = latest.id
        run = _follow(c, slug, run_id, json)
    _report(run, json)


@sync_app.command("history")
def history(ctx: typer.Context, slug: str,
            limit: Annotated[int, typer.Option(min=1, help="How many runs.")] = 20,
            json: Json = False) -> None:
    """Past runs, newest first."""
    with client_for(ctx) as c:
        runs = list(c.sync.history(slug, limit=limit, page_size=min(limit, 100)))
    if json:
        return emit_json(runs)
    table(f"Sync history of {slug}", RUN_COLUMNS, run_rows(runs))


@sync_app.command("run")
def show_run(ctx: typer.Context, slug: str, run_id: str, json: Json = False) -> None:
    """One run, with its progress."""
    with client_for(ctx) as c:
        run = c.sync.run(slug, run_id)
    emit_json(run) if json else record(f"Run {run.id}", run)


def _config_id(c: Client, slug: str) -> str:
    config = c.sync.config.get(slug)
    if config is None:
        raise typer.BadParameter(f"{slug} has no sync config; create one or pass --sync-id")
    return config.id


def _follow(c: Client, slug: str, run_id: str, json: bool) -> SyncRun:
    if json:
        return c.sync.wait(slug, run_id)
    with RunDisplay(run_id) as display:
        return c.sync.wait(slug, run_id, on_progress=display.update)


def _report(run: SyncRun, json: bool) -> None:
    if json:
        body: dict[str, Any] = {"run_id": run.id, "synced": run.status == "success",
                                **run.to_dict()}
        emit_json(body)
    else:
        colour = {"success": "green", "skipped": "cyan", "error": "red"}.get(run.status, "yellow")
        commit = f" commit {run.commit_sha[:12]}" if run.commit_sha else ""
        err.print(f"[{colour}]{run.status}[/{colour}] {run.id}{escape(commit)}: "
                  f"{escape(run.message)} (files changed {run.files_changed}, deleted "
                  f"{run.deleted}) {escape(progress_detail(run.progress))}", highlight=False)
        for warning in run.warnings:  # what the run could not represent exactly
            err.print(f"[yellow]warning:[/yellow] {escape(warning)}", highlight=False)
    if run.status == "error":
        raise typer.Exit(SYNC_ERROR)
