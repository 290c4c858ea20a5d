"""The one wrapper through which kb calls git.

Every call goes through `_command`, which neutralises repository configuration that could run
programs (fsmonitor, pagers, hooks, external diffs, ssh, transports, signature checks) — a
handbook checked out from an archive may carry a hostile `.git/config`. Text from content or from
the command line is never passed where git would read it as an option: revisions are checked by
`_check_ref` (no leading '-') and resolved with `--end-of-options`, paths always come after `--`.

GitPython is imported lazily (`_gitpython`), so `kb lint` without `--changed` never imports it.
Only the standard library is imported at module level.
"""

from __future__ import annotations

import os
import re
import shutil
import threading
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import IO, Any

from kb.errors import KbError

#: Config overrides on every invocation; command-line config wins over every config file.
SAFE_CONFIG: tuple[str, ...] = (
    "core.fsmonitor=", "core.pager=cat", "core.hooksPath=/dev/null", "diff.external=",
    "core.sshCommand=", "protocol.allow=never", "core.quotePath=false",
    "log.showSignature=false", "color.ui=false",
)  # fmt: skip
#: Flags for commands that diff: never run textconv or external diff programs, never colour.
DIFF_FLAGS: tuple[str, ...] = (
    "--no-textconv", "--no-ext-diff", "--no-color", "--no-relative", "--ignore-submodules=all",
)  # fmt: skip
_ENV: dict[str, str] = {"GIT_TERMINAL_PROMPT": "0", "GIT_PAGER": "cat", "PAGER": "cat"}
_SHA = re.compile(rb"[0-9a-f]{40}(?:[0-9a-f]{24})?")
_BASES: tuple[str, ...] = ("origin/main", "origin/master", "main", "master")


class GitError(KbError):
    """git is missing, refused, or failed in a way kb cannot work around."""


@dataclass(frozen=True, slots=True)
class Change:
    """One entry of `--name-status`: `status` is one letter; `old` is set for renames."""

    status: str
    path: str
    old: str | None = None


@dataclass(frozen=True, slots=True)
class Commit:
    """A commit as the history stage needs it: who, when (Unix seconds), which paths."""

    author: str
    timestamp: int
    changes: tuple[Change, ...]


@dataclass(frozen=True, slots=True)
class WorkingTree:
    """Uncommitted state: paths changed in the index or working tree, untracked files, and
    renames staged in the index (old -> new). Paths are repository-relative, POSIX."""

    modified: frozenset[str] = frozenset()
    untracked: frozenset[str] = frozenset()
    renamed: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class ChangedPaths:
    """What changed since the merge base, committed or not. Paths are repository-relative."""

    changed: frozenset[str]
    deleted: frozenset[str]
    renamed: Mapping[str, str]


def _gitpython() -> ModuleType:
    """Import GitPython only when git is needed; `quiet` stops it raising when git is missing."""
    os.environ.setdefault("GIT_PYTHON_REFRESH", "quiet")
    import git

    return git


def _executable() -> str:
    exe = shutil.which("git")
    if exe is None:
        raise GitError("git is not installed (no `git` on PATH)")
    return exe


def _command(args: Sequence[str], config: Iterable[str] = ()) -> list[str]:
    """The full argument list: the binary, global safety options, then `args`."""
    overrides = [part for kv in (*SAFE_CONFIG, *config) for part in ("-c", kv)]
    return [_executable(), "--no-pager", "--no-optional-locks", *overrides, *args]


def _run(cwd: Path, args: Sequence[str], config: Iterable[str] = ()) -> tuple[int, bytes, str]:
    """Run git in `cwd`; return (status, stdout bytes, stderr text). Raises only if git is absent."""
    command = _command(args, config)
    gitpython = _gitpython()
    try:
        status, out, err = gitpython.Git(str(cwd)).execute(
            command,
            with_extended_output=True,
            with_exceptions=False,
            stdout_as_string=False,
            strip_newline_in_stdout=False,
            env=_ENV,
        )
    except gitpython.exc.GitCommandNotFound as exc:
        raise GitError(f"cannot run git: {exc}") from exc
    return status, out or b"", _text(err)


