"""Which refs a mirror follows: branch names or glob patterns, and optionally every tag.

A pattern is a branch name in which ``*`` stands for any run of characters (``/`` included, as in
GitLab's and Gitea's mirror filters): ``main``, ``release/*``, ``feature-*``.
"""

from __future__ import annotations

from fnmatch import fnmatchcase

from dulwich.refs import check_ref_format

from repos.validation import pushed_ref_error

HEADS = b"refs/heads/"
TAGS = b"refs/tags/"
PEELED = b"^{}"
MAX_PATTERNS = 100


def pattern_error(pattern: object) -> str | None:
    """Why ``pattern`` is not a valid branch name or glob pattern (None when it is)."""
    if not isinstance(pattern, str) or not pattern or len(pattern) > 255:
        return f"{pattern!r} is not a valid branch name or pattern"
    if any(ch in pattern for ch in "?[]\\"):
        return f"'{pattern}': only '*' may be used as a wildcard"
    # Every '*' stands for at least one valid character: the rest must form a valid ref name.
    if not check_ref_format(HEADS + pattern.replace("*", "x").encode()):
        return f"'{pattern}' is not a valid branch name or pattern"
    return None


def patterns_error(patterns: object) -> str | None:
    if not isinstance(patterns, list):
        return "must be a list of branch names or patterns"
    if len(patterns) > MAX_PATTERNS:
        return f"at most {MAX_PATTERNS} patterns"
    for pattern in patterns:
        if err := pattern_error(pattern):
            return err
    return None


class RefFilter:
    """Matches full ref names (bytes) against the branch patterns and the tags switch.

    ``select`` leaves out matching names this service cannot hold (git accepts names that are not
    UTF-8, which our API and push hook refuse); ``refused`` keeps them, to warn about."""

    def __init__(self, branches: list[str], tags: bool) -> None:
        self._patterns = [p.encode() for p in branches]
        self._tags = tags
        self.refused: dict[bytes, str] = {}

    def __call__(self, ref: bytes) -> bool:
        if ref.endswith(PEELED):
            return False
        if ref.startswith(HEADS):
            name = ref[len(HEADS):]
            return any(fnmatchcase(name, p) for p in self._patterns)  # type: ignore[arg-type]
        return self._tags and ref.startswith(TAGS)

    def select(self, refs: dict[bytes, bytes | None]) -> dict[bytes, bytes]:
        chosen = {}
        for ref, sha in refs.items():
            if not sha or not self(ref):
                continue
            if problem := pushed_ref_error(ref):
                self.refused[ref] = problem
            else:
                chosen[ref] = sha
        return chosen

    def warnings(self, where: str) -> list[str]:
        """One line per matching ref left out: ``where`` says which side holds it."""
        return [f"{ref.decode('utf-8', 'backslashreplace')}: {where} ref name cannot be "
                f"represented here ({problem}); not mirrored"
                for ref, problem in sorted(self.refused.items())]

    @property
    def prefixes(self) -> list[bytes]:
        """Ref prefixes to ask the remote for (protocol v2 ``ref-prefix``)."""
        prefixes = [HEADS + p.split(b"*", 1)[0] for p in self._patterns]
        return [*prefixes, TAGS] if self._tags else prefixes


def is_tag(ref: bytes) -> bool:
    return ref.startswith(TAGS)
