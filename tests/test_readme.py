"""The README works as written: its settings table, and every shell line against `make run`.

The shell lines run one by one in one bash session, a terminal of their own (none of the
service's variables set), from the checkout, against `make run` on a temporary data directory.
What the test changes, and why:

- `127.0.0.1:8000` becomes the free port `make run` got (`PORT`, which the README documents);
- `var/` becomes that data directory (`COREGIT_DATA_DIR`, default `./var`), which the terminal
  also exports, as the default would be on both sides;
- `git clone URL` clones into the test's temporary directory, not into the checkout;
- a placeholder `<prefix>_…` becomes the first such id in the most recent answer that has one,
  and `ghp_…` a token the fake GitHub accepts;
- GitHub is the stateful fake of tests/fakes, served over HTTP as a GitHub Enterprise host: the
  connection line gets its `"host"`. Every later line runs unchanged against it.
`make run` / `make test` lines are not run again: the first is the fixture, the second the suite.
"""

import json
import re
import subprocess
import time
import uuid
from pathlib import Path

import pytest
import requests

from tests.fakes.github import FakeGitHub
from tests.support.fake_over_http import fake_over_http
from tests.support.make_run import ROOT, make_run, terminal_env

README = ROOT / "README.md"
TOKEN = "ghp_readme0000000000000000000000000000"
RUN_DEADLINE = 900.0  # a run the worker finishes in seconds; generous for a loaded machine


def shell_lines() -> list[str]:
    """Logical lines (backslash continuations joined) of the README's ```sh blocks."""
    lines, block = [], None
    for raw in README.read_text().splitlines():
        if raw.startswith("```"):
            block = [] if raw.strip() == "```sh" and block is None else None
            continue
        if block is not None:
            if lines and lines[-1].endswith("\\"):
                lines[-1] += "\n" + raw
            elif raw.strip():
                lines.append(raw)
    return lines


def documented_variables() -> set[str]:
    rows = [line for line in README.read_text().splitlines() if line.startswith("| `")]
    return {name for row in rows for name in re.findall(r"`([A-Z][A-Z0-9_]+)`", row.split("|")[1])}


def variables_read() -> set[str]:
    """Every environment variable the service's code or scripts/run.sh reads."""
    pattern = re.compile(r"""(?:env_(?:str|bool|int)|require|os\.environ\.get|os\.getenv)\(\s*"""
                         r"""["']([A-Z][A-Z0-9_]+)["']""")
    found = set()
    for path in ROOT.glob("*/**/*.py"):
        rel = path.relative_to(ROOT).parts
        if rel[0] in {"tests", "bench", ".venv"} or "migrations" in rel or path.name.startswith(
                "test_"):
            continue
        found |= set(pattern.findall(path.read_text()))
    found |= set(re.findall(r"\$\{([A-Z][A-Z0-9_]+):-", (ROOT / "scripts/run.sh").read_text()))
    return found - {"VENV"}  # the Makefile's own variable, passed to the script


def test_readme_documents_every_variable_the_service_reads():
    read = variables_read()
    assert {"HOST", "PORT", "DATABASE_URL", "SECRET_KEY"} <= read  # the scan sees them
    assert read - documented_variables() == set()


def test_readme_urls_are_complete_for_curl():
    for line in shell_lines():
        if line.startswith("curl"):
            urls = re.findall(r"\S*(?:127\.0\.0\.1|localhost|:8000)\S*", line)
            assert urls and all(re.match(r"'?http://127\.0\.0\.1:8000/", u) for u in urls), line


class Shell:
    """One bash session; each command's exit status, stdout and stderr."""

    def __init__(self, cwd: Path, env: dict, scratch: Path):
        self.scratch = scratch
        self.proc = subprocess.Popen(["bash", "--noprofile", "--norc"], cwd=cwd, env=env,
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)

    def run(self, command: str) -> tuple[int, str, str]:
        out, err, done = self.scratch / "out", self.scratch / "err", f"__done_{uuid.uuid4().hex}"
        self.proc.stdin.write(f"{{ {command}\n}} >{out} 2>{err}; echo {done} $?\n")
        self.proc.stdin.flush()
        while not (line := self.proc.stdout.readline()).startswith(done):
            assert line, "bash exited"
        return int(line.split()[1]), out.read_text(), err.read_text()

    def close(self) -> None:
        self.proc.stdin.close()
        self.proc.wait(timeout=60)