def _text(err: Any) -> str:
    return err.decode("utf-8", "replace") if isinstance(err, bytes) else str(err or "")


def _output(cwd: Path, *args: str, config: Iterable[str] = ()) -> bytes:
    """stdout of a git command that must succeed."""
    status, out, err = _run(cwd, args, config)
    if status != 0:
        raise GitError(f"git {args[0]} failed: {_first_line(err)}")
    return out


def _try(cwd: Path, *args: str) -> bytes | None:
    """stdout of a git command, or None when it exits non-zero (a question answered 'no')."""
    status, out, _ = _run(cwd, args)
    return out if status == 0 else None


def _first_line(err: str) -> str:
    lines = [line for line in err.strip().splitlines() if line.strip()]
    return lines[0].removeprefix("fatal: ") if lines else "unknown error"


def _split_nul(data: bytes) -> Iterator[bytes]:
    """NUL-separated fields of `-z` output, without the empty field after the last NUL."""
    parts = data.split(b"\0")
    if parts and parts[-1] == b"":
        parts.pop()
    return iter(parts)


def _path(raw: bytes) -> str:
    """A path exactly as the file system names it (undecodable bytes survive as surrogates)."""
    return os.fsdecode(raw)


def find_repo(root: Path) -> Path | None:
    """Top level of the work tree containing `root`; None if there is none or git is missing."""
    if shutil.which("git") is None or not root.is_dir():
        return None
    try:
        status, out, _ = _run(root, ("rev-parse", "--show-toplevel"))
    except GitError:
        return None
    top = out.rstrip(b"\n")
    return Path(os.fsdecode(top)) if status == 0 and top else None


def root_prefix(root: Path, repo: Path) -> str:
    """The handbook `root` relative to the repository top level `repo`: '' or ending in '/'.
    Git names paths from the top level, kb from the handbook root; this is the difference."""
    rel = root.resolve().relative_to(repo.resolve()).as_posix()
    return "" if rel == "." else rel + "/"


def head_commit(repo: Path) -> str | None:
    """The commit HEAD names, or None on an unborn branch. `kb serve` compares it between
    rebuilds to learn that a commit or a checkout moved HEAD (and history must be read again)."""
    out = _try(repo, "rev-parse", "--verify", "--quiet", "HEAD^{commit}")
    sha = (out or b"").strip()
    return sha.decode() if _SHA.fullmatch(sha) else None


def head_log(repo: Path) -> Path | None:
    """The file git appends to whenever HEAD moves (its reflog: commit, checkout, reset,
    merge), if the repository keeps one: what `kb serve` watches to notice a commit that
    changed no watched file. Asked of git, since a worktree's HEAD lives outside `.git/`."""
    out = (_try(repo, "rev-parse", "--git-path", "logs/HEAD") or b"").strip()
    path = repo / os.fsdecode(out) if out else None  # relative to `repo`, where git ran
    return path if path is not None and path.is_file() else None


def is_shallow(repo: Path) -> bool:
    """True in a shallow clone, where old commits (and so dates and authors) are missing."""
    return _output(repo, "rev-parse", "--is-shallow-repository").strip() == b"true"


def has_commits(repo: Path) -> bool:
    """False on an unborn branch (a fresh `git init`), where `git log` would fail."""
    return _try(repo, "rev-parse", "--verify", "--quiet", "HEAD^{commit}") is not None


def _check_ref(ref: str) -> None:
    """Refuse what could become an option or break the argument list: an empty revision, a
    leading '-', control characters. Everything else is for `git rev-parse --verify` to judge
    (HEAD~1, main^, HEAD@{1}, v1.0, a short hash), always after `--end-of-options`."""
    if not ref or ref.startswith("-") or any(ord(ch) < 32 or ord(ch) == 127 for ch in ref):
        raise GitError(
            f"invalid git revision {ref!r} (a branch, tag, commit or an expression such "
            "as HEAD~1; never starting with '-')"
        )


