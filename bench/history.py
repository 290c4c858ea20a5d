"""Benchmark: kb's one-pass history stage against one `git log` per file.

Generates a repository with N loop documents and M commits by 5 authors (with renames and a
.mailmap) through `git fast-import`, which writes 2,000 commits in about a second where
`git commit` would take minutes. Then times `read_history` (median of --runs) against
`git log -1 --format=%at -- FILE` per file — what the MkDocs git-revision-date plugins run —
on a sample of files, extrapolated to all of them, and checks both agree on the sample.

    python bench/history.py [--docs 10000] [--commits 2000] [--dir DIR] [--commit-graph]
"""

from __future__ import annotations

import argparse
import random
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "builder"))

from kb.history import read_history  # noqa: E402

AUTHORS = [
    ("Ada Lovelace", "ada@example.com"),
    ("Grace Hopper", "grace@example.com"),
    ("Alan Turing", "alan@example.com"),
    ("Edsger Dijkstra", "edsger@example.com"),
    ("Barbara Liskov", "barbara@example.com"),
]
START = 1_577_836_800  # 2020-01-01T00:00:00Z
STEP = 3 * 3600  # three hours between commits
EDITS_PER_COMMIT = 5
RENAME_EVERY = 20


def _data(text: str) -> bytes:
    raw = text.encode()
    return b"data %d\n%s\n" % (len(raw), raw)


def _doc_path(number: int, when: int, suffix: str = "") -> str:
    day = datetime.fromtimestamp(when, tz=UTC).date()
    return f"content/loops/{day.year}/{day.isoformat()}-doc-{number:05d}{suffix}.md"


def _commit_header(index: int, when: int) -> bytes:
    name, email = AUTHORS[index % len(AUTHORS)]
    if index % 7 == 0:  # an old address that .mailmap maps back to the author
        email = email.replace("@", "+old@")
    ident = f"{name} <{email}> {when} +0000".encode()
    head = b"commit refs/heads/main\nmark :%d\nauthor %s\ncommitter %s\n" % (index + 1, ident, ident)
    parent = b"from :%d\n" % index if index else b""
    return head + _data(f"commit {index}") + parent


