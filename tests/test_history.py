"""The history stage against real git repositories built commit by commit (no mocks)."""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import replace
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gitrepo import ALICE, GitRepo
from kb.history import NEW_FILE, FileHistory, read_history

BOB = "Bob Roe <bob@example.com>"
CAROL = "Carol Poe <carol@example.com>"
BUILDER = Path(__file__).resolve().parents[1] / "builder"


@pytest.fixture
def repo(tmp_path: Path) -> GitRepo:
    return GitRepo(tmp_path / "repo")


DOC = "content/loops/2024/2024-01-01-first.md"


def test_dates_authors_and_commit_count(repo: GitRepo) -> None:
    repo.write(DOC, "one\n")
    repo.commit("2024-01-01T10:00:00Z", ALICE)
    repo.write(DOC, "two\n")
    repo.commit("2024-02-01T10:00:00Z", BOB)
    repo.write(DOC, "three\n")
    repo.commit("2024-03-01T10:00:00Z", ALICE)
    history = read_history(repo.path, [DOC])
    assert history.available and not history.shallow and history.findings == ()
    assert history.files[DOC] == FileHistory(
        created=date(2024, 1, 1),
        updated=date(2024, 3, 1),
        authors=("Alice Doe", "Bob Roe"),
        last_author="Alice Doe",
        commits=3,
        uncommitted=False,
        previous_paths=(),
    )


def test_dates_are_utc_days(repo: GitRepo) -> None:
    repo.write(DOC)
    repo.commit("2024-01-01T23:30:00-05:00")  # 04:30 on 2 January in UTC
    assert read_history(repo.path, [DOC]).files[DOC].created == date(2024, 1, 2)


def test_only_touching_commits_count(repo: GitRepo) -> None:
    repo.write(DOC)
    repo.write("content/other.md")
    repo.commit("2024-01-01T10:00:00Z", ALICE)
    repo.write("content/other.md", "changed\n")
    repo.commit("2024-05-01T10:00:00Z", BOB)
    result = read_history(repo.path, [DOC, "content/other.md"]).files
    assert result[DOC].commits == 1 and result[DOC].authors == ("Alice Doe",)
    assert result["content/other.md"].updated == date(2024, 5, 1)
    assert result["content/other.md"].last_author == "Bob Roe"


def test_mailmap_merges_two_identities(repo: GitRepo) -> None:
    repo.write(".mailmap", "Bob Roe <bob@example.com> <bobby@old.example>\n")
    repo.write(DOC, "one\n")
    repo.commit("2024-01-01T10:00:00Z", "bobby <bobby@old.example>")
    repo.write(DOC, "two\n")
    repo.commit("2024-02-01T10:00:00Z", BOB)
    result = read_history(repo.path, [DOC]).files[DOC]
    assert result.authors == ("Bob Roe",)
    assert result.commits == 2


def test_authors_ordered_by_first_contribution(repo: GitRepo) -> None:
    for when, who in [("2024-01-01", CAROL), ("2024-02-01", ALICE), ("2024-03-01", CAROL),
                      ("2024-04-01", BOB)]:  # fmt: skip
        repo.write(DOC, when)
        repo.commit(f"{when}T10:00:00Z", who)
    result = read_history(repo.path, [DOC]).files[DOC]
    assert result.authors == ("Carol Poe", "Alice Doe", "Bob Roe")
    assert result.last_author == "Bob Roe"


def test_rename_keeps_created_date_and_authors(repo: GitRepo) -> None:
    old, middle, new = "content/old-name.md", "content/handbook/mid.md", "content/handbook/new.md"
    repo.write(old, "a long enough body for rename detection\n" * 5)
    repo.commit("2024-01-01T10:00:00Z", ALICE)
    repo.write(old, "a long enough body for rename detection\n" * 5 + "more\n")
    repo.commit("2024-02-01T10:00:00Z", BOB)
    repo.mv(old, middle)
    repo.commit("2024-03-01T10:00:00Z", CAROL)
    repo.mv(middle, new)
    repo.commit("2024-04-01T10:00:00Z", ALICE)
    result = read_history(repo.path, [new]).files[new]
    assert result.created == date(2024, 1, 1)
    assert result.updated == date(2024, 4, 1)
    assert result.authors == ("Alice Doe", "Bob Roe", "Carol Poe")
    assert result.commits == 4
    assert result.previous_paths == (old, middle)


def test_new_name_at_an_old_path_is_a_new_file(repo: GitRepo) -> None:
    body = "body that moves\n" * 10
    repo.write("content/a.md", body)
    repo.commit("2024-01-01T10:00:00Z", ALICE)
    repo.mv("content/a.md", "content/b.md")
    repo.commit("2024-02-01T10:00:00Z", BOB)
    repo.write("content/a.md", "an unrelated new page\n")
    repo.commit("2024-03-01T10:00:00Z", CAROL)
    files = read_history(repo.path, ["content/a.md", "content/b.md"]).files
    assert files["content/a.md"].created == date(2024, 3, 1)
    assert files["content/a.md"].authors == ("Carol Poe",)
    assert files["content/b.md"].created == date(2024, 1, 1)
    assert files["content/b.md"].previous_paths == ("content/a.md",)


