"""``coregit``: the command line for Coregit Sync.

Exit codes: 0 ok, 1 the API or a sync run reported an error, 2 usage, 3 server unreachable.
Configured by ``--url`` / ``--api-key`` or ``COREGIT_URL`` / ``COREGIT_API_KEY``.
"""

from __future__ import annotations

import sys
from typing import Annotated

import typer
from rich.markup import escape

from coregit_client.cli_common import SYNC_ERROR, UNREACHABLE, Json, client_for
from coregit_client.cli_output import emit_json, err, record, table
from coregit_client.cli_sync import sync_app
from coregit_client.errors import CoregitError, Unreachable

app = typer.Typer(help="Coregit Sync from the command line.", no_args_is_help=True,
                  pretty_exceptions_enable=False, add_completion=False)
repos_app = typer.Typer(help="Repositories.", no_args_is_help=True)
connections_app = typer.Typer(help="Provider connections (GitHub, GitLab).", no_args_is_help=True)
credentials_app = typer.Typer(help="HTTPS credentials for generic git remotes.",
                              no_args_is_help=True)
app.add_typer(repos_app, name="repos")
app.add_typer(connections_app, name="connections")
app.add_typer(credentials_app, name="credentials")
app.add_typer(sync_app, name="sync")


@app.callback()
def root(
    ctx: typer.Context,
    url: Annotated[str | None, typer.Option(envvar="COREGIT_URL", help="Server URL.")] = None,
    api_key: Annotated[str | None, typer.Option(envvar="COREGIT_API_KEY", help="API key.",
                                                show_default=False)] = None,
) -> None:
    ctx.obj = {"url": url, "api_key": api_key}


@repos_app.command("create")
def repos_create(ctx: typer.Context, slug: str,
                 namespace: Annotated[str | None, typer.Option()] = None,
                 default_branch: Annotated[str | None, typer.Option()] = None,
                 description: Annotated[str | None, typer.Option()] = None,
                 json: Json = False) -> None:
    """Create a repository."""
    with client_for(ctx) as c:
        repo = c.repos.create(slug, namespace=namespace, default_branch=default_branch,
                              description=description)
    emit_json(repo) if json else record(f"Repository {repo.full_path or repo.slug}", repo)


@repos_app.command("list")
def repos_list(ctx: typer.Context, json: Json = False) -> None:
    """List repositories (every page)."""
    with client_for(ctx) as c:
        repos = list(c.repos.list())
    if json:
        return emit_json(repos)
    table("Repositories", ("id", "path", "default branch", "created"),
          ((r.id, r.full_path or r.slug, r.default_branch, r.created_at) for r in repos))


@connections_app.command("add")
def connections_add(
    ctx: typer.Context,
    provider: Annotated[str, typer.Option(help="github or gitlab")],
    label: Annotated[str, typer.Option()],
    token: Annotated[str, typer.Option(envvar="COREGIT_PROVIDER_TOKEN", prompt=True,
                                       hide_input=True, help="Access token (prompted if absent).")],
    host: Annotated[str | None, typer.Option(help="Self-hosted base URL.")] = None,
    json: Json = False,
) -> None:
    """Add a connection; the token is validated by the provider and never shown again."""
    with client_for(ctx) as c:
        conn = c.connections.create(provider=provider, label=label, access_token=token, host=host)
    emit_json(conn) if json else record(f"Connection {conn.id}", conn)


@connections_app.command("list")
def connections_list(ctx: typer.Context, json: Json = False) -> None:
    """List connections."""
    with client_for(ctx) as c:
        conns = c.connections.list()
    if json:
        return emit_json(conns)
    table("Connections", ("id", "provider", "label", "user", "host", "last synced"),
          ((x.id, x.provider, x.label, x.external_username, x.host, x.last_synced_at)
           for x in conns))


@connections_app.command("test")
def connections_test(ctx: typer.Context, connection_id: str, json: Json = False) -> None:
    """Check a connection's stored token with the provider (exit 1 when it is not valid)."""
    with client_for(ctx) as c:
        result = c.connections.test(connection_id)
    if json:
        emit_json(result)
    elif result.valid:
        err.print(f"[green]valid[/green] as {result.username}")
    else:
        err.print(f"[red]not valid[/red]: {escape(result.error or '')}")
    if not result.valid:
        raise typer.Exit(SYNC_ERROR)


@credentials_app.command("add")
def credentials_add(
    ctx: typer.Context, slug: str,
    password: Annotated[str, typer.Option(envvar="COREGIT_GIT_PASSWORD", prompt=True,
                                          hide_input=True)],
    username: Annotated[str | None, typer.Option()] = None,
    json: Json = False,
) -> None:
    """Store the HTTPS credential a repository's generic git remote is reached with."""
    with client_for(ctx) as c:
        cred = c.credentials.create(repo_id=c.repos.get(slug).id, username=username,
                                    password=password)
    emit_json(cred) if json else record(f"Credential {cred.id}", cred)


def main() -> None:
    try:
        app()  # click itself exits 2 on usage errors
    except Unreachable as exc:
        err.print(f"[red]error:[/red] {escape(exc.message)}", highlight=False)
        sys.exit(UNREACHABLE)
    except CoregitError as exc:
        run = f" (run {exc.run_id})" if exc.run_id else ""
        err.print(f"[red]error:[/red] {escape(f'{exc.message} [{exc.code or exc.status}]{run}')}",
                  highlight=False)
        sys.exit(SYNC_ERROR)


if __name__ == "__main__":
    main()