def _stream(docs: int, commits: int, seed: int) -> Iterator[bytes]:
    """The fast-import stream: document j is added in commit j*M//N; every commit also edits a
    few live documents, and every RENAME_EVERY-th commit renames one."""
    rng = random.Random(seed)
    live: list[str] = []
    mailmap = "".join(f"{n} <{e}> <{e.replace('@', '+old@')}>\n" for n, e in AUTHORS)
    for index in range(commits):
        when = START + index * STEP
        ops = [b"M 100644 inline .mailmap\n" + _data(mailmap)] if index == 0 else []
        for number in range(index * docs // commits, (index + 1) * docs // commits):
            live.append(_doc_path(number, when))
            ops.append(b"M 100644 inline %s\n" % live[-1].encode() + _data(f"# doc {number}\n"))
        for path in rng.sample(live, min(EDITS_PER_COMMIT, len(live))):
            ops.append(b"M 100644 inline %s\n" % path.encode() + _data(f"# edit {index}\n{path}\n"))
        if index % RENAME_EVERY == RENAME_EVERY - 1 and live:
            ops.append(_rename(live, rng.randrange(len(live)), index))
        yield _commit_header(index, when) + b"".join(ops) + b"\n"


def _rename(live: list[str], slot: int, index: int) -> bytes:
    old = live[slot]
    live[slot] = old.removesuffix(".md") + f"-r{index}.md"
    return b"R %s %s\n" % (old.encode(), live[slot].encode())


def generate(repo: Path, docs: int, commits: int, seed: int = 1) -> list[str]:
    """Create the repository at `repo`, check it out, and return the document paths."""
    repo.mkdir(parents=True, exist_ok=True)
    _git(repo, "init", "-q", "-b", "main")
    proc = subprocess.Popen(["git", "fast-import", "--quiet"], cwd=repo, stdin=subprocess.PIPE)
    assert proc.stdin is not None
    for chunk in _stream(docs, commits, seed):
        proc.stdin.write(chunk)
    proc.stdin.close()
    if proc.wait() != 0:
        raise SystemExit("git fast-import failed")
    _git(repo, "reset", "-q", "--hard", "main")
    listed = _git(repo, "ls-files", "-z", "content").split("\0")
    return sorted(p for p in listed if p)


def _git(repo: Path, *args: str) -> str:
    done = subprocess.run(["git", *args], cwd=repo, check=True, capture_output=True, text=True)
    return done.stdout


def time_read_history(repo: Path, paths: list[str], runs: int) -> tuple[float, dict]:
    times, files = [], {}
    for _ in range(runs):
        began = time.perf_counter()
        files = read_history(repo, paths).files
        times.append(time.perf_counter() - began)
    return statistics.median(times), dict(files)


def time_per_file(repo: Path, sample: list[str]) -> tuple[float, dict[str, int]]:
    """Seconds for one `git log -1` per sampled file, and the timestamps it found."""
    stamps: dict[str, int] = {}
    began = time.perf_counter()
    for path in sample:
        stamps[path] = int(_git(repo, "log", "-1", "--format=%at", "--", path).strip())
    return time.perf_counter() - began, stamps


def _check(files: dict, stamps: dict[str, int]) -> int:
    """Sampled files where the two methods disagree on the day of the last update."""
    day = lambda ts: datetime.fromtimestamp(ts, tz=UTC).date()  # noqa: E731
    return sum(files[p].updated != day(ts) for p, ts in stamps.items())


def run(repo: Path, docs: int, commits: int, sample_size: int, runs: int, graph: bool) -> None:
    began = time.perf_counter()
    paths = generate(repo, docs, commits)
    if graph:  # changed-path Bloom filters: the best case for path-limited `git log`
        _git(repo, "commit-graph", "write", "--reachable", "--changed-paths")
    made = time.perf_counter() - began
    fast, files = time_read_history(repo, paths, runs)
    sample = random.Random(2).sample(paths, min(sample_size, len(paths)))
    slow, stamps = time_per_file(repo, sample)
    per_file = slow * len(paths) / len(sample)
    extra = ", commit-graph with changed-path filters" if graph else ""
    print(f"corpus: {len(paths):,} documents, {commits:,} commits, {len(AUTHORS)} authors{extra} "
          f"(generated with git fast-import in {made:.1f} s)")  # fmt: skip
    print(f"| {'method':<58} | {'time':>9} |")
    print(f"|{'-' * 60}|{'-' * 11}|")
    print(f"| {f'kb read_history, one git log pass (median of {runs})':<58} | {fast:>7.2f} s |")
    label = f"git log -1 per file ({len(sample)} timed, extrapolated)"
    print(f"| {label:<58} | {per_file:>7.2f} s |")
    print(f"| {'speed-up':<58} | {per_file / fast:>7.0f} x |")
    print(f"sample check: {len(sample) - _check(files, stamps)}/{len(sample)} updated dates agree")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--docs", type=int, default=10_000)
    parser.add_argument("--commits", type=int, default=2_000)
    parser.add_argument("--sample", type=int, default=200)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--dir", type=Path, help="where to create the repository (must not exist)")
    parser.add_argument("--commit-graph", action="store_true",
                        help="write a commit-graph with changed-path filters first (git >= 2.27)")  # fmt: skip
    args = parser.parse_args(argv)
    settings = (args.docs, args.commits, args.sample, args.runs, args.commit_graph)
    if args.dir is not None:
        run(args.dir, *settings)
        return
    with tempfile.TemporaryDirectory(prefix="kb-bench-history-") as tmp:
        run(Path(tmp) / "repo", *settings)


if __name__ == "__main__":
    main()
