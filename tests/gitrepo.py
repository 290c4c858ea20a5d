"""A real git repository built step by step, with fixed identities and dates (no mocks)."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Mapping
from pathlib import Path

ALICE = "Alice Doe <alice@example.com>"
WHEN = "2024-01-01T12:00:00Z"


class GitRepo:
    """`git(...)` runs with the given author as author and committer, at the given date."""

    def __init__(self, path: Path, author: str = ALICE, when: str = WHEN) -> None:
        path.mkdir(parents=True, exist_ok=True)
        self.path = path
        self.author, self.when = author, when
        self.git("init", "-q", "-b", "main")

    def git(
        self, *args: str, author: str | None = None, when: str | None = None, stdin: str | None = None
    ) -> str:
        name, email = (author or self.author).removesuffix(">").split(" <")
        stamp = when or self.when
        env = {
            **os.environ,
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

    def write(self, rel: str, text: str | bytes = "text\n") -> None:
        target = self.path / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(text, bytes):
            target.write_bytes(text)
        else:
            target.write_text(text, encoding="utf-8")

    def mv(self, old: str, new: str) -> None:
        (self.path / new).parent.mkdir(parents=True, exist_ok=True)
        self.git("mv", old, new)

    def commit(
        self,
        when: str | None = None,
        author: str | None = None,
        message: str = "change",
        files: Mapping[str, str | bytes] | None = None,
    ) -> None:
        for rel, text in (files or {}).items():
            self.write(rel, text)
        self.git("add", "-A")
        self.git("commit", "-q", "-m", message, author=author, when=when)

    def shallow_clone(self, dest: Path) -> Path:
        """A `--depth 1` clone of this repository at `dest`, as CI's default checkout makes."""
        subprocess.run(["git", "clone", "-q", "--depth", "1", self.path.as_uri(), str(dest)],
                       check=True, capture_output=True)  # fmt: skip
        return dest
