"""Stage 4 — history: when each document was created and updated, and by whom, from git.

One streamed `git log` over the whole repository serves every document (the MkDocs
git-revision-date plugins run one `git log` per file, which is what makes their builds slow).
Commits arrive newest first; each document is tracked under the name it had at that point, so
a rename `old -> new` switches the tracking of `new` to `old` for older commits, as
`git log --follow` does. Missing git, a folder outside any repository and a shallow clone are
warnings (KB701, KB702), never failures: history is decoration, not content.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path

from kb import git
from kb.findings import Finding, finding

SHALLOW_HINT = "fetch the full history (actions/checkout with fetch-depth: 0, or git fetch --unshallow)"


@dataclass(frozen=True, slots=True)
class FileHistory:
    """What git knows about one document. Dates are UTC calendar days of author dates."""

    created: date | None
    """Day of the commit that added the file (following renames); None if never committed."""
    updated: date | None
    """Day of the last commit touching the file."""
    authors: tuple[str, ...]
    """Author names after .mailmap, unique, oldest first contribution first."""
    last_author: str | None
    """Author of the last commit touching the file."""
    commits: int
    """Number of commits touching the file, following renames."""
    uncommitted: bool
    """New (untracked or only staged) or changed in the working tree or index."""
    previous_paths: tuple[str, ...]
    """Earlier paths the file was renamed from, relative to the handbook root like the keys
    (paths outside the root are left out: they cannot be redirected), oldest first."""


NEW_FILE = FileHistory(None, None, (), None, 0, True, ())


@dataclass(frozen=True, slots=True)
class History:
    """The history of the requested documents, keyed by path relative to the handbook root."""

    files: Mapping[str, FileHistory]
    available: bool
    """False when there is no git binary or no repository: `files` is then empty."""
    shallow: bool
    findings: tuple[Finding, ...]
    """At most one KB701 and one KB702 warning."""


@dataclass(slots=True)
class _Tally:
    """Running totals for one document while the log streams past, newest commit first."""

    commits: int = 0
    created: int = 0
    updated: int = 0
    last_author: str | None = None
    authors: dict[str, None] = field(default_factory=dict)
    previous: list[str] = field(default_factory=list)

    def count(self, commit: git.Commit) -> None:
        if not self.commits:
            self.updated, self.last_author = commit.timestamp, commit.author
        self.commits += 1
        self.created = commit.timestamp
        # Re-inserting moves the name to the end: the end is the oldest contribution.
        self.authors.pop(commit.author, None)
        self.authors[commit.author] = None


class _Tracker:
    """Maps the names files had in history to the document they are now."""

    def __init__(self, names: Mapping[str, str], staged_renames: Mapping[str, str]) -> None:
        self.owner: dict[str, str] = dict(names)
        self.tally: dict[str, _Tally] = {key: _Tally() for key in names.values()}
        for old, new in staged_renames.items():
            if new in self.owner:
                self._follow(old, self.owner[new])

    def _follow(self, old: str, key: str) -> None:
        self.owner[old] = key
        self.tally[key].previous.append(old)

    def add(self, commit: git.Commit) -> None:
        """Count `commit` for the documents it touches, then step their names back in time.
        All lookups use the names before this commit, so swaps (a->b, b->a) stay correct."""
        hits: set[str] = set()
        ended: list[str] = []
        moved: list[tuple[str, str]] = []
        for change in commit.changes:
            key = self.owner.get(change.path)
            if key is None:
                continue
            hits.add(key)
            if change.status in ("A", "R"):
                ended.append(change.path)  # the file did not exist under this name before
            if change.status == "R" and change.old is not None:
                moved.append((change.old, key))
        for key in hits:
            self.tally[key].count(commit)
        for path in ended:
            self.owner.pop(path, None)
        for old, key in moved:
            self._follow(old, key)


def read_history(root: Path, paths: Iterable[str]) -> History:
    """History of `paths` (POSIX, relative to the handbook `root`) from one pass over git.

    Never raises: without git or a repository the result is `available=False` with a KB701
    warning; a shallow clone gives a KB702 warning and the history that is there.
    """
    wanted = sorted(set(paths))
    repo = git.find_repo(root)
    if repo is None:
        return _unavailable(_why_unavailable())
    try:
        return _read(repo, git.root_prefix(root, repo), wanted)
    except (git.GitError, OSError, ValueError) as exc:  # a broken repository is still a warning
        return _unavailable(str(exc))


def _why_unavailable() -> str:
    if shutil.which("git") is None:
        return "git is not installed (no `git` on PATH)"
    return "the handbook is not inside a git repository (or git refuses it: run `git status`)"


def _unavailable(reason: str) -> History:
    warning = finding(".", 1, 1, "KB701", f"git history unavailable: {reason}",
                      "dates and authors are left out")  # fmt: skip
    return History({}, False, False, (warning,))


def _read(repo: Path, prefix: str, wanted: list[str]) -> History:
    shallow = git.is_shallow(repo)
    tree = git.working_tree(repo)
    tracker = _Tracker({prefix + p: p for p in wanted}, tree.renamed)
    if wanted and git.has_commits(repo):
        for commit in git.log_changes(repo):
            tracker.add(commit)
    dirty = tree.modified | tree.untracked
    files = {p: _result(tracker.tally[p], prefix + p in dirty, prefix, p) for p in wanted}
    warnings = (_shallow_warning(),) if shallow else ()
    return History(files, True, shallow, warnings)


def _shallow_warning() -> Finding:
    return finding(".", 1, 1, "KB702", "shallow clone: dates and authors are incomplete",
                   SHALLOW_HINT)  # fmt: skip


def _result(tally: _Tally, dirty: bool, prefix: str, key: str) -> FileHistory:
    if not tally.commits:
        return FileHistory(None, None, (), None, 0, True, _previous(tally, prefix, key))
    return FileHistory(
        created=_day(tally.created),
        updated=_day(tally.updated),
        authors=tuple(reversed(tally.authors)),
        last_author=tally.last_author,
        commits=tally.commits,
        uncommitted=dirty,
        previous_paths=_previous(tally, prefix, key),
    )


def _previous(tally: _Tally, prefix: str, key: str) -> tuple[str, ...]:
    """Earlier names inside the handbook root, relative to it, oldest first, each once."""
    names = [p.removeprefix(prefix) for p in reversed(tally.previous) if p.startswith(prefix)]
    return tuple(dict.fromkeys(n for n in names if n and n != key))


def _day(timestamp: int) -> date:
    return datetime.fromtimestamp(timestamp, tz=UTC).date()


def read_stage_history(root: Path, loops_dir: str) -> dict[str, list[tuple[int, str]]]:
    """When each loop's stage changed (path relative to root → [(unix time, stage)], oldest
    first), for the loop feeds. Empty without git; never raises."""
    if shutil.which("git") is None:
        return {}
    try:
        repo = git.find_repo(root)
        if repo is None or not git.has_commits(repo):
            return {}
        prefix = git.root_prefix(root, repo)
        changes = git.stage_history(repo, prefix + loops_dir)
    except git.GitError:
        return {}
    return {path[len(prefix) :]: value for path, value in changes.items() if path.startswith(prefix)}
