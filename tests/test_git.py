"""The git wrapper against real repositories: refs, changed paths, and hostile configuration."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gitrepo import GitRepo
from kb import git
from kb.history import read_history

BUILDER = Path(__file__).resolve().parents[1] / "builder"


@pytest.fixture
def repo(tmp_path: Path) -> GitRepo:
    made = GitRepo(tmp_path / "repo", author="Alice <a@example.com>")
    made.write("content/index.md", "home\n")
    made.commit(message="initial")
    return made


def test_module_imports_no_gitpython() -> None:
    """`kb lint` without --changed must not pay for importing GitPython."""
    code = "import sys, kb.git, kb.history; print('git' in sys.modules)"
    env = {**os.environ, "PYTHONPATH": str(BUILDER)}
    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)
    assert done.stdout.strip() == "False", done.stderr


def test_find_repo_from_a_subfolder(repo: GitRepo) -> None:
    assert git.find_repo(repo.path / "content") == repo.path.resolve()


def test_find_repo_outside_a_repository(tmp_path: Path) -> None:
    assert git.find_repo(tmp_path) is None
    assert git.find_repo(tmp_path / "missing") is None


def test_find_repo_without_git(repo: GitRepo, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", str(tmp_path / "nothing-here"))
    assert git.find_repo(repo.path) is None
    with pytest.raises(git.GitError, match="not installed"):
        git.resolve_ref(repo.path, "main")


def test_is_shallow(repo: GitRepo, tmp_path: Path) -> None:
    repo.write("content/second.md")
    repo.commit()
    clone = repo.shallow_clone(tmp_path / "clone")
    assert not git.is_shallow(repo.path)
    assert git.is_shallow(clone)


def test_resolve_ref(repo: GitRepo) -> None:
    head = repo.git("rev-parse", "HEAD")
    repo.git("tag", "v1.0")
    assert git.resolve_ref(repo.path, "main") == head
    assert git.resolve_ref(repo.path, "v1.0") == head
    assert git.resolve_ref(repo.path, head) == head
    assert git.resolve_ref(repo.path, head[:10]) == head
    with pytest.raises(git.GitError, match="unknown git revision 'no-such-branch'"):
        git.resolve_ref(repo.path, "no-such-branch")


def test_resolve_ref_takes_any_revision_git_does(repo: GitRepo) -> None:
    first = repo.git("rev-parse", "HEAD")
    repo.write("content/second.md")
    repo.commit()
    for ref in ("HEAD~1", "HEAD^", "main~1", "main^1", "HEAD@{1}", "@~", f"{first[:7]}^{{commit}}"):
        assert git.resolve_ref(repo.path, ref) == first, ref


@pytest.mark.parametrize(
    "ref", ["-h", "--output=marker", "--end-of-options", "-", "", "a\nb", "a\tb", "m\x7f", "-1"],
)  # fmt: skip
def test_resolve_ref_refuses_what_could_be_an_option(repo: GitRepo, ref: str) -> None:
    with pytest.raises(git.GitError, match="invalid git revision"):
        git.resolve_ref(repo.path, ref)
    assert not (repo.path / "marker").exists()


@pytest.mark.parametrize(
    "ref", ["main:x", "a b", "@{-1}", "x.lock", "ma*n", "main^{tree}", "no-such", "HEAD~5"],
)  # fmt: skip
def test_resolve_ref_unknown_revisions(repo: GitRepo, ref: str) -> None:
    with pytest.raises(git.GitError, match="unknown git revision"):
        git.resolve_ref(repo.path, ref)


@pytest.mark.parametrize("ref", ["main..HEAD", "main...HEAD"])
def test_resolve_ref_refuses_a_range(repo: GitRepo, ref: str) -> None:
    with pytest.raises(git.GitError, match="is a range; give one revision"):
        git.resolve_ref(repo.path, ref)


def test_unknown_revision_in_a_shallow_clone_hints_at_fetch_depth(repo: GitRepo, tmp_path: Path) -> None:
    repo.write("content/second.md")
    repo.commit()
    clone = repo.shallow_clone(tmp_path / "clone")
    with pytest.raises(git.GitError, match=r"shallow clone.*fetch-depth: 0"):
        git.resolve_ref(clone, "HEAD~1")
    with pytest.raises(git.GitError) as plain:
        git.resolve_ref(repo.path, "HEAD~5")
    assert "shallow" not in str(plain.value)


@settings(max_examples=60, deadline=None)
@given(ref=st.text(min_size=1, max_size=20))
def test_resolve_ref_never_takes_an_option(tmp_path_factory: pytest.TempPathFactory, ref: str) -> None:
    """Whatever the text, the result is a GitError or a commit hash, never an option."""
    path = tmp_path_factory.getbasetemp() / "hypothesis-repo"
    if not path.exists():
        made = GitRepo(path)
        made.write("a.md")
        made.commit()
    try:
        sha = git.resolve_ref(path, ref)
    except git.GitError:
        return
    assert not ref.startswith("-") and len(sha) == 40


def test_merge_base(repo: GitRepo) -> None:
    base = repo.git("rev-parse", "HEAD")
    repo.git("checkout", "-q", "-b", "topic")
    repo.write("content/topic.md")
    repo.commit()
    repo.git("checkout", "-q", "main")
    repo.write("content/main.md")
    repo.commit()
    repo.git("checkout", "-q", "topic")
    assert git.merge_base(repo.path, "main") == base


def test_default_base_prefers_origin_head(repo: GitRepo, tmp_path: Path) -> None:
    clone = tmp_path / "clone"
    subprocess.run(["git", "clone", "-q", repo.path.as_uri(), str(clone)],
                   check=True, capture_output=True)  # fmt: skip
    assert git.default_base(clone) == "origin/main"
    assert git.default_base(repo.path) == "main"


def test_default_base_missing(tmp_path: Path) -> None:
    other = GitRepo(tmp_path / "trunk-only")
    other.git("checkout", "-q", "-b", "trunk")
    other.write("a.md")
    other.commit()
    with pytest.raises(git.GitError, match="--base"):
        git.default_base(other.path)


def _feature_branch(repo: GitRepo) -> None:
    """A branch that adds, modifies, renames and deletes, plus uncommitted work of each kind."""
    for name in ("a", "b", "d", "e", "f", "s"):
        repo.write(f"content/{name}.md", f"page {name} with enough text to be recognised\n" * 4)
    repo.write(".gitignore", "ignored.md\n")
    repo.commit(message="base")
    repo.git("checkout", "-q", "-b", "topic")
    repo.write("content/new.md")
    repo.write("content/a.md", "rewritten\n")
    repo.git("mv", "content/b.md", "content/c.md")
    repo.git("rm", "-q", "content/d.md")
    repo.commit(message="topic work")
    repo.write("content/staged.md")
    repo.git("add", "content/staged.md")
    repo.write("content/s.md", "staged edit\n")
    repo.git("add", "content/s.md")
    repo.write("content/e.md", "unstaged edit\n")
    (repo.path / "content/f.md").unlink()
    repo.write("content/untracked/u.md")
    repo.write("ignored.md")


def test_changed_paths(repo: GitRepo) -> None:
    _feature_branch(repo)
    changes = git.changed_paths(repo.path, "main")
    assert changes.changed == {
        "content/new.md", "content/a.md", "content/c.md", "content/staged.md", "content/s.md",
        "content/e.md", "content/untracked/u.md",
    }  # fmt: skip
    assert changes.deleted == {"content/d.md", "content/f.md"}
    assert changes.renamed == {"content/b.md": "content/c.md"}


def test_changed_paths_composes_committed_and_staged_renames(repo: GitRepo) -> None:
    repo.write("content/b.md", "a page that keeps its text while it moves\n" * 4)
    repo.write("content/gone.md", "to be deleted, then written again\n")
    repo.commit(message="base")
    repo.git("checkout", "-q", "-b", "topic")
    repo.git("mv", "content/b.md", "content/c.md")
    repo.git("rm", "-q", "content/gone.md")
    repo.commit(message="move and delete")
    repo.git("mv", "content/c.md", "content/d.md")
    repo.write("content/gone.md", "back again\n")
    changes = git.changed_paths(repo.path, "main")
    assert changes.renamed == {"content/b.md": "content/d.md"}
    assert changes.changed == {"content/d.md", "content/gone.md"}
    assert changes.deleted == set()  # content/c.md never existed at the base


def test_changed_paths_rejects_option_like_base(repo: GitRepo) -> None:
    with pytest.raises(git.GitError, match="invalid git revision"):
        git.changed_paths(repo.path, "--output=marker")
    assert not (repo.path / "marker").exists()


def test_working_tree(repo: GitRepo) -> None:
    _feature_branch(repo)
    tree = git.working_tree(repo.path)
    assert tree.modified == {"content/staged.md", "content/s.md", "content/e.md", "content/f.md"}
    assert tree.untracked == {"content/untracked/u.md"}


def test_non_ascii_paths(repo: GitRepo) -> None:
    repo.write("content/ünïcødé.md", "base text of the page\n" * 4)
    repo.commit()
    repo.git("checkout", "-q", "-b", "topic")
    repo.git("mv", "content/ünïcødé.md", "content/日本語 名前.md")
    repo.commit()
    repo.write("content/naïve café.md")
    changes = git.changed_paths(repo.path, "main")
    assert changes.renamed == {"content/ünïcødé.md": "content/日本語 名前.md"}
    assert changes.changed == {"content/日本語 名前.md", "content/naïve café.md"}
    assert git.working_tree(repo.path).untracked == {"content/naïve café.md"}


def test_log_changes_newest_first(repo: GitRepo) -> None:
    repo.write("content/index.md", "edited\n")
    repo.commit()
    commits = list(git.log_changes(repo.path))
    assert [c.changes for c in commits] == [
        (git.Change("M", "content/index.md"),),
        (git.Change("A", "content/index.md"),),
    ]
    assert commits[0].author == "Alice" and commits[0].timestamp == 1704110400


# --- hostile repository configuration --------------------------------------------------------


def _evil(tmp_path: Path, name: str) -> str:
    """A program that leaves a marker file when run (and passes stdin through, like a filter)."""
    script = tmp_path / f"evil-{name}"
    script.write_text(f"#!/bin/sh\ntouch '{tmp_path}/marker-{name}'\ncat\n")
    script.chmod(script.stat().st_mode | stat.S_IEXEC)
    return str(script)


def _signed_commit(repo: GitRepo) -> None:
    """A commit carrying a (fake) signature, so `log.showSignature` would run gpg.program."""
    tree, parent = repo.git("rev-parse", "HEAD^{tree}"), repo.git("rev-parse", "HEAD")
    ident = "Alice <a@example.com> 1704110400 +0000"
    body = (f"tree {tree}\nparent {parent}\nauthor {ident}\ncommitter {ident}\n"
            "gpgsig -----BEGIN PGP SIGNATURE-----\n \n iQEzBAABCAAdFiEE\n"
            " -----END PGP SIGNATURE-----\n\nsigned\n")  # fmt: skip
    sha = repo.git("hash-object", "-t", "commit", "-w", "--stdin", stdin=body)
    repo.git("update-ref", "HEAD", sha)


def _make_hostile(repo: GitRepo, tmp_path: Path) -> None:
    repo.write(".gitattributes", "*.md filter=evil diff=evil\n")
    repo.write("content/same.md", "unchanged text\n")
    repo.commit(message="attributes")
    _signed_commit(repo)
    hooks = tmp_path / "hooks"
    hooks.mkdir()
    for hook in ("post-index-change", "post-checkout", "pre-commit"):
        (hooks / hook).symlink_to(_evil(tmp_path, hook))
    settings_ = {
        "core.fsmonitor": _evil(tmp_path, "fsmonitor"),
        "core.pager": _evil(tmp_path, "pager"),
        "core.hooksPath": str(hooks),
        "core.sshCommand": _evil(tmp_path, "ssh"),
        "diff.external": _evil(tmp_path, "external"),
        "diff.evil.textconv": _evil(tmp_path, "textconv"),
        "filter.evil.clean": _evil(tmp_path, "clean"),
        "filter.evil.smudge": _evil(tmp_path, "smudge"),
        "filter.evil.required": "true",
        "log.showSignature": "true",
        "gpg.program": _evil(tmp_path, "gpg"),
    }
    for key, value in settings_.items():
        repo.git("config", key, value)
    repo.write("content/index.md", "edited, so status must look at its content\n")
    os.utime(repo.path / "content/same.md", (1, 1))  # same bytes, new stat: git must re-hash


def test_hostile_config_runs_nothing(repo: GitRepo, tmp_path: Path) -> None:
    _make_hostile(repo, tmp_path)
    index = (repo.path / ".git/index").read_bytes()
    history = read_history(repo.path, ["content/index.md", "content/new.md"])
    assert history.available and history.files["content/index.md"].uncommitted
    git.changed_paths(repo.path, "main")
    git.working_tree(repo.path)
    git.head_commit(repo.path)
    git.head_log(repo.path)
    git.default_base(repo.path)
    assert sorted(p.name for p in tmp_path.glob("marker-*")) == []
    assert (repo.path / ".git/index").read_bytes() == index  # kb never writes into .git
    # The config is live: plain git runs the planted programs.
    subprocess.run(["git", "status"], cwd=repo.path, capture_output=True)
    subprocess.run(["git", "log", "-1"], cwd=repo.path, capture_output=True)
    planted = {p.name for p in tmp_path.glob("marker-*")}
    assert {"marker-fsmonitor", "marker-clean", "marker-gpg"} <= planted


def test_root_prefix_is_the_handbook_folder_inside_the_repository(repo: GitRepo) -> None:
    (repo.path / "docs" / "handbook").mkdir(parents=True)
    assert git.root_prefix(repo.path, repo.path) == ""
    assert git.root_prefix(repo.path / "docs" / "handbook", repo.path) == "docs/handbook/"


def test_head_commit_follows_commits_and_checkouts(tmp_path: Path) -> None:
    made = GitRepo(tmp_path / "fresh")
    assert git.head_commit(made.path) is None  # unborn branch: no commit yet
    made.write("a.md", "a\n")
    made.commit()
    first = made.git("rev-parse", "HEAD")
    assert git.head_commit(made.path) == first
    made.write("a.md", "b\n")
    made.commit()
    assert git.head_commit(made.path) == made.git("rev-parse", "HEAD") != first
    made.git("checkout", "-q", first)
    assert git.head_commit(made.path) == first


def test_head_log_is_the_reflog_git_appends_to_when_head_moves(repo: GitRepo, tmp_path: Path) -> None:
    log = git.head_log(repo.path)
    assert log == repo.path / ".git" / "logs" / "HEAD"
    size = log.stat().st_size
    repo.write("content/b.md", "b\n")
    repo.commit()
    assert log.stat().st_size > size
    repo.git("worktree", "add", "-q", str(tmp_path / "other"), "-b", "other")
    other = git.head_log(tmp_path / "other")  # a worktree's HEAD lives in .git/worktrees/
    assert other is not None and other.is_file() and other != log
    assert git.head_log(GitRepo(tmp_path / "unborn").path) is None  # no commit: no reflog yet