def resolve_ref(repo: Path, ref: str) -> str:
    """The commit hash `ref` names (any revision `git rev-parse --verify` accepts); GitError if
    it could be an option, is a range, or names no commit (with a hint in a shallow clone)."""
    _check_ref(ref)
    out = _try(repo, "rev-parse", "--verify", "--quiet", "--end-of-options", f"{ref}^{{commit}}")
    sha = (out or b"").strip()
    if _SHA.fullmatch(sha):
        return sha.decode()
    if ".." in ref:
        raise GitError(f"{ref!r} is a range; give one revision (a branch, tag, commit, or HEAD~1)")
    raise GitError(f"unknown git revision {ref!r}{shallow_hint(repo)}")


def shallow_hint(repo: Path) -> str:
    """What to do when history is missing: empty unless `repo` is a shallow clone."""
    try:
        shallow = is_shallow(repo)
    except GitError:
        return ""
    if not shallow:
        return ""
    return (
        "; this is a shallow clone, so the base may not have been fetched: fetch the full "
        "history (actions/checkout: `fetch-depth: 0`, or `git fetch --unshallow`)"
    )


def current_branch(repo: Path) -> str | None:
    """The checked-out branch's short name; None on a detached HEAD."""
    out = _try(repo, "symbolic-ref", "--quiet", "--short", "HEAD")
    name = (out or b"").strip().decode("utf-8", "replace")
    return name or None


def default_base(repo: Path) -> str:
    """The upstream's default branch: origin/HEAD's target, else the first of `_BASES` that
    exists. Pull-request checks compare against it when `--base` is not given."""
    target = _try(repo, "symbolic-ref", "--quiet", "--short", "refs/remotes/origin/HEAD")
    if target and target.strip():
        return target.strip().decode("utf-8", "replace")
    for name in _BASES:
        if _try(repo, "rev-parse", "--verify", "--quiet", "--end-of-options", name) is not None:
            return name
    tried = ", ".join(("origin/HEAD", *_BASES))
    raise GitError(f"no base branch found (tried {tried}): pass --base REF")


def picked_base(repo: Path, command: str, head: str = "HEAD") -> tuple[str, str]:
    """The default base and its merge base with HEAD, for a command given no base. Refuses
    (GitError) a base that would compare the branch with itself and so check nothing: one whose
    merge base is HEAD, or the current branch itself (origin/HEAD names the checked-out branch
    after `git clone -b feature`)."""
    ref = default_base(repo)
    sha = merge_base(repo, ref, head)
    branch = current_branch(repo) if head == "HEAD" else None
    if branch and branch in (ref, ref.partition("/")[2]):
        why = f"it is the branch being checked ({branch})"
        if ref.startswith("origin/"):
            why += ", because origin/HEAD names it, as after `git clone -b " + branch + "`"
    elif sha == resolve_ref(repo, head):
        why = f"its merge base with {head} is {head} itself"
    else:
        return ref, sha
    raise GitError(
        f"{command} picked the base {ref!r}, but {why}: it would compare the branch with itself "
        f"and check nothing. Pass the branch this one merges into, e.g. `{command} --base origin/main` "
        '(in a pull-request workflow: --base "origin/${{ github.base_ref }}"), '
        "or --base HEAD to check only uncommitted changes"
    )


def merge_base(repo: Path, ref: str, head: str = "HEAD") -> str:
    """The best common ancestor of `head` and `ref`: what a pull request is compared against."""
    sha = resolve_ref(repo, ref)
    tip = resolve_ref(repo, head) if head != "HEAD" else "HEAD"
    out = _try(repo, "merge-base", "--end-of-options", tip, sha)
    base = (out or b"").strip()
    if not _SHA.fullmatch(base):
        hint = shallow_hint(repo) or " (unrelated histories?)"
        raise GitError(f"HEAD and {ref!r} have no common ancestor{hint}")
    return base.decode()


def _filter_overrides(repo: Path) -> list[str]:
    """Blank every configured clean/smudge filter: `git status` runs them on files whose stat
    data changed, which would execute commands from a hostile config. (A repository using
    Git LFS may then see some stat-dirty LFS files as modified: harmless over-reporting.)"""
    out = _try(repo, "config", "--null", "--name-only", "--get-regexp", r"^filter\.")
    keys = [os.fsdecode(key) for key in _split_nul(out or b"")]
    names = {key[7 : key.rindex(".")] for key in keys if key.count(".") >= 2}
    if any("=" in name for name in names):
        raise GitError("refusing a repository whose config names a filter with '='")
    return [
        f"filter.{name}.{key}={value}"
        for name in sorted(names)
        for key, value in (("clean", ""), ("smudge", ""), ("process", ""), ("required", "false"))
    ]


