"""GitHub export of 1,000 changed text files (10 MB) against the stateful GitHub fake.

    python -m bench.export_github [--files 1000 --kb 10]

Prints the API requests each export took (target: at most 15), content-creating requests,
secondary-limit responses (target: none), blobs uploaded, and wall time. Runs the real client
and engine; the fake holds a real bare repository, so the remote tree id is checked too.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

os.environ.setdefault("SECRET_KEY", "bench")

from dulwich.objects import Tree  # noqa: E402

from connections.providers.github import GitHubClient  # noqa: E402
from repos import storage  # noqa: E402
from sync.engine.export_github import run_export  # noqa: E402
from sync.engine.types import ExportRequest  # noqa: E402
from tests.fakes.github import FakeGitHub  # noqa: E402

REMOTE, TOKEN = "octo/bench", "ghp_bench"


def commit_files(path: Path, files: dict[str, bytes]) -> bytes:
    """One local commit holding exactly ``files`` (nested directories built bottom-up)."""
    with storage.open_repo(path) as repo:
        dirs: dict[str, Tree] = {"": Tree()}
        for name, data in sorted(files.items()):
            parts = name.split("/")
            for i in range(1, len(parts)):
                dirs.setdefault("/".join(parts[:i]), Tree())
            dirs["/".join(parts[:-1])].add(parts[-1].encode(), 0o100644,
                                           storage.write_blob(repo, data))
        for name in sorted(dirs, key=lambda d: -d.count("/") if d else 1):
            if name:
                repo.object_store.add_object(dirs[name])
                parent, _, leaf = name.rpartition("/")
                dirs[parent].add(leaf.encode(), 0o040000, dirs[name].id)
        repo.object_store.add_object(dirs[""])
        head = storage.read_ref(repo, b"refs/heads/main")
        sha = storage.write_commit(repo, tree=dirs[""].id, parents=[head] if head else [],
                                   message="bench\n")
        storage.cas_ref(repo, b"refs/heads/main", head, sha)
        return dirs[""].id


def export(gh: FakeGitHub, local: Path, last=None) -> tuple:
    req = ExportRequest(repo_path=local, branch="main", remote_name=REMOTE,
                        remote_label="GitHub", last_remote_sha=last[0] if last else None,
                        last_local_sha=last[1] if last else None)
    before = len(gh.requests)
    started = time.perf_counter()
    result = run_export(req, GitHubClient(TOKEN))
    return result, gh.requests[before:], time.perf_counter() - started


def report(label: str, result, requests, seconds, gh: FakeGitHub, tree: bytes) -> None:
    writes = [r for r in requests if r[0] in ("POST", "PATCH", "PUT")]
    blobs = sum(1 for r in writes if r[2].endswith("/git/blobs"))
    same = gh.tree_sha(REMOTE) == tree.decode()
    print(f"{label:14} requests {len(requests):3}  content-creating {len(writes):3}  "
          f"blobs {blobs:3}  secondary-limit responses {gh.secondary_limit_hits}  "
          f"{seconds:5.2f}s  remote tree == local tree: {same}")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--files", type=int, default=1000)
    ap.add_argument("--kb", type=int, default=10)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        local = Path(tmp) / "local.git"
        storage.init_bare(local, default_branch="main")
        gh = FakeGitHub(Path(tmp) / "gh")
        gh.add_token(TOKEN)
        gh.create_repo(REMOTE, empty=True)
        line = b"x = 'coregit sync benchmark line of text'\n"
        body = line * (args.kb * 1024 // len(line))

        def files(version: int) -> dict[str, bytes]:
            return {f"src/m{i % 30}/f{i}.py": f"# v{version} {i}\n".encode() + body
                    for i in range(args.files)}

        with gh.mock():
            tree = commit_files(local, files(1))
            first, reqs, secs = export(gh, local)
            report("first export", first, reqs, secs, gh, tree)
            tree = commit_files(local, files(2))
            second, reqs, secs = export(gh, local, (first.remote_sha, first.commit_sha))
            report("all changed", second, reqs, secs, gh, tree)
        total = args.files * len(files(2)["src/m0/f0.py"]) / 1e6
        print(f"{args.files} text files, {total:.1f} MB per version")
        gh.close()


if __name__ == "__main__":
    main()