def first_id(answers: list, prefix: str) -> str:
    def walk(node):
        if isinstance(node, dict):
            node = list(node.values())
        if isinstance(node, list):
            for item in node:
                yield from walk(item)
        elif isinstance(node, str) and re.fullmatch(rf"{prefix}_[A-Za-z0-9]+", node):
            yield node

    for answer in reversed(answers):
        for found in walk(answer):
            return found
    raise AssertionError(f"no earlier answer gave a {prefix}_ id")


def substitute(line: str, *, port: int, data: Path, tmp: Path, answers: list, gh_host: str) -> str:
    line = line.replace("127.0.0.1:8000", f"127.0.0.1:{port}")
    line = re.sub(r"(?<![\w/.])var/", f"{data}/", line)
    if line.startswith("git clone "):
        line = line.replace("\n", " ") + f" {tmp}/clone"
    line = line.replace("ghp_…", TOKEN)
    if '"provider": "github"' in line:
        line = line.replace("'{", f"'{{\"host\": \"{gh_host}\", ", 1)
    if "coregit connections add --provider github" in line:  # the CLI form, same fake host
        line += f" --host {gh_host}"
    return re.sub(r"\b([a-z]+)_…", lambda m: first_id(answers, m.group(1)), line)


def wait_for_run(base: str, key: str, run_id: str) -> dict:
    deadline = time.monotonic() + RUN_DEADLINE
    while True:
        runs = requests.get(f"{base}/v1/repos/hello/sync/history", headers={"x-api-key": key},
                            timeout=120).json()["runs"]
        run = next((r for r in runs if r["id"] == run_id), None)
        if run and run["status"] not in ("queued", "running"):
            return run
        assert time.monotonic() < deadline, f"run {run_id} never finished: {run}"
        time.sleep(0.5)


@pytest.mark.slow
@pytest.mark.timeout(3600)
def test_every_shell_line_of_the_readme_runs_as_written(tmp_path):
    lines = [line for line in shell_lines() if not line.startswith("make ")]
    assert len(lines) >= 15
    with fake_over_http(lambda host: FakeGitHub(tmp_path / "gh", host=host)) as (gh, gh_host):
        gh.add_token(TOKEN)
        gh.create_repo("octocat/hello", empty=False)
        with make_run(tmp_path / "run") as run:
            port = int(run.base.rsplit(":", 1)[1])
            key = (run.data / "demo-master-key").read_text().strip()
            shell = Shell(ROOT, terminal_env(tmp_path / "run" / "home",
                                             COREGIT_DATA_DIR=str(run.data)), tmp_path)
            answers: list = []
            try:
                for line in lines:
                    command = substitute(line, port=port, data=run.data, tmp=tmp_path,
                                         answers=answers, gh_host=gh_host)
                    status, out, err = shell.run(command)
                    print(f"$ {command}\n{out[:300]}")  # shown when the test fails
                    assert status == 0, f"{command}\n{out}\n{err}"
                    check(line, out, run.base, key, answers)
            finally:
                shell.close()
        assert (tmp_path / "clone" / ".git").is_dir()


def check(line: str, out: str, base: str, key: str, answers: list) -> None:
    """What each kind of README line must have done."""
    if line.startswith("curl"):
        body = json.loads(out)
        assert isinstance(body, dict) and "error" not in body, f"{line}\n{out}"
        answers.append(body)
        if "connection_id" in line:  # auto_sync: a push webhook registered on the (fake) GitHub
            assert body["webhook_id"] and body["auto_sync"] is True, body
        if "sync_id" in line:  # the trigger: finished within its wait, or queued and finishing
            run = wait_for_run(base, key, body["run_id"])
            assert run["status"] == "success", run
        if "history" in line:
            assert body["runs"][0]["status"] == "success" and body["runs"][0]["commit_sha"]
    elif "manage.py create_org" in line or "manage.py mint_master_key" in line:
        new = re.search(r"Master API key \(shown once\): (cgk_\S+)", out).group(1)
        assert requests.get(f"{base}/v1/keys", headers={"x-api-key": new},
                            timeout=120).status_code == 200
    elif "manage.py check_worker" in line:
        assert out.startswith("worker ok")
