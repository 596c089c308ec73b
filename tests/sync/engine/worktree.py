"""Building remote repositories with the real ``git`` CLI (work tree + push to a bare repo)."""

from __future__ import annotations

import os
from pathlib import Path

from tests.support.gitcli import git


class WorkTree:
    def __init__(self, path: Path, home: Path, remote: Path | str) -> None:
        self.path, self.home, self.remote = path, home, str(remote)
        self.gitlinks: dict[str, str] = {}  # re-staged after every `add -A`, which would drop them
        path.mkdir(parents=True)
        self.git("init", "-q")
        self.git("config", "core.symlinks", "true")

    def git(self, *args: str) -> str:
        return git(*args, cwd=self.path, home=self.home).stdout.decode().strip()

    def write(self, rel: str, data: bytes | str, *, executable: bool = False) -> None:
        target = self.path / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data.encode() if isinstance(data, str) else data)
        target.chmod(0o755 if executable else 0o644)

    def symlink(self, rel: str, points_to: str) -> None:
        target = self.path / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        os.symlink(points_to, target)

    def gitlink(self, rel: str, sha: str) -> None:
        self.gitlinks[rel] = sha

    def rm(self, rel: str) -> None:
        if self.gitlinks.pop(rel, None):
            return
        self.git("rm", "-q", "--cached", "-r", rel)
        full = self.path / rel
        if full.is_symlink() or full.is_file():
            full.unlink()

    def commit(self, message: str = "change") -> str:
        self.git("add", "-A")
        for rel, sha in self.gitlinks.items():
            self.git("update-index", "--add", "--cacheinfo", f"160000,{sha},{rel}")
        self.git("commit", "-q", "--allow-empty", "-m", message)
        return self.head()

    def head(self) -> str:
        return self.git("rev-parse", "HEAD")

    def tree(self) -> str:
        return self.git("rev-parse", "HEAD^{tree}")

    def push(self, branch: str = "main") -> str:
        self.git("push", "-q", self.remote, f"HEAD:refs/heads/{branch}")
        return self.head()

    def pull(self, branch: str = "main") -> str:
        self.git("fetch", "-q", self.remote, branch)
        self.git("reset", "-q", "--hard", "FETCH_HEAD")
        return self.head()


def bare_ref(path: Path, home: Path, ref: str = "refs/heads/main") -> str | None:
    out = git("rev-parse", "--verify", "-q", ref, cwd=path, home=home, check=False)
    return out.stdout.decode().strip() or None


def bare_tree(path: Path, home: Path, ref: str = "refs/heads/main") -> str:
    return git("rev-parse", f"{ref}^{{tree}}", cwd=path, home=home).stdout.decode().strip()


def fill_rich_tree(wt: WorkTree, *, big_mb: int = 20) -> None:
    """Every kind of entry a sync must carry exactly."""
    wt.write("bin/run.sh", "#!/bin/sh\necho hi\n", executable=True)
    wt.write("README.md", "# readme\n")
    wt.symlink("link-to-readme", "README.md")
    wt.write("assets/logo.bin", bytes(range(256)) * 40 + b"\x00\xff")
    wt.write("empty.txt", b"")
    wt.write("docs/héllo wörld ✓.md", "unicode path\n")
    wt.write("/".join(f"d{i}" for i in range(10)) + "/deep.txt", "deep\n")
    if big_mb:
        wt.write("big/large.dat", os.urandom(big_mb * 1024 * 1024))
    wt.write(".github/workflows/ci.yml", "on: push\njobs: {}\n")
    wt.write(".gitignore", "*.pyc\n")
    wt.write(".gitattributes", "*.bin binary\n")
    wt.gitlink("vendor/sub", "1234567890abcdef1234567890abcdef12345678")
