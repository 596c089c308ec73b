"""POST /projects/:id/repository/commits of the GitLab fake: actions applied to a real tree."""

from __future__ import annotations

import base64
import binascii
from datetime import UTC, datetime

from tests.fakes import gitrepo
from tests.fakes.base import HttpError

ACTIONS = {"create", "update", "delete", "move", "chmod"}
EXISTS = "A file with this name already exists"
MISSING = "A file with this name doesn't exist"
DIR_EXISTS = "A directory with this name already exists"


def bad(message: str, key: str = "message"):
    return HttpError(400, {key: message})


def _when(ts: int) -> str:
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%dT%H:%M:%S.000+00:00")


def commit_json(fake, project, sha: str) -> dict:
    c = project.repo[sha.encode()]
    author, _, author_email = c.author.decode("utf-8", "replace").partition(" <")
    committer, _, committer_email = c.committer.decode("utf-8", "replace").partition(" <")
    message = c.message.decode("utf-8", "replace")
    return {"id": sha, "short_id": sha[:8], "created_at": _when(c.commit_time),
            "parent_ids": [p.decode() for p in c.parents],
            "title": message.split("\n", 1)[0], "message": message,
            "author_name": author, "author_email": author_email.rstrip(">"),
            "authored_date": _when(c.author_time), "committer_name": committer,
            "committer_email": committer_email.rstrip(">"), "committed_date": _when(c.commit_time),
            "trailers": {}, "extended_trailers": {},
            "web_url": f"{fake.web}/{project.path_with_namespace}/-/commit/{sha}"}


def _content(action: dict, i: int) -> bytes:
    content = action.get("content")
    if content is None:
        return b""
    if not isinstance(content, str):
        raise bad(f"actions[{i}][content] is invalid", "error")
    if action.get("encoding", "text") == "base64":
        try:
            return base64.b64decode(content, validate=True)
        except binascii.Error:
            raise bad("Invalid base64 content") from None
    return content.encode()


def _check_path(path, i: int, field: str = "file_path") -> str:
    if not isinstance(path, str) or not path:
        raise bad(f"actions[{i}][{field}] is missing", "error")
    path = path.strip("/")
    if any(part in ("..", ".") for part in path.split("/")):
        raise bad("Path cannot include directory traversal")
    if not path or "//" in path or path.split("/")[0] == ".git":
        raise bad("Invalid path")
    return path


def _free(leaves: dict, path: str) -> None:
    """Refuse to create `path` where a file or directory already is (or a parent is a file)."""
    if path in leaves:
        raise bad(EXISTS)
    if any(k.startswith(path + "/") for k in leaves):
        raise bad(DIR_EXISTS)
    parts = path.split("/")
    if any("/".join(parts[:n]) in leaves for n in range(1, len(parts))):
        raise bad(EXISTS)


def _mode(action: dict, current: int | None) -> int:
    flag = action.get("execute_filemode")
    if flag is None:
        return current if current is not None else gitrepo.MODE_FILE
    return gitrepo.MODE_EXEC if flag in (True, "true", "1", 1) else gitrepo.MODE_FILE


def apply_actions(repo, leaves: dict, actions: list) -> None:
    for i, action in enumerate(actions):
        if not isinstance(action, dict) or action.get("action") not in ACTIONS:
            raise bad(f"actions[{i}][action] does not have a valid value", "error")
        if action.get("encoding", "text") not in ("text", "base64"):
            raise bad(f"actions[{i}][encoding] does not have a valid value", "error")
        kind, path = action["action"], _check_path(action.get("file_path"), i)
        current = leaves.get(path)
        if kind == "create":
            _free(leaves, path)
            leaves[path] = (_mode(action, None), gitrepo.add_blob(repo, _content(action, i)))
        elif kind == "move":
            previous = _check_path(action.get("previous_path"), i, "previous_path")
            if previous not in leaves:
                raise bad(MISSING)
            old_mode, old_sha = leaves.pop(previous)
            _free(leaves, path)
            sha = old_sha if action.get("content") is None else gitrepo.add_blob(
                repo, _content(action, i))
            leaves[path] = (_mode(action, old_mode), sha)
        elif current is None:
            raise bad(MISSING)
        elif kind == "update":
            leaves[path] = (_mode(action, current[0]), gitrepo.add_blob(repo, _content(action, i)))
        elif kind == "delete":
            del leaves[path]
        elif kind == "chmod":
            if action.get("execute_filemode") is None:
                raise bad(f"actions[{i}][execute_filemode] is missing", "error")
            leaves[path] = (_mode(action, current[0]), current[1])


