"""Git database endpoints of the GitHub fake (refs, blobs, trees, commits)."""

from __future__ import annotations

import base64
import binascii
from datetime import UTC, datetime

from tests.fakes import gitrepo
from tests.fakes.base import HttpError

R = "/repos/([^/?]+)/([^/?]+)"
DOCS = "https://docs.github.com/rest/git"
MODES = {"100644": "blob", "100755": "blob", "120000": "blob", "040000": "tree",
         "160000": "commit"}
BOTH = ("Must supply either tree.sha or tree.content. Request will be rejected if both are "
        "present.")


def unprocessable(message: str):
    return HttpError(422, {"message": message, "documentation_url": DOCS, "status": "422"})


def missing(field: str):
    return unprocessable(f'Invalid request.\n\n"{field}" wasn\'t supplied.')


def ident(raw: bytes, when: int) -> dict:
    name, _, email = raw.decode("utf-8", "replace").partition(" <")
    date = datetime.fromtimestamp(when, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    return {"name": name, "email": email.rstrip(">"), "date": date}


class GitDataMixin:
    max_tree_entries = 100_000

    def _register_git_data(self, a):
        g, route = R + "/git", self.route
        p = "/repos/{owner}/{repo}"
        route("GET", a, g + "/ref/([^?]+)", self._get_ref, f"GET {p}/git/ref/{{ref}}")
        route("GET", a, g + "/matching-refs/([^?]*)", self._matching_refs,
              f"GET {p}/git/matching-refs/{{ref}}")
        route("POST", a, g + "/refs", self._create_ref, f"POST {p}/git/refs")
        route("PATCH", a, g + "/refs/([^?]+)", self._update_ref, f"PATCH {p}/git/refs/{{ref}}")
        route("DELETE", a, g + "/refs/([^?]+)", self._delete_ref, f"DELETE {p}/git/refs/{{ref}}")
        route("POST", a, g + "/blobs", self._create_blob, f"POST {p}/git/blobs")
        route("GET", a, g + "/blobs/([^/?]+)", self._get_blob, f"GET {p}/git/blobs/{{file_sha}}")
        route("POST", a, g + "/trees", self._create_tree, f"POST {p}/git/trees")
        route("GET", a, g + "/trees/([^?]+)", self._get_tree, f"GET {p}/git/trees/{{tree_sha}}")
        route("POST", a, g + "/commits", self._create_commit, f"POST {p}/git/commits")
        route("GET", a, g + "/commits/([^/?]+)", self._get_commit,
              f"GET {p}/git/commits/{{commit_sha}}")
        route("GET", a, R + "/commits/([^?]+)", self._get_rest_commit, f"GET {p}/commits/{{ref}}")

    # ------------------------------------------------------------ helpers
    def _nonempty(self, owner, name):
        gh = self._repo(owner, name)
        if gh.empty:
            raise HttpError(409, {"message": "Git Repository is empty.",
                                  "documentation_url": DOCS, "status": "409"})
        return gh

    def _url(self, gh, rest: str) -> str:
        return f"{self.api}/repos/{gh.full_name}/{rest}"

    def _ref_json(self, gh, ref: str) -> dict:
        sha = gh.repo.refs[ref.encode()].decode()
        obj_type = gh.repo[sha.encode()].type_name.decode()
        return {"ref": ref, "node_id": f"REF_{ref}", "url": self._url(gh, f"git/{ref}"),
                "object": {"type": obj_type, "sha": sha,
                           "url": self._url(gh, f"git/{obj_type}s/{sha}")}}

    def _commit_json(self, gh, sha: str) -> dict:
        c = gh.repo[sha.encode()]
        tree = c.tree.decode()
        return {"sha": sha, "node_id": f"C_{sha}", "url": self._url(gh, f"git/commits/{sha}"),
                "html_url": f"{self.web}/{gh.full_name}/commit/{sha}",
                "author": ident(c.author, c.author_time),
                "committer": ident(c.committer, c.commit_time),
                "message": c.message.decode("utf-8", "replace"),
                "tree": {"sha": tree, "url": self._url(gh, f"git/trees/{tree}")},
                "parents": [{"sha": p.decode(), "url": self._url(gh, f"git/commits/{p.decode()}"),
                             "html_url": f"{self.web}/{gh.full_name}/commit/{p.decode()}"}
                            for p in c.parents],
                "verification": {"verified": False, "reason": "unsigned", "signature": None,
                                 "payload": None, "verified_at": None}}

    def _tree_json(self, gh, tree_id: str, recursive: bool) -> dict:
        rows = []
        entries = (gitrepo.walk(gh.repo, tree_id) if recursive else
                   ((e.path.decode("utf-8", "surrogateescape"), e.mode, e.sha.decode())
                    for e in gh.repo[tree_id.encode()].iteritems()))
        truncated = False
        for path, mode, sha in entries:
            if len(rows) >= self.max_tree_entries:
                truncated = True
                break
            row = {"path": path, "mode": gitrepo.mode_str(mode), "type": gitrepo.kind(mode),
                   "sha": sha}
            if row["type"] == "blob":
                row["size"] = len(gh.repo[sha.encode()].data)
            if row["type"] != "commit":
                row["url"] = self._url(gh, f"git/{row['type']}s/{sha}")
            rows.append(row)
        return {"sha": tree_id, "url": self._url(gh, f"git/trees/{tree_id}"), "tree": rows,
                "truncated": truncated}

    # ------------------------------------------------------------ refs
    def _get_ref(self, req, owner, name, ref):
        gh = self._nonempty(owner, name)
        full = "refs/" + ref
        if full.encode() not in gh.repo.refs.allkeys():
            raise HttpError(404, {"message": "Not Found", "documentation_url": DOCS})
        return 200, self._ref_json(gh, full)

    def _matching_refs(self, req, owner, name, ref):
        gh = self._nonempty(owner, name)
        prefix = ("refs/" + ref).encode()
        keys = sorted(k for k in gh.repo.refs.allkeys() if k.startswith(prefix) and k != b"HEAD")
        return 200, [self._ref_json(gh, k.decode()) for k in keys]

    def _create_ref(self, req, owner, name):
        gh = self._nonempty(owner, name)
        body = req.json or {}
        ref, sha = body.get("ref"), body.get("sha")
        if not ref:
            raise missing("ref")
        if not sha:
            raise missing("sha")
        if not ref.startswith("refs/") or ref.count("/") < 2:
            raise unprocessable("Reference name must start with 'refs/' and have at least two "
                                "slashes.")
        if not gitrepo.has_object(gh.repo, sha):
            raise unprocessable("Object does not exist")
        if ref.encode() in gh.repo.refs.allkeys():
            raise unprocessable("Reference already exists")
        gh.repo.refs[ref.encode()] = sha.encode()
        return 201, self._ref_json(gh, ref), {"Location": self._url(gh, f"git/{ref}")}

    def _update_ref(self, req, owner, name, ref):
        gh = self._nonempty(owner, name)
        body, full = req.json or {}, ("refs/" + ref).encode()
        sha = body.get("sha")
        if not sha:
            raise missing("sha")
        if full not in gh.repo.refs.allkeys():
            raise unprocessable("Reference does not exist")
        if not gitrepo.has_object(gh.repo, sha, "commit"):
            raise unprocessable("Object does not exist")
        old = gh.repo.refs[full].decode()
        if not body.get("force") and not gitrepo.is_ancestor(gh.repo, old, sha):
            raise unprocessable("Update is not a fast forward")
        if not gh.repo.refs.set_if_equals(full, old.encode(), sha.encode()):
            raise unprocessable("Reference cannot be updated")
        return 200, self._ref_json(gh, full.decode())

    def _delete_ref(self, req, owner, name, ref):
        gh = self._nonempty(owner, name)
        full = ("refs/" + ref).encode()
        if full not in gh.repo.refs.allkeys():
            raise unprocessable("Reference does not exist")
        del gh.repo.refs[full]
        return 204, None

    # ------------------------------------------------------------ blobs
    def _create_blob(self, req, owner, name):
        gh = self._nonempty(owner, name)
        body = req.json or {}
        content, encoding = body.get("content"), body.get("encoding", "utf-8")
        if not isinstance(content, str):
            raise missing("content")
        if encoding == "base64":
            try:
                data = base64.b64decode(content, validate=False)
            except binascii.Error:
                raise unprocessable("Invalid request.\n\nInvalid base64 content.") from None
        elif encoding in ("utf-8", "utf8"):
            data = content.encode()
        else:
            raise unprocessable(f"encoding must be one of utf-8 or base64, got {encoding}")
        sha = gitrepo.add_blob(gh.repo, data)
        return 201, {"sha": sha, "url": self._url(gh, f"git/blobs/{sha}")}

    def _get_blob(self, req, owner, name, sha):
        gh = self._nonempty(owner, name)
        if not gitrepo.has_object(gh.repo, sha, "blob"):
            raise HttpError(404, {"message": "Not Found", "documentation_url": DOCS})
        data = gh.repo[sha.encode()].data
        return 200, {"sha": sha, "node_id": f"B_{sha}", "size": len(data),
                     "url": self._url(gh, f"git/blobs/{sha}"), "encoding": "base64",
                     "content": base64.encodebytes(data).decode()}

    # ------------------------------------------------------------ trees
    def _get_tree(self, req, owner, name, tree_sha):
        gh = self._nonempty(owner, name)
        repo, tree_id = gh.repo, None
        if gitrepo.has_object(repo, tree_sha, "tree"):
            tree_id = tree_sha
        elif gitrepo.has_object(repo, tree_sha, "commit"):
            tree_id = gitrepo.commit_tree(repo, tree_sha)
        else:
            sha = gitrepo.branch_sha(repo, tree_sha.removeprefix("heads/"))
            tree_id = gitrepo.commit_tree(repo, sha) if sha else None
        if tree_id is None:
            raise HttpError(404, {"message": "Not Found", "documentation_url": DOCS})
        return 200, self._tree_json(gh, tree_id, "recursive" in req.query)

    def _create_tree(self, req, owner, name):
        gh = self._nonempty(owner, name)
        repo, body = gh.repo, req.json or {}
        entries, base = body.get("tree"), body.get("base_tree")
        if not isinstance(entries, list):
            raise missing("tree")
        if base is not None and not gitrepo.has_object(repo, base, "tree"):
            raise unprocessable("base_tree is not a valid tree oid")
        leaves = gitrepo.flatten(repo, base)
        for entry in entries:
            self._apply_tree_entry(repo, leaves, entry)
        return 201, self._tree_json(gh, gitrepo.build_tree(repo, leaves), False)

    def _apply_tree_entry(self, repo, leaves, entry):
        path, mode, kind = entry.get("path"), entry.get("mode"), entry.get("type")
        parts = path.split("/") if isinstance(path, str) else [""]
        if any(p in ("", ".", "..", ".git") for p in parts) or "\0" in path:
            raise unprocessable(f"tree.path {path!r} contains a malformed path component")
        if mode not in MODES:
            raise unprocessable(f"tree.mode {mode!r} is not a valid file mode")
        if kind is not None and kind != MODES[mode]:
            raise unprocessable(f"tree.type {kind!r} does not match tree.mode {mode}")
        kind, content = MODES[mode], entry.get("content")
        if ("sha" in entry and content is not None) or ("sha" not in entry and content is None):
            raise unprocessable(BOTH)
        if content is not None:
            if kind != "blob":
                raise unprocessable("tree.content can only be used with blobs")
            gitrepo.set_path(leaves, path, (int(mode, 8), gitrepo.add_blob(repo, content.encode())))
            return
        sha = entry["sha"]
        if sha is None:
            if not any(k == path or k.startswith(path + "/") for k in leaves):
                raise unprocessable("GitRPC::BadObjectState")
            gitrepo.set_path(leaves, path, None)
        elif kind == "commit":
            if not isinstance(sha, str) or len(sha) != 40:
                raise unprocessable(f"tree.sha {sha} is not a valid commit")
            gitrepo.set_path(leaves, path, (int(mode, 8), sha))
        elif not gitrepo.has_object(repo, sha, kind):
            raise unprocessable(f"tree.sha {sha} is not a valid {kind}")
        elif kind == "tree":
            gitrepo.set_path(leaves, path, None)
            for sub, value in gitrepo.flatten(repo, sha).items():
                leaves[f"{path}/{sub}"] = value
        else:
            gitrepo.set_path(leaves, path, (int(mode, 8), sha))

    # ------------------------------------------------------------ commits
    def _create_commit(self, req, owner, name):
        gh = self._nonempty(owner, name)
        body = req.json or {}
        message, tree, parents = body.get("message"), body.get("tree"), body.get("parents", [])
        if not isinstance(message, str):
            raise missing("message")
        if not isinstance(tree, str):
            raise missing("tree")
        if not gitrepo.has_object(gh.repo, tree, "tree"):
            raise unprocessable("Tree SHA does not exist")
        if not isinstance(parents, list) or not all(
                gitrepo.has_object(gh.repo, p, "commit") for p in parents):
            raise unprocessable("Parent SHA does not exist or is not a commit object")
        sha = gitrepo.make_commit(gh.repo, tree, parents, message, body.get("author"),
                                  body.get("committer"))
        return 201, self._commit_json(gh, sha), {"Location": self._url(gh, f"git/commits/{sha}")}

    def _get_commit(self, req, owner, name, sha):
        gh = self._nonempty(owner, name)
        if not gitrepo.has_object(gh.repo, sha, "commit"):
            raise HttpError(404, {"message": "Not Found", "documentation_url": DOCS})
        return 200, self._commit_json(gh, sha)

    def _get_rest_commit(self, req, owner, name, ref):
        gh = self._nonempty(owner, name)
        sha = ref if gitrepo.has_object(gh.repo, ref, "commit") else gitrepo.branch_sha(
            gh.repo, ref.removeprefix("refs/heads/"))
        if sha is None:
            raise unprocessable(f"No commit found for SHA: {ref}")
        git = self._commit_json(gh, sha)
        return 200, {"sha": sha, "node_id": git["node_id"], "html_url": git["html_url"],
                     "url": self._url(gh, f"commits/{sha}"), "parents": git["parents"],
                     "commit": {k: git[k] for k in ("author", "committer", "message", "tree",
                                                    "url", "verification")} | {"comment_count": 0},
                     "author": None, "committer": None}
