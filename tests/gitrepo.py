"""The one git repository builder of the tests, and the one git isolation (no mocks).

`GitRepo(path)` is a real repository built step by step with fixed identities and dates:
`write` one file or a mapping of them, `commit` (at a date, by an author, optionally writing
files first), `mv`, `shallow_clone`. Every git call, the tests' and kb's own, runs under
`ISOLATED`: no user or system git config leaks in (a signing hook, an alias, `safe.directory`
or a default branch name on the developer's machine would change what the tests see);
tests/conftest.py applies it once for the whole session (`isolated_git`).
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Mapping
from pathlib import Path

ALICE = "Alice Doe <alice@example.com>"
WHEN = "2024-01-01T12:00:00Z"

#: What every git process of the test session sees: no global or system configuration.
ISOLATED = {"GIT_CONFIG_GLOBAL": os.devnull, "GIT_CONFIG_NOSYSTEM": "1"}

#: The identity and date of commits made outside `GitRepo` (a test's own `git commit` in a
#: clone): isolation plus a fixed author, committer and date.
GIT_ENV = {
    "GIT_AUTHOR_NAME": "Alice Example",
    "GIT_AUTHOR_EMAIL": "alice@example.com",
    "GIT_COMMITTER_NAME": "Alice Example",
    "GIT_COMMITTER_EMAIL": "alice@example.com",
    "GIT_AUTHOR_DATE": "2026-01-01T12:00:00Z",
    "GIT_COMMITTER_DATE": "2026-01-01T12:00:00Z",
    **ISOLATED,
}


class GitRepo:
    """`git(...)` runs with the given author as author and committer, at the given date.

    `root` and `path` are the same folder (the two names the tests grew up with)."""

    author, when = ALICE, WHEN

    def __init__(self, path: Path, author: str = ALICE, when: str = WHEN) -> None:
        path.mkdir(parents=True, exist_ok=True)
        self.path = path
        self.author, self.when = author, when
        self.git("init", "-q", "-b", "main")

    @classmethod
    def existing(cls, path: Path, author: str | None = None, when: str | None = None) -> GitRepo:
        """A builder for a repository that already exists at `path` (a clone), without `git init`."""
        repo = cls.__new__(cls)
        repo.path = path
        repo.author, repo.when = author or cls.author, when or cls.when
        return repo

    def clone(self, dest: Path) -> GitRepo:
        """A full clone at `dest` (its `origin` is this repository), with the same identity."""
        subprocess.run(["git", "clone", "-q", self.path.as_uri(), str(dest)],
                       check=True, capture_output=True, env={**os.environ, **ISOLATED})  # fmt: skip
        return type(self).existing(dest, self.author, self.when)

    @property
    def root(self) -> Path:
        return self.path

    @root.setter
    def root(self, path: Path) -> None:
        self.path = path

    def git(
        self, *args: str, author: str | None = None, when: str | None = None, stdin: str | None = None
    ) -> str:
        name, email = (author or self.author).removesuffix(">").split(" <")
        stamp = when or self.when
        env = {
            **os.environ,
            **ISOLATED,
            "GIT_AUTHOR_NAME": name,
            "GIT_AUTHOR_EMAIL": email,
            "GIT_AUTHOR_DATE": stamp,
            "GIT_COMMITTER_NAME": name,
            "GIT_COMMITTER_EMAIL": email,
            "GIT_COMMITTER_DATE": stamp,
        }
        done = subprocess.run(
            ["git", *args], cwd=self.path, env=env, check=True, input=stdin, capture_output=True, text=True
        )
        return done.stdout.strip()

    def write(self, files: str | Mapping[str, str | bytes], text: str | bytes = "text\n") -> None:
        """Write one file (`write("a.md", "text")`) or several (`write({"a.md": "…"})`);
        `str` as UTF-8 without newline translation, `bytes` as they are."""
        items = files.items() if isinstance(files, Mapping) else [(files, text)]
        for rel, data in items:
            target = self.path / rel
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(data.encode("utf-8") if isinstance(data, str) else data)

    def mv(self, old: str, new: str) -> None:
        (self.path / new).parent.mkdir(parents=True, exist_ok=True)
        self.git("mv", old, new)

    def commit(
        self,
        when: str | None = None,
        author: str | None = None,
        message: str = "change",
        files: Mapping[str, str | bytes] | None = None,
    ) -> str:
        """Stage everything (after writing `files`) and commit it; returns the commit's hash."""
        if files:
            self.write(files)
        self.git("add", "-A")
        self.git("commit", "-q", "--allow-empty", "-m", message, author=author, when=when)
        return self.git("rev-parse", "HEAD")

    def shallow_clone(self, dest: Path) -> Path:
        """A `--depth 1` clone of this repository at `dest`, as CI's default checkout makes."""
        subprocess.run(["git", "clone", "-q", "--depth", "1", self.path.as_uri(), str(dest)],
                       check=True, capture_output=True, env={**os.environ, **ISOLATED})  # fmt: skip
        return dest