def working_tree(repo: Path, untracked_in: Sequence[str] | None = None) -> WorkingTree:
    """Staged, unstaged and untracked (not ignored) paths, from `git status --porcelain -z`.

    `untracked_in`: the folders (or files), relative to `repo`, whose untracked files the
    caller wants; None: everywhere. Listing untracked files is most of what `git status`
    costs where the repository does not ignore a large folder (a site built into `site/`
    without a `.gitignore`: 0.25 s for 30,000 files), so the whole tree is asked for staged
    and unstaged changes (renames included) only, and those folders for untracked files.
    """
    config = _filter_overrides(repo)
    args = ("status", "--porcelain=v1", "-z", "--renames", "--ignore-submodules=all")
    if untracked_in is None:
        out = _output(repo, *args, "--untracked-files=all", config=config)
    else:
        out = _output(repo, *args, "--untracked-files=no", config=config)
        if untracked_in:
            spec = [f":(literal){path}" for path in untracked_in]
            more = _output(repo, *args, "--untracked-files=all", "--", *spec, config=config)
            out += b"".join(field + b"\0" for field in _untracked(more))
    modified: set[str] = set()
    untracked: set[str] = set()
    renamed: dict[str, str] = {}
    fields = _split_nul(out)
    for entry in fields:
        xy, path = entry[:2], _path(entry[3:])
        if xy == b"??":
            untracked.add(path)
            continue
        modified.add(path)
        if b"R" in xy or b"C" in xy:
            old = _path(next(fields, b""))
            if b"R" in xy:
                renamed[old] = path
    return WorkingTree(frozenset(modified), frozenset(untracked), renamed)


def _untracked(out: bytes) -> Iterator[bytes]:
    """The untracked entries (`?? path`) of `git status --porcelain -z` output."""
    fields = _split_nul(out)
    for entry in fields:
        if entry[:2] == b"??":
            yield entry
        elif b"R" in entry[:2] or b"C" in entry[:2]:
            next(fields, None)  # the rename's source: a field of its own


def _name_status(fields: Iterator[bytes], first: bytes) -> Change:
    """One `--name-status -z` entry whose status field is `first`; reads its path fields."""
    status = first[:1].decode("ascii", "replace")
    if status in ("R", "C"):
        old = _path(next(fields, b""))
        return Change(status, _path(next(fields, b"")), old)
    return Change(status, _path(next(fields, b"")))


def changed_paths(repo: Path, base_ref: str, base_sha: str | None = None) -> ChangedPaths:
    """Paths changed since the merge base of `base_ref` and HEAD, including staged, unstaged
    and untracked files: what `kb lint --changed` checks.

    Committed changes come from a tree-to-tree `diff-tree` and the rest from `git status`,
    because a working-tree `git diff` refreshes (writes) the index and kb leaves `.git` alone.
    Whether a mentioned path is changed or deleted is decided by whether it exists now;
    `deleted` holds only paths that existed at the merge base.
    """
    base = base_sha or merge_base(repo, base_ref)
    out = _output(repo, "diff-tree", "-r", "-z", "--name-status", "-M", *DIFF_FLAGS, base, "HEAD")
    fields = _split_nul(out)
    committed = [_name_status(fields, first) for first in fields]
    tree = working_tree(repo)
    mentioned = {c.path for c in committed} | {c.old for c in committed if c.old}
    mentioned |= tree.modified | tree.untracked | set(tree.renamed)
    renamed = _compose({c.old: c.path for c in committed if c.old}, tree.renamed)
    renamed = {old: new for old, new in renamed.items() if _exists(repo, new)}
    changed = {path for path in mentioned if _exists(repo, path)}
    born = {c.path for c in committed if c.status in ("A", "R", "C")}  # absent at the base
    deleted = mentioned - changed - set(renamed) - born
    return ChangedPaths(frozenset(changed), frozenset(deleted), renamed)


