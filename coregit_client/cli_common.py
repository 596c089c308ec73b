"""What every ``coregit`` command shares: exit codes, the ``--json`` flag, the client."""

from __future__ import annotations

from typing import Annotated

import typer

from coregit_client.client import Client

OK, SYNC_ERROR, USAGE, UNREACHABLE = 0, 1, 2, 3
Json = Annotated[bool, typer.Option("--json", help="Machine-readable JSON on stdout.")]


def client_for(ctx: typer.Context) -> Client:
    cfg = ctx.find_root().obj or {}
    if not cfg.get("url"):
        raise typer.BadParameter("no server URL: pass --url or set COREGIT_URL")
    if not cfg.get("api_key"):
        raise typer.BadParameter("no API key: pass --api-key or set COREGIT_API_KEY")
    return Client(cfg["url"], cfg["api_key"])
