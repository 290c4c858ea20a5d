"""Stage 4 — history: when each document was created and updated, and by whom, from git.

One streamed `git log` over the whole repository serves every document (the MkDocs
git-revision-date plugins run one `git log` per file, which is what makes their builds slow).
Commits arrive newest first; each document is tracked under the name it had at that point, so
a rename `old -> new` switches the tracking of `new` to `old` for older commits, as
`git log --follow` does. Missing git, a folder outside any repository and a shallow clone are
warnings (KB701, KB702), never failures: history is decoration, not content.

With a cache folder (kb build's `.kb-cache/history`), the commits read are kept, keyed on the
commit HEAD named and on what shapes the log (kb, git's mailmap and diff settings): the next
run with HEAD unchanged reads no log at all, one whose HEAD moved forward by commits of one
parent each reads only those (`git log OLD..HEAD`, which comes first in the full log), and any
other move (a merge, a reset, a rebase, a shallow clone) reads everything again. The working
tree's state (uncommitted and staged-renamed files) is read every time.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any, TypeVar

from kb import git
from kb.findings import Finding, finding

T = TypeVar("T")

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


def read_history(root: Path, paths: Iterable[str], cache: Path | None = None) -> History:
    """History of `paths` (POSIX, relative to the handbook `root`) from one pass over git.

    Never raises: without git or a repository the result is `available=False` with a KB701
    warning; a shallow clone gives a KB702 warning and the history that is there. `cache`: a
    folder where the commits read are kept for the next run (see the module's docstring).
    """
    wanted = sorted(set(paths))
    repo = git.find_repo(root)
    if repo is None:
        return _unavailable(_why_unavailable())
    try:
        return _read(repo, git.root_prefix(root, repo), wanted, cache)
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


def _read(repo: Path, prefix: str, wanted: list[str], cache: Path | None) -> History:
    shallow = git.is_shallow(repo)
    tree = git.working_tree(repo, _folders(prefix, wanted))
    tracker = _Tracker({prefix + p: p for p in wanted}, tree.renamed)
    if wanted and cache is not None and not shallow:  # a shallow clone's history can grow alone
        for commit in _cached_log(repo, cache / LOG_FILE):
            tracker.add(commit)
    elif wanted and git.has_commits(repo):
        for commit in git.log_changes(repo):
            tracker.add(commit)
    dirty = tree.modified | tree.untracked
    days: dict[int, date] = {}  # a commit's day, made once for all the files it touched
    files = {p: _result(tracker.tally[p], prefix + p in dirty, prefix, p, days) for p in wanted}
    warnings = (_shallow_warning(),) if shallow else ()
    return History(files, True, shallow, warnings)


def _folders(prefix: str, wanted: list[str]) -> list[str]:
    """The top folders (and files at the top) of `wanted`, relative to the repository: where
    an untracked file can be a wanted one (`git.working_tree` lists untracked files there
    only; every other untracked file is no document)."""
    tops = {path.partition("/")[0] for path in wanted}
    return sorted(prefix + top for top in tops)


def _shallow_warning() -> Finding:
    return finding(".", 1, 1, "KB702", "shallow clone: dates and authors are incomplete",
                   SHALLOW_HINT)  # fmt: skip


def _result(tally: _Tally, dirty: bool, prefix: str, key: str, days: dict[int, date]) -> FileHistory:
    previous = _previous(tally, prefix, key) if tally.previous else ()
    if not tally.commits:
        return FileHistory(None, None, (), None, 0, True, previous)
    created = days.get(tally.created) or days.setdefault(tally.created, _day(tally.created))
    updated = days.get(tally.updated) or days.setdefault(tally.updated, _day(tally.updated))
    return FileHistory(
        created, updated, tuple(reversed(tally.authors)), tally.last_author, tally.commits, dirty, previous
    )


def _previous(tally: _Tally, prefix: str, key: str) -> tuple[str, ...]:
    """Earlier names inside the handbook root, relative to it, oldest first, each once."""
    names = [p.removeprefix(prefix) for p in reversed(tally.previous) if p.startswith(prefix)]
    return tuple(dict.fromkeys(n for n in names if n and n != key))


def _day(timestamp: int) -> date:
    return datetime.fromtimestamp(timestamp, tz=UTC).date()


def read_stage_history(
    root: Path, loops_dir: str, cache: Path | None = None
) -> dict[str, list[tuple[int, str]]]:
    """When each loop's stage changed (path relative to root → [(unix time, stage)], oldest
    first), for the loop feeds. Empty without git; never raises. `cache`: as for read_history
    (the caller reads no stages from a shallow clone)."""
    if shutil.which("git") is None:
        return {}
    try:
        repo = git.find_repo(root)
        if repo is None or not git.has_commits(repo):
            return {}
        prefix = git.root_prefix(root, repo)
        if cache is not None:
            changes = _cached_stages(repo, prefix + loops_dir, cache / STAGES_FILE)
        else:
            changes = git.stage_history(repo, prefix + loops_dir)
    except git.GitError:
        return {}
    return {path[len(prefix) :]: value for path, value in changes.items() if path.startswith(prefix)}


# -- the cache of what git log said, keyed on HEAD -------------------------------------------

#: Bumped when the cache files change shape: older ones are then read again from git.
CACHE_FORMAT = 1
LOG_FILE = "log.json"
STAGES_FILE = "stages.json"


def _cached_log(repo: Path, path: Path) -> list[git.Commit]:
    """Every commit `git.log_changes` yields, from the cache where HEAD allows (and the cache
    brought up to date)."""
    head = git.head_commit(repo)
    if head is None:
        return []  # no commit yet
    key = _log_key(repo)
    state = _load(path, key)
    cached = _decoded(_commits, state, "commits")
    if state is not None and cached is not None and state["head"] == head:
        return cached
    if state is not None and cached is not None and git.fast_forward(repo, state["head"], head):
        commits = list(git.log_changes(repo, since=state["head"], head=head)) + cached
    else:
        commits = list(git.log_changes(repo, head=head))
    encoded = [[c.author, c.timestamp, [[x.status, x.path, x.old] for x in c.changes]] for c in commits]
    _store(path, {"key": key, "head": head, "commits": encoded})
    return commits


def _cached_stages(repo: Path, loops: str, path: Path) -> dict[str, list[tuple[int, str]]]:
    """`git.stage_history` of the folder `loops`, from the cache where HEAD allows."""
    head = git.head_commit(repo)
    if head is None:
        return {}
    key = _digest(f"{CACHE_FORMAT}\0stages\0{loops}")
    state = _load(path, key)
    cached = _decoded(_stages, state, "stages")
    if state is not None and cached is not None and state["head"] == head:
        return cached
    if state is not None and cached is not None and git.fast_forward(repo, state["head"], head):
        found = cached
        for name, changes in git.stage_history(repo, loops, since=state["head"], head=head).items():
            found[name] = found.get(name, []) + changes  # the new commits come after the old ones
    else:
        found = git.stage_history(repo, loops, head=head)
    _store(path, {"key": key, "head": head, "stages": found})
    return found


def _log_key(repo: Path) -> str:
    """What shapes the log besides HEAD: kb's reading of it, the mailmap (the working tree's
    `.mailmap`, a configured mailmap file or blob) and git's diff, log and path settings."""
    from kb import __version__

    config = git.git_config(repo, r"^(mailmap|diff|log|core|i18n)\.")
    parts = [f"{CACHE_FORMAT}\0{__version__}\0{git.LOG_ARGS!r}".encode(), config]
    mailmaps = [repo / ".mailmap"]
    items = config.split(b"\0")
    for item in items:
        name, _, value = item.partition(b"\n")
        if name == b"mailmap.file":
            mailmaps.append(repo / os.path.expanduser(os.fsdecode(value)))
        elif name == b"mailmap.blob":
            try:
                parts.append(git.blob_id(repo, os.fsdecode(value)))
            except git.GitError:
                parts.append(b"?")
    for mailmap in mailmaps:
        try:
            parts.append(mailmap.read_bytes())
        except OSError:
            parts.append(b"-")
    return _digest(*parts)