def _compose(committed: Mapping[str, str], staged: Mapping[str, str]) -> dict[str, str]:
    """Renames since the base: a committed b->c followed by a staged c->d is b->d."""
    out = dict(committed)
    origin = {new: old for old, new in committed.items()}
    for old, new in staged.items():
        out[origin.get(old, old)] = new
    return {old: new for old, new in out.items() if old != new}


def _exists(repo: Path, path: str) -> bool:
    return os.path.lexists(repo / path)


#: Newest first with children before parents (so a rename is seen before the older history
#: of its source), merges left out (they show no diff), authors through .mailmap.
LOG_ARGS: tuple[str, ...] = (
    "log", "--topo-order", "--no-merges", "--root", "--use-mailmap", "--encoding=UTF-8",
    "--no-show-signature", "--name-status", "-M", "-z", "--format=%x01%aN%x00%at",
    *DIFF_FLAGS, "HEAD", "--",
)  # fmt: skip


def _revision(args: tuple[str, ...], since: str | None, head: str) -> tuple[str, ...]:
    """`args` with its revision "HEAD" replaced by `head` (a commit id), or `since..head`: only
    the commits `since` does not reach."""
    for sha in (since, None if head == "HEAD" else head):
        if sha is not None and not _SHA.fullmatch(sha.encode()):
            raise GitError(f"not a commit id: {sha!r}")
    end = args.index("--")  # the revision is the last argument before the paths
    if args[end - 1] != "HEAD":
        raise ValueError("no HEAD revision to replace")
    return (*args[: end - 1], f"{since}..{head}" if since else head, *args[end:])


def log_changes(repo: Path, since: str | None = None, head: str = "HEAD") -> Iterator[Commit]:
    """Every non-merge commit reachable from HEAD (or the commit id `head`), newest first
    (children before parents), with the paths it changed and renames detected. One streamed
    `git log`, parsed as it arrives, so memory stays bounded by one commit whatever the
    history's size. `since` (a commit id): only the commits it does not reach."""
    fields = _stream(repo, _revision(LOG_ARGS, since, head))
    header: tuple[str, int] | None = None
    changes: list[Change] = []
    for item in fields:
        if item.startswith(b"\x01"):
            if header is not None:
                yield Commit(header[0], header[1], tuple(changes))
            header, changes = _header(item, next(fields, b"0")), []
        elif first := item.removeprefix(b"\n"):  # git puts a newline after the header
            changes.append(_name_status(fields, first))
    if header is not None:
        yield Commit(header[0], header[1], tuple(changes))


def _header(marked_name: bytes, timestamp: bytes) -> tuple[str, int]:
    return marked_name[1:].decode("utf-8", "replace"), int(timestamp or b"0")


def _stream(cwd: Path, args: Sequence[str], chunk: int = 1 << 16) -> Iterator[bytes]:
    """Run git and yield its NUL-separated output fields as they arrive. stderr is drained on
    a thread so a chatty git can never block; a non-zero exit raises GitError at the end."""
    gitpython = _gitpython()
    try:
        auto = gitpython.Git(str(cwd)).execute(_command(args), as_process=True, env=_ENV)
    except gitpython.exc.GitCommandNotFound as exc:
        raise GitError(f"cannot run git: {exc}") from exc
    proc = auto.proc
    errors = _Drain(proc.stderr)
    try:
        yield from _fields(proc.stdout, chunk)
    except BaseException:  # the consumer stopped early or failed: do not leave git running
        proc.kill()
        raise
    finally:
        proc.stdout.close()
        status = proc.wait()
    if status != 0:
        raise GitError(f"git {args[0]} failed: {_first_line(errors.text())}")


def _fields(stream: IO[bytes], chunk: int) -> Iterator[bytes]:
    rest = b""
    while data := stream.read(chunk):
        parts = (rest + data).split(b"\0")
        rest = parts.pop()
        yield from parts
    if rest:
        yield rest


