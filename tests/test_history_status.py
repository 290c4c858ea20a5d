"""The working tree's state as history reads it: untracked files are listed only where the
documents are (`git.working_tree(repo, untracked_in)`), which is what made `git status` slow
beside a large unignored folder; what history says of every document is unchanged."""

from __future__ import annotations

from pathlib import Path

from gitrepo import ALICE, GitRepo
from kb import git
from kb.history import read_history

A = "content/loops/2024/2024-01-01-a.md"
NEW = "content/loops/2024/2024-01-02-new.md"
MOVED = "content/pages/moved.md"


def test_untracked_files_are_listed_only_where_asked(tmp_path: Path) -> None:
    repo = GitRepo(tmp_path / "repo")
    repo.commit("2024-01-01T10:00:00Z", ALICE, files={A: "a\n", "notes/old.md": "old\n", "README.md": "r\n"})
    repo.write({NEW: "new\n", "site/index.html": "x", "site/deep/page.html": "y", "top.md": "t\n"})
    repo.write(A, "edited\n")
    repo.mv("notes/old.md", MOVED)  # a staged rename from outside the content folder
    whole = git.working_tree(repo.path)
    some = git.working_tree(repo.path, ["content"])
    assert whole.untracked == {NEW, "site/index.html", "site/deep/page.html", "top.md"}
    assert some.untracked == {NEW}
    assert some.modified == whole.modified and some.renamed == whole.renamed == {"notes/old.md": MOVED}
    assert git.working_tree(repo.path, []).untracked == frozenset()
    assert git.working_tree(repo.path, ["content", "top.md"]).untracked == {NEW, "top.md"}


def test_history_of_documents_is_the_same(tmp_path: Path) -> None:
    repo = GitRepo(tmp_path / "repo")
    repo.commit("2024-01-01T10:00:00Z", ALICE, files={A: "a\n", "notes/old.md": "old\n"})
    repo.write({NEW: "new\n", "site/index.html": "x"})
    repo.mv("notes/old.md", MOVED)
    found = read_history(repo.path, [A, NEW, MOVED])
    assert found.files[NEW].uncommitted and found.files[NEW].commits == 0
    assert found.files[MOVED].commits == 1 and found.files[MOVED].uncommitted  # followed to its old name
    assert not found.files[A].uncommitted
    handbook = repo.path / "content"  # a handbook rooted below the repository's top
    (handbook / "pyproject.toml").write_text("[tool.kb]\n")
    below = read_history(handbook, ["loops/2024/2024-01-02-new.md", "loops/2024/2024-01-01-a.md"])
    assert below.files["loops/2024/2024-01-02-new.md"].uncommitted
    assert not below.files["loops/2024/2024-01-01-a.md"].uncommitted
