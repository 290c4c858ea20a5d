"""Shared helpers: a handbook tree built from a dict, a minimal valid base, a real git repo,
and the one git isolation of the session (`isolated_git`, applied to every test).

`make_kb(tmp_path, files)` writes files (paths relative to the root, `str` written as UTF-8
exactly as given, `bytes` as they are) and returns the root. `BASE` is the smallest handbook
that lints clean: one principle, one product and one loop practicing it, linking each other.
Cases extend it; the lint tests freeze "today" so KB602 never depends on the calendar.
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path

import pytest
from hypothesis import settings

from gitrepo import GIT_ENV, ISOLATED, GitRepo

__all__ = ["GIT_ENV", "GitRepo"]

# The property tests explore new examples on every local run (they have found real bugs);
# under CI they replay a fixed set, so a pull request is judged on its own change.
settings.register_profile("ci", derandomize=True, print_blob=True)
settings.load_profile("ci" if os.environ.get("CI") else "default")

PRINCIPLE = "content/principles/ownership.md"
PRODUCT = "content/products/kb.md"
LOOP = "content/loops/2026/2026-11-23-slow-ci.md"
INDEX = "content/index.md"

#: The date the lint tests pretend it is (KB602 counts days up to it).
TODAY = dt.date(2026, 12, 1)
#: TODAY as SOURCE_DATE_EPOCH (its first second, UTC).
TODAY_EPOCH = str(int(dt.datetime(TODAY.year, TODAY.month, TODAY.day, tzinfo=dt.UTC).timestamp()))

BASE: dict[str, str] = {
    INDEX: """\
---
title: Home
---

# Home

Start with [[ownership]], then the [[products/kb|kb]] product card.
""",
    PRINCIPLE: """\
---
title: Ownership
summary: Treat the problems you touch as yours to see through.
aliases: [take ownership]
---

## Why it matters

Owners see problems through. The [[kb]] tool is owned by one team.
""",
    PRODUCT: """\
---
title: kb
summary: The tool that lints and builds this handbook.
problem: Handbooks rot silently.
users: [Handbook editors]
owner: Jun Park
status: live
principles: [ownership]
---

## What it does

It checks every file. See [[principles/ownership#why-it-matters|why]].
""",
    LOOP: """\
---
title: Slow CI
date: 2026-11-23
stage: repeat
principles: [ownership]
product: kb
---

## 1. Observe

CI took twenty minutes.

## 2. Reflect

Nobody [[take ownership|owned]] the pipeline.

## 3. Design

Cache the dependencies.

## 4. Implement

Done in [kb](../../products/kb.md#what-it-does).

## 5. Repeat

Measure again next month.
""",
}


def make_kb(tmp_path: Path, files: Mapping[str, str | bytes]) -> Path:
    """Write a handbook tree under `tmp_path` and return its root.

    Args:
        tmp_path: the folder to write into (it becomes the root).
        files: repository-relative paths mapped to their contents; `str` is written as UTF-8
            without newline translation, `bytes` verbatim.
    """
    root = Path(tmp_path)
    (root / "content").mkdir(parents=True, exist_ok=True)
    for rel, data in files.items():
        target = root / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(data, str):
            data = data.encode("utf-8")
        target.write_bytes(data)
    return root


def make_base(tmp_path: Path, extra: Mapping[str, str | bytes] | None = None) -> Path:
    """The base handbook plus (or overridden by) `extra`."""
    return make_kb(tmp_path, {**BASE, **(extra or {})})


@pytest.fixture
def kb_factory(tmp_path: Path) -> Callable[..., Path]:
    """`kb_factory(files)` → root of a handbook written into a fresh folder."""
    counter = iter(range(1_000_000))

    def build(files: Mapping[str, str | bytes], base: bool = True) -> Path:
        root = tmp_path / f"kb{next(counter)}"
        return make_base(root, files) if base else make_kb(root, files)

    return build


@pytest.fixture
def frozen_today(monkeypatch: pytest.MonkeyPatch) -> dt.date:
    """Make kb believe it is TODAY through SOURCE_DATE_EPOCH, which the one clock (kb.clock)
    reads: in-process runs and the `kb` processes a test starts agree."""
    monkeypatch.setenv("SOURCE_DATE_EPOCH", TODAY_EPOCH)
    return TODAY


@pytest.fixture(scope="session", autouse=True)
def isolated_git() -> Iterator[None]:
    """The one git isolation: for the whole session no user or system git config reaches git,
    neither the tests' calls nor kb's own (module-scoped fixtures included), and commits made
    outside `GitRepo` get a fixed identity."""
    with pytest.MonkeyPatch.context() as patch:
        for key in ("GIT_AUTHOR_NAME", "GIT_AUTHOR_EMAIL", "GIT_COMMITTER_NAME", "GIT_COMMITTER_EMAIL"):
            patch.setenv(key, GIT_ENV[key])
        for key, value in ISOLATED.items():
            patch.setenv(key, value)
        yield


@pytest.fixture
def git_repo(tmp_path: Path) -> GitRepo:
    """The base handbook committed once in a fresh repository."""
    repo = GitRepo(tmp_path / "repo")
    repo.write(BASE)
    repo.commit(message="base handbook")
    return repo