def test_deleted_then_added_again_starts_afresh(repo: GitRepo) -> None:
    repo.write(DOC, "first life\n")
    repo.commit("2024-01-01T10:00:00Z", ALICE)
    repo.git("rm", "-q", DOC)
    repo.commit("2024-02-01T10:00:00Z", BOB)
    repo.write(DOC, "second life, different text\n")
    repo.commit("2024-03-01T10:00:00Z", CAROL)
    result = read_history(repo.path, [DOC]).files[DOC]
    assert (result.created, result.commits, result.authors) == (date(2024, 3, 1), 1, ("Carol Poe",))


def test_untracked_and_staged_new_files(repo: GitRepo) -> None:
    repo.write("content/index.md")
    repo.commit("2024-01-01T10:00:00Z")
    repo.write("content/untracked.md")
    repo.write("content/staged.md")
    repo.git("add", "content/staged.md")
    files = read_history(repo.path, ["content/untracked.md", "content/staged.md"]).files
    assert files == {"content/staged.md": NEW_FILE, "content/untracked.md": NEW_FILE}


def test_modified_file_keeps_history_and_is_uncommitted(repo: GitRepo) -> None:
    repo.write(DOC, "one\n")
    repo.write("content/staged.md", "one\n")
    repo.write("content/clean.md", "one\n")
    repo.commit("2024-01-01T10:00:00Z", BOB)
    repo.write(DOC, "edited, not staged\n")
    repo.write("content/staged.md", "edited and staged\n")
    repo.git("add", "content/staged.md")
    files = read_history(repo.path, [DOC, "content/staged.md", "content/clean.md"]).files
    assert files[DOC].uncommitted and files[DOC].commits == 1
    assert files[DOC].authors == ("Bob Roe",)
    assert files["content/staged.md"].uncommitted
    assert not files["content/clean.md"].uncommitted


def test_staged_rename_follows_the_old_name(repo: GitRepo) -> None:
    repo.write("content/old.md", "body of the page\n" * 5)
    repo.commit("2024-01-01T10:00:00Z", ALICE)
    repo.mv("content/old.md", "content/new.md")
    result = read_history(repo.path, ["content/new.md"]).files["content/new.md"]
    assert result.created == date(2024, 1, 1) and result.commits == 1
    assert result.uncommitted and result.previous_paths == ("content/old.md",)


def test_root_in_a_subfolder_of_the_repository(repo: GitRepo) -> None:
    repo.write("docs/notes.md", "page moved into the handbook\n" * 5)
    repo.commit("2024-01-01T10:00:00Z", ALICE)
    repo.mv("docs/notes.md", "handbook/content/notes.md")
    repo.commit("2024-02-01T10:00:00Z", BOB)
    repo.write("handbook/content/fresh.md")
    result = read_history(repo.path / "handbook", ["content/notes.md", "content/fresh.md"])
    notes = result.files["content/notes.md"]
    assert (notes.created, notes.commits) == (date(2024, 1, 1), 2)
    assert notes.previous_paths == ()  # docs/notes.md is outside the handbook root
    assert result.files["content/fresh.md"] == NEW_FILE


def test_merged_branches(repo: GitRepo) -> None:
    repo.write(DOC, "base\n")
    repo.commit("2024-01-01T10:00:00Z", ALICE)
    repo.git("checkout", "-q", "-b", "topic")
    repo.write("content/topic.md", "topic\n")
    repo.commit("2024-02-01T10:00:00Z", BOB)
    repo.git("checkout", "-q", "main")
    repo.write(DOC, "edited on main\n")
    repo.commit("2024-03-01T10:00:00Z", CAROL)
    repo.git("merge", "-q", "--no-edit", "topic", when="2024-04-01T10:00:00Z")
    files = read_history(repo.path, [DOC, "content/topic.md"]).files
    assert files["content/topic.md"].authors == ("Bob Roe",)
    assert files["content/topic.md"].commits == 1
    assert files[DOC].commits == 2 and files[DOC].updated == date(2024, 3, 1)


def test_non_ascii_file_names(repo: GitRepo) -> None:
    names = ["content/loops/2024/café-ü.md", "content/handbook/日本語 page.md"]
    for name in names:
        repo.write(name)
    repo.commit("2024-01-01T10:00:00Z", "Zoë Ångström <zoe@example.com>")
    files = read_history(repo.path, names).files
    assert sorted(files) == sorted(names)
    assert all(f.commits == 1 and f.authors == ("Zoë Ångström",) for f in files.values())


