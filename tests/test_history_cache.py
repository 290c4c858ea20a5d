"""History read through its cache (kb build's `.kb-cache/history`) is the history read from git:
HEAD unchanged (no git log at all), moved forward by plain commits (only those are read), or
moved any other way (merge, reset, rebase: everything is read again)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from gitrepo import ALICE, GitRepo
from kb import git, history
from kb.history import read_history, read_stage_history

BOB = "Bob Roe <bob@example.com>"
A = "content/loops/2024/2024-01-01-a.md"
B = "content/loops/2024/2024-01-02-b.md"
C = "content/loops/2024/2024-01-03-c.md"


def loop(stage: str, text: str = "x") -> str:
    return f"---\ntitle: T\nstage: {stage}\n---\n\n{text}\n"


@pytest.fixture
def repo(tmp_path: Path) -> GitRepo:
    repo = GitRepo(tmp_path / "repo")
    repo.commit("2024-01-01T10:00:00Z", ALICE, files={A: loop("observe"), B: loop("observe")})
    repo.commit("2024-01-05T10:00:00Z", BOB, files={A: loop("orient")})
    return repo


def same(repo: GitRepo, cache: Path, paths: tuple[str, ...] = (A, B, C)) -> None:
    """Cached and uncached reads agree, for history and stages."""
    assert read_history(repo.path, paths, cache) == read_history(repo.path, paths)
    loops = "content/loops"
    assert read_stage_history(repo.path, loops, cache) == read_stage_history(repo.path, loops)


def test_unchanged_head_reads_no_log(repo: GitRepo, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    cache = tmp_path / "cache"
    same(repo, cache)
    repo.write(C, loop("observe"))  # uncommitted: the working tree is read every time
    repo.write(A, loop("decide"))

    def no_log(*args: object, **kwargs: object) -> None:
        raise AssertionError("git log ran")

    expected = read_history(repo.path, (A, B, C))
    stages = read_stage_history(repo.path, "content/loops")
    monkeypatch.setattr(git, "log_changes", no_log)
    monkeypatch.setattr(git, "stage_history", no_log)
    assert read_history(repo.path, (A, B, C), cache) == expected
    assert expected.files[A].uncommitted and expected.files[C].uncommitted
    assert read_stage_history(repo.path, "content/loops", cache) == stages


def test_plain_commits_are_read_alone(repo: GitRepo, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    cache = tmp_path / "cache"
    same(repo, cache)
    old = repo.git("rev-parse", "HEAD")
    repo.commit("2024-02-01T10:00:00Z", BOB, files={C: loop("observe"), A: loop("decide")})
    repo.mv(B, "content/loops/2024/2024-01-02-b2.md")
    repo.commit("2024-02-02T10:00:00Z", ALICE)
    seen: list[str | None] = []
    real = git.log_changes

    def log_changes(repo_path: Path, since: str | None = None, head: str = "HEAD") -> object:
        seen.append(since)
        return real(repo_path, since, head)

    monkeypatch.setattr(git, "log_changes", log_changes)
    same(repo, cache, (A, "content/loops/2024/2024-01-02-b2.md", C))
    assert seen[0] == old  # the cached read: only the two new commits
    got = read_history(repo.path, ("content/loops/2024/2024-01-02-b2.md",), cache)
    assert got.files["content/loops/2024/2024-01-02-b2.md"].previous_paths == (B,)
    assert read_stage_history(repo.path, "content/loops", cache)[A] == [
        (1704103200, "observe"),
        (1704448800, "orient"),
        (1706781600, "decide"),
    ]


def test_a_merge_a_reset_or_a_rebase_reads_everything(repo: GitRepo, tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    same(repo, cache)
    base = repo.git("rev-parse", "HEAD")
    repo.git("checkout", "-q", "-b", "side")
    repo.commit("2024-02-01T10:00:00Z", BOB, files={C: loop("observe")})
    repo.git("checkout", "-q", "main")
    repo.commit("2024-02-03T10:00:00Z", ALICE, files={B: loop("decide")})
    same(repo, cache)
    repo.git("merge", "-q", "--no-ff", "-m", "merge", "side", when="2024-02-04T10:00:00Z")
    assert not git.fast_forward(repo.path, base, repo.git("rev-parse", "HEAD"))
    same(repo, cache)
    repo.git("reset", "-q", "--hard", base)  # backwards
    same(repo, cache)
    repo.commit("2024-03-01T10:00:00Z", BOB, files={A: loop("act")})  # a new line from an old commit
    same(repo, cache)


def test_a_mailmap_change_reads_everything(repo: GitRepo, tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    same(repo, cache)
    repo.write(".mailmap", "Robert Roe <bob@example.com>\n")
    same(repo, cache)
    assert "Robert Roe" in read_history(repo.path, (A,), cache).files[A].authors


@pytest.mark.parametrize("text", ["{", "[]", '{"key": 1}', "corrupt"])
def test_a_broken_cache_is_read_again(repo: GitRepo, tmp_path: Path, text: str) -> None:
    cache = tmp_path / "cache"
    same(repo, cache)
    for name in (history.LOG_FILE, history.STAGES_FILE):
        state = json.loads((cache / name).read_text(encoding="utf-8"))
        if text == "corrupt":  # the right key, a wrong shape
            body = "commits" if name == history.LOG_FILE else "stages"
            state[body] = [[1, 2, 3]] if name == history.LOG_FILE else {"x": [[1]]}
            (cache / name).write_text(json.dumps(state), encoding="utf-8")
        else:
            (cache / name).write_text(text, encoding="utf-8")
    same(repo, cache)


def test_a_shallow_clone_is_never_cached(repo: GitRepo, tmp_path: Path) -> None:
    clone = repo.shallow_clone(tmp_path / "shallow")
    cache = tmp_path / "cache"
    got = read_history(clone, (A,), cache)
    assert got.shallow and not (cache / history.LOG_FILE).exists()