class CommitsMixin:
    def _create_commit(self, req, pid):
        p, body = self._project(pid), req.json or {}
        branch, message, actions = body.get("branch"), body.get("commit_message"), body.get(
            "actions")
        for key, value in (("branch", branch), ("commit_message", message),
                           ("actions", actions)):
            if value is None:
                raise bad(f"{key} is missing", "error")
        if not isinstance(actions, list) or not actions:
            raise bad("actions is empty", "error")
        if self.max_actions is not None and len(actions) > self.max_actions:
            raise bad(f"Too many actions: at most {self.max_actions} are allowed")
        repo, head = p.repo, gitrepo.branch_sha(p.repo, branch)
        start_sha, start_branch = body.get("start_sha"), body.get("start_branch")
        if start_sha or start_branch:
            if head is not None and not body.get("force"):
                raise bad(f"A branch called '{branch}' already exists. Switch to that branch in "
                          "order to make changes")
            if start_sha:
                if not gitrepo.has_object(repo, start_sha, "commit"):
                    raise bad(f"Cannot find start_sha '{start_sha}'")
                start = start_sha
            else:
                start = gitrepo.branch_sha(repo, start_branch)
                if start is None:
                    raise bad(f"Cannot find start_branch '{start_branch}'")
        else:
            if head is None and not p.empty:
                raise bad("You can only create or edit files when you are on a branch")
            start = head
        leaves = gitrepo.flatten(repo, gitrepo.commit_tree(repo, start) if start else None)
        apply_actions(repo, leaves, actions)
        tree = gitrepo.build_tree(repo, leaves)
        ident = None
        if body.get("author_name") and body.get("author_email"):
            ident = {"name": body["author_name"], "email": body["author_email"]}
        sha = gitrepo.make_commit(repo, tree, [start] if start else [], message, ident)
        ref = b"refs/heads/" + branch.encode()
        ok = (repo.refs.add_if_new(ref, sha.encode()) if head is None
              else repo.refs.set_if_equals(ref, head.encode(), sha.encode()))
        if not ok:
            raise bad("Could not update branch: it was changed concurrently")
        out = commit_json(self, p, sha)
        out.update(stats={"additions": 0, "deletions": 0, "total": 0}, status=None,
                   project_id=p.id, last_pipeline=None)
        return 201, out

    def _get_commit(self, req, pid, sha):
        p = self._project(pid)
        if gitrepo.has_object(p.repo, sha, "commit"):
            found = sha
        else:
            found = gitrepo.branch_sha(p.repo, sha)
        if found is None:
            raise HttpError(404, {"message": "404 Commit Not Found"})
        return 200, commit_json(self, p, found)

    def _create_branch(self, req, pid):
        p, body = self._project(pid), {**req.query, **(req.json or {})}
        branch, ref = body.get("branch"), body.get("ref")
        for key, value in (("branch", branch), ("ref", ref)):
            if not value:
                raise bad(f"{key} is missing", "error")
        if gitrepo.branch_sha(p.repo, branch) is not None:
            raise bad("Branch already exists")
        sha = ref if gitrepo.has_object(p.repo, ref, "commit") else gitrepo.branch_sha(
            p.repo, ref)
        if sha is None:
            raise bad("Invalid reference name: " + ref)
        if not p.repo.refs.add_if_new(b"refs/heads/" + branch.encode(), sha.encode()):
            raise bad("Branch already exists")
        return 201, self._branch_json(p, branch, sha)