def test_repository_without_commits(repo: GitRepo) -> None:
    repo.write(DOC)
    result = read_history(repo.path, [DOC])
    assert result.available and result.files == {DOC: NEW_FILE}


def test_shallow_clone_warns_once(repo: GitRepo, tmp_path: Path) -> None:
    repo.write(DOC, "one\n")
    repo.commit("2024-01-01T10:00:00Z", ALICE)
    repo.write(DOC, "two\n")
    repo.commit("2024-02-01T10:00:00Z", BOB)
    clone = repo.shallow_clone(tmp_path / "clone")
    result = read_history(clone, [DOC])
    assert result.available and result.shallow
    assert [(f.code, f.path, f.line, f.col) for f in result.findings] == [("KB702", ".", 1, 1)]
    assert "fetch-depth: 0" in result.findings[0].hint
    assert result.files[DOC].commits == 1 and result.files[DOC].authors == ("Bob Roe",)


def test_folder_that_is_not_a_repository(tmp_path: Path) -> None:
    (tmp_path / "content").mkdir()
    result = read_history(tmp_path, ["content/index.md"])
    assert not result.available and result.files == {}
    assert [f.code for f in result.findings] == ["KB701"]
    assert "not inside a git repository" in result.findings[0].message


def test_git_missing_from_path(repo: GitRepo, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    repo.write(DOC)
    repo.commit("2024-01-01T10:00:00Z")
    empty = tmp_path / "empty-bin"
    empty.mkdir()
    monkeypatch.setenv("PATH", str(empty))
    result = read_history(repo.path, [DOC])
    assert not result.available and result.files == {}
    assert [f.code for f in result.findings] == ["KB701"]
    assert "git is not installed" in result.findings[0].message


def test_git_missing_in_a_fresh_interpreter(repo: GitRepo, tmp_path: Path) -> None:
    """GitPython raises at import time without git unless told to be quiet; kb must not crash."""
    repo.write(DOC)
    repo.commit("2024-01-01T10:00:00Z")
    empty = tmp_path / "empty-bin"
    empty.mkdir()
    script = (
        "import sys; from pathlib import Path; from kb import git; from kb.history import read_history\n"
        "git._gitpython()\n"
        f"h = read_history(Path({str(repo.path)!r}), [{DOC!r}])\n"
        "print(h.available, [f.code for f in h.findings])\n"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("GIT_PYTHON")}
    env.update(PATH=str(empty), PYTHONPATH=str(BUILDER))
    done = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "False ['KB701']"


def test_no_paths_no_log(repo: GitRepo) -> None:
    repo.write(DOC)
    repo.commit("2024-01-01T10:00:00Z")
    result = read_history(repo.path, [])
    assert result.available and result.files == {}


OPS = st.lists(st.tuples(st.sampled_from(["add", "edit", "move", "delete"]),
                         st.integers(0, 10), st.sampled_from([ALICE, BOB, CAROL])),
               min_size=1, max_size=8)  # fmt: skip


def _follow(repo: GitRepo, path: str) -> FileHistory:
    """The slow reference: `git log --follow` for one file, as the per-file plugins run it."""
    out = repo.git("log", "--follow", "--use-mailmap", "--format=%at %aN", "--", path)
    lines = [line.split(" ", 1) for line in out.splitlines()]
    day = lambda ts: datetime.fromtimestamp(int(ts), tz=UTC).date()  # noqa: E731
    authors = tuple(dict.fromkeys(name for _, name in reversed(lines)))
    return FileHistory(day(lines[-1][0]), day(lines[0][0]), authors, lines[0][1], len(lines),
                       False, ())  # fmt: skip


@settings(max_examples=12, deadline=None)
@given(ops=OPS)
def test_agrees_with_git_log_follow(tmp_path_factory: pytest.TempPathFactory, ops: list) -> None:
    """Random linear histories: one pass gives what `git log --follow` gives for each file."""
    repo = GitRepo(tmp_path_factory.mktemp("follow") / "repo")
    live: list[str] = []
    for step, (op, pick, author) in enumerate(ops):
        if op == "add" or not live:
            live.append(f"content/f{step}.md")
            repo.write(live[-1], f"file {step} has its own distinctive text\n" * 3)
        elif op == "edit":
            path = live[pick % len(live)]
            repo.write(path, (repo.path / path).read_text() + f"edit {step}\n")
        elif op == "move":
            old, live[pick % len(live)] = live[pick % len(live)], f"content/m{step}.md"
            repo.git("mv", old, live[pick % len(live)])
        else:
            repo.git("rm", "-q", live.pop(pick % len(live)))
        repo.commit(f"2024-01-{step + 1:02d}T10:00:00Z", author)
    files = read_history(repo.path, live).files
    for path in live:
        assert replace(files[path], previous_paths=()) == _follow(repo, path)