def _digest(*parts: str | bytes) -> str:
    h = hashlib.sha256()
    for part in parts:
        h.update(part.encode() if isinstance(part, str) else part)
        h.update(b"\0\1")
    return h.hexdigest()


def _load(path: Path, key: str) -> dict[str, Any] | None:
    try:
        state = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(state, dict) or state.get("key") != key or not isinstance(state.get("head"), str):
        return None
    return state


def _store(path: Path, state: dict[str, Any]) -> None:
    """Write the cache file atomically (a build and `kb serve` may write it at once); a cache
    that cannot be written is only a slower next run."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=path.name + ".", suffix=".tmp", dir=path.parent)
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            json.dump(state, out, separators=(",", ":"), ensure_ascii=False)
        os.replace(tmp, path)
    except OSError:
        pass


def _decoded(decode: Callable[[Any], T], state: dict[str, Any] | None, name: str) -> T | None:
    """`decode(state[name])`, or None when the state is missing or not of the shape kb writes."""
    if state is None:
        return None
    try:
        return decode(state[name])
    except (KeyError, TypeError, ValueError, AttributeError):
        return None


def _commits(encoded: list[Any]) -> list[git.Commit]:
    commits = [
        git.Commit(author, when, tuple(git.Change(s, p, o) for s, p, o in changes))
        for author, when, changes in encoded
    ]
    for c in commits:
        fields = (c.author, *(x.status for x in c.changes), *(x.path for x in c.changes))
        if not isinstance(c.timestamp, int) or not all(isinstance(f, str) for f in fields):
            raise TypeError("not a commit")
        if not all(x.old is None or isinstance(x.old, str) for x in c.changes):
            raise TypeError("not a commit")
    return commits


def _stages(encoded: Mapping[str, list[Any]]) -> dict[str, list[tuple[int, str]]]:
    return {
        str(name): [(int(when), str(stage)) for when, stage in changes] for name, changes in encoded.items()
    }
