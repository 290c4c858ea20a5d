"""`kb lint --changed [--base REF]` against real git repositories built commit by commit.

What a pull request is held to: the files it changed (committed since the merge base, staged,
unstaged or untracked), plus the findings its changes cause in files it did not touch (a
principle deleted or renamed while unchanged loops still reference it). Old findings in files
it did not touch are not its business.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from conftest import BASE, LOOP, PRINCIPLE
from gitrepo import GIT_ENV, GitRepo
from kb.cli import main

REPO = Path(__file__).resolve().parents[1]
OLD_LOOP = "content/loops/2026/2026-11-23-old-broken.md"
NEW_LOOP = "content/loops/2026/2026-11-23-urgent-new-broken.md"
CLEAN_LOOP = "content/loops/2026/2026-11-23-verified-clean.md"


def loop(title: str, principle: str = "ownership") -> str:
    """A loop cycle at stage repeat (never stale) practicing `principle`."""
    return (
        BASE[LOOP]
        .replace("title: Slow CI", f"title: {title}")
        .replace("principles: [ownership]", f"principles: [{principle}]")
    )


@pytest.fixture
def repo(git_repo: GitRepo) -> GitRepo:
    """main: the base handbook plus a loop with a typo committed before the branch; then a
    branch `feature` checked out at that commit."""
    git_repo.write({OLD_LOOP: loop("Old broken", "ownershp")})
    git_repo.commit(message="an old mistake, already on main")
    git_repo.git("checkout", "-q", "-b", "feature")
    return git_repo


def lint(repo: GitRepo, *args: str) -> Result:
    result = CliRunner().invoke(main, ["--root", str(repo.root), "lint", *args])
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    return result


def findings(result: Result) -> list[tuple[str, str]]:
    """(path, code) of every finding of a `--format json` run."""
    return [(f["path"], f["code"]) for f in json.loads(result.stdout)]


def test_committed_before_the_base_is_not_reported(repo: GitRepo) -> None:
    assert f"{OLD_LOOP}:5:14: KB401" in lint(repo).stdout  # a full lint sees it
    result = lint(repo, "--changed", "--base", "main", "--format", "json")
    assert result.exit_code == 0, result.output
    assert findings(result) == []
    assert "0 errors, 0 warnings in 0 files" in result.stderr
    assert "kb: 0 changed files since main" in result.stderr


def test_committed_after_the_base_is_reported(repo: GitRepo) -> None:
    repo.write({NEW_LOOP: loop("New broken", "ownrship")})
    repo.commit(message="a new mistake on the branch")
    result = lint(repo, "--changed", "--base", "main", "--format", "json")
    assert result.exit_code == 1
    assert findings(result) == [(NEW_LOOP, "KB401")]
    assert "1 error, 0 warnings in 1 file" in result.stderr
    assert "kb: 1 changed file since main" in result.stderr


def test_uncommitted_modified_and_untracked_files_are_reported(repo: GitRepo) -> None:
    repo.write(
        {
            LOOP: BASE[LOOP].replace("principles: [ownership]", "principles: [ownerhsip]"),
            NEW_LOOP: loop("Untracked", "owner-ship"),
        }
    )
    result = lint(repo, "--changed", "--base", "main", "--format", "json")
    assert result.exit_code == 1
    # and one caused elsewhere: the only loop practicing `ownership` no longer does
    assert findings(result) == [(LOOP, "KB401"), (NEW_LOOP, "KB401"), (PRINCIPLE, "KB603")]
    assert "2 errors, 1 warning in 2 files" in result.stderr


def test_staged_file_is_reported(repo: GitRepo) -> None:
    repo.write({NEW_LOOP: loop("Staged", "owner-ship")})
    repo.git("add", NEW_LOOP)
    assert findings(lint(repo, "--changed", "--base", "main", "--format", "json")) == [(NEW_LOOP, "KB401")]


def test_deleted_principle_fails_in_the_unchanged_loops_that_reference_it(repo: GitRepo) -> None:
    repo.git("rm", "-q", PRINCIPLE)
    repo.commit(message="delete a principle still in use")
    result = lint(repo, "--changed", "--base", "main")
    assert result.exit_code == 1
    assert f"{LOOP}:5:14: KB401 unknown principle 'ownership'" in result.stdout
    assert "content/products/kb.md:8:14: KB401 unknown principle 'ownership'" in result.stdout
    assert "ownershp" not in result.stdout  # the old loop's typo is old news
    assert f"{OLD_LOOP}:15:8: KB404 wikilink target 'take ownership'" in result.stdout  # the alias is gone
    assert "in 0 files" in result.stdout  # nothing left to lint among the changed files


def test_renamed_principle_fails_in_the_unchanged_loops_that_reference_it(repo: GitRepo) -> None:
    repo.git("mv", PRINCIPLE, "content/principles/ownership-mindset.md")
    repo.commit(message="rename a principle still in use")
    result = lint(repo, "--changed", "--base", "main", "--format", "json")
    assert result.exit_code == 1
    found = findings(result)
    assert (LOOP, "KB401") in found and ("content/products/kb.md", "KB401") in found
    assert (OLD_LOOP, "KB401") not in found


def test_uncommitted_deletion_counts_too(repo: GitRepo) -> None:
    (repo.root / PRINCIPLE).unlink()
    result = lint(repo, "--changed", "--base", "main", "--format", "json")
    assert result.exit_code == 1 and (LOOP, "KB401") in findings(result)


def test_clean_change_exits_0(repo: GitRepo) -> None:
    repo.write({CLEAN_LOOP: loop("Clean")})
    repo.commit(message="a good reflection")
    repo.write({LOOP: BASE[LOOP].replace("Measure again next month.", "Measure again in two weeks.")})
    result = lint(repo, "--changed", "--base", "main")
    assert result.exit_code == 0, result.output
    assert result.stdout == "0 errors, 0 warnings in 2 files\n"


def test_fixing_an_old_finding_is_not_a_new_one(repo: GitRepo) -> None:
    repo.write({OLD_LOOP: loop("Old broken")})
    result = lint(repo, "--changed", "--base", "main")
    assert result.exit_code == 0 and result.stdout == "0 errors, 0 warnings in 1 file\n"


def test_handbook_in_a_subfolder_of_the_repository(tmp_path: Path) -> None:
    repo = GitRepo(tmp_path / "mono")
    repo.write({f"docs/{path}": text for path, text in BASE.items()})
    repo.write({"README.md": "# A monorepo\n"})
    repo.commit(message="base")
    repo.git("checkout", "-q", "-b", "feature")
    repo.git("rm", "-q", f"docs/{PRINCIPLE}")
    repo.write({f"docs/{NEW_LOOP}": loop("New", "ownership")})
    result = CliRunner().invoke(
        main, ["--root", str(repo.root / "docs"), "lint", "--changed", "--base", "main", "--format", "json"]
    )
    assert result.exit_code == 1, result.output
    found = findings(result)
    assert (NEW_LOOP, "KB401") in found and (LOOP, "KB401") in found


# -- the "done when": an annotation on the right line -----------------------------------


def test_typo_in_a_new_reflection_is_annotated_on_its_line(repo: GitRepo) -> None:
    text = loop("Typo", "ownership").replace(
        "principles: [ownership]", "principles:\n  - ownership\n  - ownersihp"
    )
    repo.write({NEW_LOOP: text})
    repo.commit(message="a reflection with a typo")
    result = CliRunner(env={"GITHUB_ACTIONS": "true"}).invoke(
        main, ["--root", str(repo.root), "lint", "--changed", "--base", "main"]
    )
    assert result.exit_code == 1
    line = text.splitlines().index("  - ownersihp") + 1
    assert result.stdout == (
        f"::error file={NEW_LOOP},line={line},col=5,title=KB401::unknown principle 'ownersihp'"
        " (did you mean 'ownership'?)\n"
    )
    assert "1 error, 0 warnings in 1 file" in result.stderr


def test_as_a_real_process(repo: GitRepo) -> None:
    """The command CI runs, as CI runs it: a fresh interpreter in the repository."""
    repo.write({NEW_LOOP: loop("Typo", "ownersihp")})
    repo.commit(message="a reflection with a typo")
    (repo.root / PRINCIPLE).unlink()  # deleted, not yet committed
    env = {**os.environ, **GIT_ENV, "PYTHONPATH": str(REPO / "builder")}
    done = subprocess.run(
        [sys.executable, "-m", "kb", "lint", "--changed", "--base", "main", "--format", "github"],
        cwd=repo.root / "content" / "loops",
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 1, done.stderr
    lines = done.stdout.splitlines()
    assert (
        f"::error file={NEW_LOOP},line=5,col=14,title=KB401::unknown principle 'ownersihp'"
        " (no principle has that id)" in lines
    )
    assert any(line.startswith(f"::error file={LOOP},line=5,col=14,title=KB401::") for line in lines)
    assert "Traceback" not in done.stderr


# -- the default base ---------------------------------------------------------------------------


def clone(repo: GitRepo, tmp_path: Path) -> GitRepo:
    return repo.clone(tmp_path / "clone")


def base_note(repo: GitRepo) -> str:
    result = lint(repo, "--changed")
    assert result.exit_code == 0, result.output
    return [line for line in result.stderr.splitlines() if "since" in line][0]


def kb_process(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, **GIT_ENV, "PYTHONPATH": str(REPO / "builder")}
    return subprocess.run(
        [sys.executable, "-m", "kb", *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=60
    )


def test_clone_of_the_feature_branch_never_passes_silently(repo: GitRepo, tmp_path: Path) -> None:
    """`git clone -b feature`: origin/HEAD names origin/feature, the branch itself. Comparing
    with it would check nothing, so --changed refuses (exit 2) and says how to pass a base."""
    repo.write({NEW_LOOP: loop("New broken", "ownrship")})
    repo.commit(message="a new mistake on the branch")
    target = tmp_path / "feature-clone"
    subprocess.run(
        ["git", "clone", "-q", "-b", "feature", repo.root.as_uri(), str(target)],
        check=True,
        capture_output=True,
        env={**os.environ, **GIT_ENV},
    )
    done = kb_process(target, "lint", "--changed")
    assert done.returncode == 2, done.stderr
    assert "picked the base 'origin/feature'" in done.stderr
    assert "git clone -b feature" in done.stderr and "--base origin/main" in done.stderr
    assert done.stdout == ""
    # with local commits on top the picked base is still the branch itself
    (target / "content/handbook").mkdir(parents=True)
    (target / "content/handbook/extra.md").write_text("# Extra\n", encoding="utf-8")
    subprocess.run(["git", "add", "-A"], cwd=target, check=True, env={**os.environ, **GIT_ENV})
    subprocess.run(["git", "commit", "-qm", "more"], cwd=target, check=True, env={**os.environ, **GIT_ENV})
    assert kb_process(target, "lint", "--changed").returncode == 2
    # given explicitly, the real base finds the finding
    done = kb_process(target, "lint", "--changed", "--base", "origin/main")
    assert done.returncode == 1 and f"{NEW_LOOP}:5:14: KB401" in done.stdout


def test_default_base_that_is_head_itself_exits_2(repo: GitRepo) -> None:
    repo.git("checkout", "-q", "main")
    repo.write({NEW_LOOP: loop("Uncommitted", "ownrship")})
    result = lint(repo, "--changed")
    assert result.exit_code == 2
    assert result.stderr.startswith(
        "kb: error: kb lint --changed picked the base 'main', but it is the branch being checked (main)"
    )
    repo.git("checkout", "-q", "-b", "topic")  # a new branch with nothing committed: HEAD is the base
    result = lint(repo, "--changed")
    assert result.exit_code == 2
    assert "picked the base 'main', but its merge base with HEAD is HEAD itself" in result.stderr
    assert "--base HEAD to check only uncommitted changes" in result.stderr
    result = lint(repo, "--changed", "--base", "HEAD", "--format", "json")  # explicit: allowed
    assert result.exit_code == 1 and findings(result) == [(NEW_LOOP, "KB401")]


def test_shallow_clone_hints_at_fetch_depth(repo: GitRepo, tmp_path: Path) -> None:
    repo.write({NEW_LOOP: loop("New", "ownership")})
    repo.commit(message="a loop")
    target = tmp_path / "shallow"
    subprocess.run(["git", "clone", "-q", "--depth", "1", "--no-single-branch", "-b", "feature",
                    repo.root.as_uri(), str(target)], check=True, capture_output=True,
                   env={**os.environ, **GIT_ENV})  # fmt: skip
    done = kb_process(target, "lint", "--changed", "--base", "origin/nope")
    assert done.returncode == 2
    assert "unknown git revision 'origin/nope'; this is a shallow clone" in done.stderr
    assert "fetch-depth: 0" in done.stderr


def test_default_base_is_origin_head_then_origin_main_then_main(repo: GitRepo, tmp_path: Path) -> None:
    repo.git("branch", "trunk", "main")
    work = clone(repo, tmp_path)  # a clone of `feature`: origin/HEAD -> origin/feature
    work.git("checkout", "-q", "-b", "topic")
    work.write({CLEAN_LOOP: loop("Clean")})
    work.commit(message="one commit on the branch")
    work.git("symbolic-ref", "refs/remotes/origin/HEAD", "refs/remotes/origin/trunk")
    assert base_note(work) == "kb: 1 changed file since origin/trunk"
    work.git("symbolic-ref", "--delete", "refs/remotes/origin/HEAD")
    assert base_note(work) == "kb: 1 changed file since origin/main"
    work.git("remote", "remove", "origin")
    work.git("branch", "main", "HEAD~1")
    assert base_note(work) == "kb: 1 changed file since main"


def test_no_base_found_exits_2(tmp_path: Path) -> None:
    other = GitRepo(tmp_path / "trunk")
    other.git("checkout", "-q", "-b", "trunk")
    other.write(BASE)
    other.commit()
    result = lint(other, "--changed")
    assert result.exit_code == 2
    assert result.stderr.startswith("kb: error: no base branch found") and "--base REF" in result.stderr


# -- bad input ------------------------------------------------------------------------------------


@pytest.mark.parametrize("ref", ["-x", "--output=marker", "-"])
def test_option_like_base_exits_2_with_a_clean_message(repo: GitRepo, ref: str) -> None:
    result = lint(repo, "--changed", "--base", ref)
    assert result.exit_code == 2
    assert result.stderr.startswith(f"kb: error: invalid git revision {ref!r} (")
    assert "never starting with '-'" in result.stderr
    assert not (repo.root / "marker").exists()


@pytest.mark.parametrize("ref", ["main..feature", "main...HEAD"])
def test_range_base_exits_2(repo: GitRepo, ref: str) -> None:
    result = lint(repo, "--changed", "--base", ref)
    assert result.exit_code == 2
    assert (
        result.stderr
        == f"kb: error: {ref!r} is a range; give one revision (a branch, tag, commit, or HEAD~1)\n"
    )


def test_unknown_ref_exits_2(repo: GitRepo) -> None:
    result = lint(repo, "--changed", "--base", "no-such-branch")
    assert result.exit_code == 2 and result.stderr == "kb: error: unknown git revision 'no-such-branch'\n"


@pytest.mark.parametrize("ref", ["HEAD~1", "HEAD^", "feature~1", "HEAD@{1}"])
def test_revision_expressions_are_bases(repo: GitRepo, ref: str) -> None:
    repo.write({NEW_LOOP: loop("New broken", "ownrship")})
    repo.commit(message="a new mistake on the branch")
    result = lint(repo, "--changed", "--base", ref, "--format", "json")
    assert result.exit_code == 1, result.output
    assert findings(result) == [(NEW_LOOP, "KB401")]
    assert f"kb: 1 changed file since {ref}" in result.stderr


def test_not_a_git_repository_exits_2(tmp_path: Path) -> None:
    root = tmp_path / "plain"
    (root / "content").mkdir(parents=True)
    for path, text in BASE.items():
        (root / path).parent.mkdir(parents=True, exist_ok=True)
        (root / path).write_text(text, encoding="utf-8")
    result = CliRunner().invoke(main, ["--root", str(root), "lint", "--changed", "--base", "main"])
    assert result.exit_code == 2
    assert result.stderr == "kb: error: --changed needs a git repository (and git on PATH)\n"


def test_excluded_changed_files_are_neither_reported_nor_counted(repo: GitRepo) -> None:
    (repo.root / "kb.toml").write_text('exclude = ["handbook/drafts/*"]\n', encoding="utf-8")
    repo.write({"content/handbook/drafts/wip.md": "no frontmatter, no title\n", CLEAN_LOOP: loop("Clean")})
    result = lint(repo, "--changed", "--base", "main")
    assert result.exit_code == 0, result.output
    assert result.stdout == "0 errors, 0 warnings in 1 file\n"


def test_git_missing_from_path_exits_2(
    repo: GitRepo, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "empty").mkdir()
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    result = lint(repo, "--changed", "--base", "main")
    assert result.exit_code == 2
    assert result.stderr == "kb: error: --changed needs a git repository (and git on PATH)\n"
