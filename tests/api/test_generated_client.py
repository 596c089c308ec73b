"""Issue 12 point 1: an SDK generated from /v1/openapi.json by openapi-python-client works
against a live server: typed models come back for a create (201) and a list."""

import importlib
import json
import subprocess
import sys
from pathlib import Path

import requests

# Not ``coregit_client``: that name is our own hand-written SDK (installed with the project).
GENERATED = "coregit_generated_client"
CONFIG = f"package_name_override: {GENERATED}\npost_hooks: []\n"


def test_generated_python_client_makes_real_calls(live_server, master_key, tmp_path,
                                                   monkeypatch):
    spec = requests.get(f"{live_server.url}/v1/openapi.json", timeout=30)
    assert spec.status_code == 200
    (tmp_path / "openapi.json").write_text(json.dumps(spec.json()))
    (tmp_path / "config.yaml").write_text(CONFIG)
    out = tmp_path / GENERATED
    tool = Path(sys.executable).parent / "openapi-python-client"
    done = subprocess.run(
        [str(tool), "generate", "--path", str(tmp_path / "openapi.json"), "--meta", "none",
         "--config", str(tmp_path / "config.yaml"), "--output-path", str(out),
         "--fail-on-warning"],
        capture_output=True, text=True, timeout=600, cwd=tmp_path,
    )
    assert done.returncode == 0, done.stdout[-5000:] + done.stderr[-5000:]
    monkeypatch.syspath_prepend(str(tmp_path))
    client_mod = importlib.import_module(GENERATED)
    create = importlib.import_module(f"{GENERATED}.api.repos.repo_list_create_post")
    listing = importlib.import_module(f"{GENERATED}.api.repos.repo_list_create_get")
    models = importlib.import_module(f"{GENERATED}.models")

    client = client_mod.AuthenticatedClient(base_url=live_server.url, token=master_key)
    made = create.sync_detailed(
        client=client, body=models.RepoListCreateInputRequest(slug="from-sdk", description="x"))
    assert made.status_code == 201, made.content
    assert isinstance(made.parsed, models.Repo) and made.parsed.slug == "from-sdk"
    page = listing.sync(client=client, limit=10)
    assert isinstance(page, models.RepoList)
    assert [r.slug for r in page.repos] == ["from-sdk"] and page.next_cursor is None
    # A documented error comes back typed too.
    again = create.sync_detailed(client=client,
                                 body=models.RepoListCreateInputRequest(slug="from-sdk"))
    assert again.status_code == 409 and isinstance(again.parsed, models.Error)
    assert again.parsed.code == "resource.conflict"