class _Drain:
    """Reads a pipe to the end on a background thread."""

    def __init__(self, stream: IO[bytes]) -> None:
        self._data = b""
        self._thread = threading.Thread(target=self._read, args=(stream,), daemon=True)
        self._thread.start()

    def _read(self, stream: IO[bytes]) -> None:
        self._data = stream.read()

    def text(self) -> str:
        self._thread.join()
        return self._data.decode("utf-8", "replace")


def export_tree(repo: Path, sha: str, path: str, dest: Path) -> None:
    """Write the files under `path` (repository-relative) as they were at commit `sha` into
    `dest`, keeping their repository-relative paths: how `kb lint --changed` lints the merge
    base. Read from `git archive`, never checked out, so the working tree is untouched; the
    archive is unpacked with tarfile's `data` filter (no links out, no devices)."""
    import io
    import tarfile

    if not _SHA.fullmatch(sha.encode()):
        raise GitError(f"not a commit id: {sha!r}")
    path = "" if path.strip("/") in ("", ".") else path.strip("/")  # "." (content_dir): the whole tree
    if _try(repo, "cat-file", "-e", f"{sha}:{path}") is None:
        return  # the folder did not exist at that commit
    data = _output(repo, "archive", "--format=tar", sha, *(("--", path) if path else ()))
    with tarfile.open(fileobj=io.BytesIO(data)) as archive:
        archive.extractall(dest, filter="data")


_STAGE_LINE = re.compile(rb"^\+stage:[ \t]*['\"]?([a-z]+)")


def fast_forward(repo: Path, old: str, head: str) -> bool:
    """True when commit `head` is `old` or is reached from it by commits of one parent each, one
    after the other (no merge): then `git log head` is `git log old..head` followed by `git log
    old`, in the same order, and history read up to `old` can be extended, not read again."""
    if not (_SHA.fullmatch(old.encode()) and _SHA.fullmatch(head.encode())):
        return False
    out = _try(repo, "rev-list", "--parents", f"{old}..{head}", "--")
    if out is None:
        return False  # `old` is gone (garbage collected, another clone): read it all
    lines = [line.split() for line in out.decode("ascii", "replace").splitlines()]
    if not lines:
        return head == old
    commits = {line[0] for line in lines}
    return all(len(line) == 2 and line[1] in commits | {old} for line in lines)


def git_config(repo: Path, pattern: str) -> bytes:
    """`git config --get-regexp PATTERN` (names and values, NUL-separated); b"" when none is set."""
    return _try(repo, "config", "--null", "--get-regexp", pattern) or b""


def stage_history(
    repo: Path, path: str, since: str | None = None, head: str = "HEAD"
) -> dict[str, list[tuple[int, str]]]:
    """When each loop's `stage:` line took each value: path → [(unix time, stage)], oldest
    first. One `git log -G` over the loops folder with zero-context patches, so only the
    changed `stage:` lines come back; loop feeds date "reached implement/repeat" from it.
    `head` (a commit id): as of it; `since` (a commit id): only the commits it does not reach."""
    args = (
        "log",
        "--no-renames",
        "--no-merges",
        "-G^stage:",
        "-p",
        "-U0",
        "--format=%x01%at",
        *DIFF_FLAGS,
        "HEAD",
        "--",
        path,
    )
    out = _output(repo, *_revision(args, since, head))
    found: dict[str, list[tuple[int, str]]] = {}
    when, current = 0, ""
    for line in out.split(b"\n"):
        if line.startswith(b"\x01"):
            when = int(line[1:] or b"0")
        elif line.startswith(b"+++ "):
            name = line[4:].strip().strip(b'"')
            current = _path(name[2:]) if name.startswith(b"b/") else ""
        elif current and (match := _STAGE_LINE.match(line)):
            found.setdefault(current, []).append((when, match.group(1).decode()))
    for changes in found.values():
        changes.reverse()  # git log is newest first
    return found


def blob_id(repo: Path, rev: str) -> bytes:
    """The object id `rev` names (as `git rev-parse` prints it), b"" when it names none."""
    _check_ref(rev)
    return (_try(repo, "rev-parse", "--verify", "--quiet", "--end-of-options", rev) or b"").strip()
