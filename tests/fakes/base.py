"""Routing, counters and failure injection shared by the provider fakes."""

from __future__ import annotations

import contextlib
import hashlib
import json
import re
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlsplit

import requests
import responses

from tests.fakes import gitrepo

QUERY = r"(?:\?.*)?$"


@dataclass
class Req:
    """What a route handler sees."""

    method: str
    url: str
    query: dict[str, str]
    json: object
    raw: object  # the requests.PreparedRequest
    user: str | None = None
    args: tuple = field(default_factory=tuple)
    arrived: float = 0.0  # the fake's clock when the request arrived (before queueing)


@dataclass(frozen=True)
class Logged:
    """One API request as the fake saw it: which body, and what it answered."""

    method: str
    endpoint: str
    body_sha: str  # sha256 of the request body ("" when none)
    status: int | str  # HTTP status, or "reset" / "timeout" for a dropped connection
    at: float  # the fake's clock when the request arrived (not when it was served)


class HttpError(Exception):
    """Raise inside a handler to answer an error."""

    def __init__(self, status: int, body, headers: dict | None = None):
        super().__init__(status)
        self.status, self.body, self.headers = status, body, headers or {}


class FakeProvider:
    """Base class: subclasses call `self.route(...)` and implement `_auth` and `_not_found`."""

    bad_json_message = "Problems parsing JSON"

    def __init__(self, tmp_path, clock=None):
        self.root = Path(tmp_path)
        self.clock = clock or time.monotonic
        self.calls_by_endpoint: Counter[str] = Counter()
        self.requests: list[tuple[str, str, str]] = []  # (method, url, endpoint)
        self._routes: list[tuple[str, re.Pattern, object, str, bool]] = []
        self._failures: list[dict] = []
        self.log: list[Logged] = []
        self._serial = threading.RLock()  # one request at a time, as one repository would

    # ---------------------------------------------------------------- wiring
    def route(self, method: str, base: str, pattern: str, handler, name: str, *, git=False):
        regex = re.compile(re.escape(base) + pattern + QUERY)
        self._routes.append((method, regex, handler, name, git))

    def install(self, rsps: responses.RequestsMock) -> responses.RequestsMock:
        for method, regex, handler, name, git in self._routes:
            rsps.add_callback(method, regex, callback=self._callback(regex, handler, name, git),
                              content_type=None)
        return rsps

    @contextlib.contextmanager
    def mock(self):
        """`with fake.mock() as rsps:` a RequestsMock with this fake installed."""
        with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
            self.install(rsps)
            yield rsps

    def fail_next(self, status: int | str = 502, times: int = 1, *, endpoint: str | None = None,
                  body=None, headers: dict | None = None, skip: int = 0, after: bool = False):
        """The next `times` requests (to `endpoint`, e.g. "POST /repos/{owner}/{repo}/git/trees",
        or any API request), after letting `skip` through, answer `status`: an HTTP status, or
        "reset" (connection reset by peer) / "timeout" (no answer in time). With `after`, the
        request is carried out first and only its answer is lost (a write that landed)."""
        self._failures.append({"status": status, "times": times, "endpoint": endpoint,
                               "body": body if body is not None else {"message": "Server Error"},
                               "headers": headers or {}, "skip": skip, "after": after})

    def fail_nth(self, n: int, status: int | str = 502, *, endpoint: str | None = None,
                 after: bool = False):
        """The `n`-th next request (to `endpoint`, else any API request) fails once."""
        self.fail_next(status, endpoint=endpoint, skip=n - 1, after=after)

    def sent(self, endpoint: str) -> list[Logged]:
        return [r for r in self.log if r.endpoint == endpoint]

    # --------------------------------------------------- repository helpers
    # subclasses keep `self.repos = {name: obj}` where obj.repo is a dulwich Repo
    def commit(self, remote: str, files: dict, message: str = "change", branch: str = "main",
               parents: list[str] | None = None) -> str:
        """Commit exactly `files` ({path: bytes | (mode, bytes-or-sha)}) as the branch's tree."""
        repo = self.repos[remote].repo
        tree = gitrepo.build_tree(repo, gitrepo.files_to_leaves(repo, files))
        if parents is None:
            head = gitrepo.branch_sha(repo, branch)
            parents = [head] if head else []
        sha = gitrepo.make_commit(repo, tree, parents, message)
        repo.refs[b"refs/heads/" + branch.encode()] = sha.encode()
        return sha

    def branch_sha(self, remote: str, branch: str = "main") -> str | None:
        return gitrepo.branch_sha(self.repos[remote].repo, branch)

    def tree_sha(self, remote: str, branch: str = "main") -> str:
        return gitrepo.commit_tree(self.repos[remote].repo, self.branch_sha(remote, branch))

    def read_tree(self, remote: str, branch: str = "main") -> dict:
        return gitrepo.read_leaves(self.repos[remote].repo, self.tree_sha(remote, branch))

    def tree_equals(self, remote: str, branch: str, local_repo_path, local_branch: str) -> bool:
        return self.tree_sha(remote, branch) == gitrepo.local_tree_id(local_repo_path,
                                                                       local_branch)

    def close(self) -> None:
        for item in self.repos.values():
            item.repo.close()

    # ------------------------------------------------------------- internals
    def dispatch(self, request):
        """Answer one request outside `responses` (e.g. from a real HTTP server): the matching
        route's (status, headers, body), or the exception a client would see."""
        for method, regex, handler, name, git in self._routes:
            if method == request.method and regex.match(request.url):
                return self._callback(regex, handler, name, git)(request)
        return 404, {"Content-Type": "application/json"}, b'{"message": "Not Found"}'

    def _callback(self, regex, handler, name, git):
        def callback(request):
            match = regex.match(request.url)
            args = tuple(unquote(g) if g is not None else None for g in match.groups())
            request.arrived = self.clock()  # before waiting for the requests ahead of it
            with self._serial:
                if not git:
                    request.body = _read_body(request.body)
                self.calls_by_endpoint[name] += 1
                self.requests.append((request.method, request.url, name))
                failure = self._injected_failure(name, git)
                result = self._answer(request, handler, name, git, args, failure)
                if not git:
                    status = result if isinstance(result, str) else result[0]
                    digest = hashlib.sha256(request.body or b"").hexdigest() if request.body else ""
                    self.log.append(Logged(request.method, name, digest, status, request.arrived))
            if isinstance(result, str):
                return _dropped(result, request)
            return result

        return callback

    def _answer(self, request, handler, name, git, args, failure):
        if failure is not None and not failure["after"]:
            if isinstance(failure["status"], str):
                return failure["status"]
            return self._respond(failure["status"], failure["body"], failure["headers"], git)
        try:
            result = self._handle(request, handler, name, git, args)
        except HttpError as err:
            result = self._respond(err.status, err.body, err.headers, git)
        if failure is None:
            return result
        if isinstance(failure["status"], str):
            return failure["status"]
        return self._respond(failure["status"], failure["body"], failure["headers"], git)

    def _handle(self, request, handler, name, git, args):
        query = {k: v[-1] for k, v in parse_qs(urlsplit(request.url).query).items()}
        body = None
        if not git and request.body:
            raw = request.body.decode() if isinstance(request.body, bytes) else request.body
            try:
                body = json.loads(raw)
            except ValueError:
                raise HttpError(400, {"message": self.bad_json_message}) from None
        req = Req(request.method, request.url, query, body, request, args=args,
                  arrived=request.arrived)
        req.user = self._auth(req, git)
        if not git:
            self._limits(req, name)
        result = handler(req, *args)
        status, payload = result[0], result[1]
        headers = result[2] if len(result) > 2 else {}
        return self._respond(status, payload, headers, git)

    def _injected_failure(self, name, git) -> dict | None:
        for failure in self._failures:
            if failure["endpoint"] not in (None, name) or (git and failure["endpoint"] is None):
                continue
            if failure["skip"] > 0:
                failure["skip"] -= 1
                return None
            failure["times"] -= 1
            if failure["times"] <= 0:
                self._failures.remove(failure)
            return failure
        return None

    def _respond(self, status, payload, headers, git):
        headers = dict(headers)
        if not git:
            headers = {**self._extra_headers(), **headers}
        if isinstance(payload, dict | list):
            payload = json.dumps(payload).encode()
            headers.setdefault("Content-Type", "application/json; charset=utf-8")
        elif payload is None:
            payload = b""
        return status, headers, payload

    def _auth(self, req: Req, git: bool) -> str | None:  # pragma: no cover - abstract
        raise NotImplementedError

    def _limits(self, req: Req, name: str) -> None:
        return None

    def _extra_headers(self) -> dict:
        return {}


def _read_body(body) -> bytes | str | None:
    """A streamed (chunked) request body as the server receives it: all of it."""
    if body is None or isinstance(body, bytes | str):
        return body
    if hasattr(body, "read"):
        return body.read()
    return b"".join(body)


def _dropped(kind: str, request) -> Exception:
    """What the client sees when the connection is lost (returned to `responses`, which raises
    it): a reset, or a read timeout."""
    if kind == "timeout":
        return requests.exceptions.ReadTimeout(f"Read timed out ({request.url})")
    return requests.exceptions.ConnectionError(
        ConnectionResetError(104, "Connection reset by peer"))
