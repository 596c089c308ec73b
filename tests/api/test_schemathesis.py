"""Issue 12 point 1: schemathesis over every operation of /v1/openapi.json against a live server
(PostgreSQL, a master key): no 5xx, documented statuses, content types and bodies, and
schema-violating requests refused. A fixed seed and bounded examples keep it within CI time."""

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

CHECKS = ("not_a_server_error,status_code_conformance,content_type_conformance,"
          "response_schema_conformance,negative_data_rejection")
# Key deletion runs last and alone: the fuzzer learns key ids from GET /v1/keys and would
# otherwise delete the master key it authenticates with halfway through.
KEY_DELETE = "key_delete_delete"
CONFIG = """
[dictionaries.slugs]
values = ["app", "bare"]
[dictionaries.namespaces]
values = ["team"]
[dictionaries.connections]
values = ["{connection}"]
[parameters]
"path.slug" = {{ dictionary = "slugs", probability = 0.5 }}
"path.namespace" = {{ dictionary = "namespaces", probability = 0.5 }}
"path.connection_id" = {{ dictionary = "connections", probability = 0.5 }}
"""


@pytest.fixture
def fuzz_world(live_server, transactional_db, provider):
    """Real resources the fuzzer can reach (it mixes their names with generated ones). Every
    outgoing provider call is answered by the mock: the provider rejects unknown tokens."""
    from tests.support.api_world import build_world

    for method in ("GET", "POST", "PUT", "PATCH", "DELETE"):
        provider.add(method, re.compile(r"https?://.*"), status=401,
                     json={"message": "Bad credentials"})
    return build_world()


def _run(live_server, world, tmp_path: Path, name: str, *selection: str) -> dict:
    config = tmp_path / "schemathesis.toml"
    config.write_text(CONFIG.format(connection=world.connection.id))
    report = tmp_path / f"{name}.json"
    cmd = [str(Path(sys.executable).parent / "st"), "--config-file", str(config), "--no-color",
           "run", f"{live_server.url}/v1/openapi.json", "--checks", CHECKS,
           "-H", f"x-api-key: {world.master_key}", "--seed", "12", "--max-examples", "6",
           "--workers", "1", "--no-shrink", "--request-timeout", "60",
           "--phases", "examples,coverage,fuzzing", *selection,
           "--report", "json", "--report-json-path", str(report)]
    # cwd: schemathesis keeps a cache directory where it runs.
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=900, cwd=tmp_path)
    assert done.returncode == 0, done.stdout[-15000:] + done.stderr[-3000:]
    return json.loads(report.read_text())


def test_schemathesis_finds_nothing_on_any_operation(live_server, fuzz_world, tmp_path,
                                                     document):
    main = _run(live_server, fuzz_world, tmp_path, "main", "--exclude-operation-id", KEY_DELETE)
    keys = _run(live_server, fuzz_world, tmp_path, "keys", "--include-operation-id", KEY_DELETE)
    total = sum(len(item) for item in document["paths"].values())
    tested = main["operations"]["tested"] + keys["operations"]["tested"]
    cases = main["test_cases"]["generated"] + keys["test_cases"]["generated"]
    failures = len(main["failures"]) + len(keys["failures"])
    print(f"\nschemathesis: {tested} operations, {cases} test cases, {failures} failures")
    assert tested == total >= 32
    assert failures == 0 and not main["errors"] and not keys["errors"]
    assert not main["warnings"]["missing_auth"], main["warnings"]
    # The run reached the API's logic, not only its 404s and 400s.
    accepted = {op for op, rates in main["valid_rates"].items()
                if any(r["accepted"] for r in rates.values())}
    assert {"POST /v1/repos", "GET /v1/repos/{slug}/sync/config",
            "PATCH /v1/connections/{connection_id}"} <= accepted, sorted(accepted)
    assert cases > 500
