"""`kb diff`: what a branch does to the handbook's knowledge, against golden outputs.

The repository: a base commit on `main`; a `feature` branch of two commits that adds a loop
(practicing `listening`, so it is newly practiced), advances `slow-ci` from observe to
implement, moves `craft-time` from `craft` to `root-cause` (so `craft` is orphaned), renames
kb's `kb build` interface to `kb site` and rewords `kb lint` (consumed by `site` and `ci`,
depended on by `portal`), drops the heading `index` links to (a broken anchor) and fixes the
guide's broken wikilink. After the branch point `main` gains a loop of its own, which the diff
must not report (it compares against the merge base). Goldens live in tests/golden_diff/;
regenerate them with UPDATE_GOLDEN=1 and read the diff before committing.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from gitrepo import GitRepo
from site_helpers import run_kb

GOLDEN = Path(__file__).parent / "golden_diff"
STEPS = ("Observe", "Reflect", "Design", "Implement", "Repeat")


def loop(title: str, date: str, stage: str, principles: str, product: str | None = None) -> str:
    front = f"---\ntitle: {title}\ndate: {date}\nstage: {stage}\nprinciples: [{principles}]\n"
    front += f"product: {product}\n" if product else ""
    body = "".join(
        f"## {n}. {s}\n\nNotes.\n\n" for n, s in enumerate(STEPS[: STEPS.index(stage.capitalize()) + 1], 1)
    )
    return front + "authors: [Ana Lima]\n---\n\n" + body


def product(title: str, extra: str = "", body: str = "## What it does\n\nThings.\n") -> str:
    return (
        f"---\ntitle: {title}\nsummary: A product.\nproblem: A problem.\nusers: [Builders]\n"
        f"owner: Team\nstatus: live\n{extra}---\n\n{body}"
    )


def principle(title: str) -> str:
    return f"---\ntitle: {title}\nsummary: A principle.\n---\n\nText.\n"


KB_BASE = """interfaces:
  - name: kb lint
    kind: cli
    description: Checks the handbook.
  - name: kb build
    kind: cli
    description: Builds the site.
"""
KB_FEATURE = """interfaces:
  - name: kb lint
    kind: cli
    description: Checks the handbook, fast.
  - name: kb site
    kind: cli
    description: Builds the site.
"""
SLOW = "content/loops/2026/2026-01-05-slow-ci.md"
CRAFT = "content/loops/2026/2026-01-10-craft-time.md"
BASE = {
    "content/index.md": "---\ntitle: Home\n---\n\nSee [what kb does](products/kb.md#what-it-does).\n",
    "content/handbook/guide.md": "---\ntitle: Guide\n---\n\nRead [[ownershp]] first.\n",
    "content/principles/ownership.md": principle("Ownership"),
    "content/principles/root-cause.md": principle("Root cause"),
    "content/principles/listening.md": principle("Listening <to users>"),
    "content/principles/craft.md": principle("Craft"),
    "content/products/kb.md": product("kb", KB_BASE),
    "content/products/site.md": product("Site", "consumes: [kb/kb build]\n"),
    "content/products/ci.md": product("CI", "consumes: [kb/kb lint]\n"),
    "content/products/portal.md": product("Portal", "depends_on: [kb]\n"),
    "content/products/inbox.md": product("Inbox"),
    SLOW: loop("Slow CI", "2026-01-05", "observe", "ownership", "kb"),
    CRAFT: loop("Craft time", "2026-01-10", "repeat", "craft"),
}


@pytest.fixture(scope="module")
def repo(tmp_path_factory: pytest.TempPathFactory) -> GitRepo:
    repo = GitRepo(tmp_path_factory.mktemp("diff") / "hb")
    repo.write(BASE)
    repo.commit(message="base", when="2026-01-11T09:00:00Z")
    repo.git("checkout", "-q", "-b", "feature")
    repo.write(
        {
            SLOW: loop("Slow CI", "2026-01-05", "implement", "ownership", "kb"),
            "content/loops/2026/2026-02-01-listen-more.md": loop(
                "Listen more", "2026-02-01", "observe", "listening", "inbox"
            ),
        }
    )
    repo.commit(message="advance slow-ci, add a loop", when="2026-02-01T09:00:00Z")
    repo.write(
        {
            CRAFT: loop("Craft time", "2026-01-10", "repeat", "root-cause"),
            "content/products/kb.md": product("kb", KB_FEATURE, "## What it is\n\nThings.\n"),
            "content/handbook/guide.md": "---\ntitle: Guide\n---\n\nRead [[ownership]] first.\n",
        }
    )
    repo.commit(message="craft-time is about root causes; kb interfaces", when="2026-02-02T09:00:00Z")
    repo.git("checkout", "-q", "main")
    repo.write(
        {"content/loops/2026/2026-03-01-main-only.md": loop("Main only", "2026-03-01", "observe", "craft")}
    )
    repo.commit(message="a loop on main after the branch point", when="2026-03-01T09:00:00Z")
    repo.git("checkout", "-q", "feature")
    return repo


def golden(name: str, actual: str) -> None:
    path = GOLDEN / name
    if os.environ.get("UPDATE_GOLDEN"):
        path.parent.mkdir(exist_ok=True)
        path.write_text(actual, encoding="utf-8")
    assert actual == path.read_text(encoding="utf-8"), f"differs from {path} (UPDATE_GOLDEN=1 to regenerate)"


def diff(repo: GitRepo, *args: str) -> str:
    result = run_kb(["diff", *args], repo.root)
    assert result.exit_code == 0, result.output
    return result.stdout


def test_feature_branch_markdown(repo: GitRepo) -> None:
    golden("feature.md", diff(repo, "main", "feature"))


def test_feature_branch_json(repo: GitRepo) -> None:
    out = diff(repo, "main", "feature", "--format", "json")
    golden("feature.json", out)
    data = json.loads(out)
    assert list(data) == [
        "loops_added",
        "loops_removed",
        "stages_advanced",
        "principles_newly_practiced",
        "principles_orphaned",
        "interfaces_changed",
        "links_broken",
        "links_fixed",
        "loops_unreadable",
    ]
    assert all("id" in entry for entries in data.values() for entry in entries)
    assert [e["id"] for e in data["loops_added"]] == ["2026-02-01-listen-more"]  # not main's own loop
    assert data["loops_removed"] == []


def test_head_omitted_is_the_working_tree(repo: GitRepo) -> None:
    assert diff(repo, "main") == diff(repo, "main", "feature")  # a clean tree is HEAD
    (repo.root / CRAFT).write_text(
        loop("Craft time", "2026-01-10", "implement", "root-cause"), encoding="utf-8"
    )
    try:
        data = json.loads(diff(repo, "main", "--format", "json"))
        text = diff(repo, "feature")  # against HEAD itself: only the uncommitted edit
    finally:
        repo.git("checkout", "--", CRAFT)
    assert {
        "id": "2026-01-10-craft-time",
        "title": "Craft time",
        "from": "repeat",
        "to": "implement",
        "advanced": False,
    } in data["stages_advanced"]
    assert text == (
        "## What this change does to the handbook\n\n### Stages changed (1)\n\n"
        "- `2026-01-10-craft-time`: repeat → **implement** (moved back)\n"
    )


def test_no_change(repo: GitRepo) -> None:
    out = diff(repo, "feature")
    assert out == (
        "## What this change does to the handbook\n\n"
        "No change to loops, principles, product interfaces or links.\n"
    )
    data = json.loads(diff(repo, "feature", "feature", "--format", "json"))
    assert data and not any(data.values())


def test_head_argument_is_compared_at_its_own_merge_base(repo: GitRepo) -> None:
    repo.git("checkout", "-q", "main")
    try:
        out = diff(repo, "main", "feature")
    finally:
        repo.git("checkout", "-q", "feature")
    assert out == (GOLDEN / "feature.md").read_text(encoding="utf-8")


def test_not_a_git_repository_exits_2(tmp_path: Path) -> None:
    root = tmp_path / "plain"
    (root / "content").mkdir(parents=True)
    (root / "content/index.md").write_text("# Home\n", encoding="utf-8")
    result = run_kb(["diff", "main"], root, {"GIT_CEILING_DIRECTORIES": str(tmp_path)})
    assert result.exit_code == 2
    assert result.stdout == ""
    assert result.stderr == "kb: error: kb diff needs a git repository (and git on PATH)\n"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["nope"], "kb: error: unknown git revision 'nope'\n"),
        (["main", "--bad"], None),
        (["--", "-x"], None),
        (
            ["main..feature"],
            "kb: error: 'main..feature' is a range; give one revision (a branch, tag, commit, or HEAD~1)\n",
        ),
        (["main", "feature", "--base", "main"], None),
    ],
)
def test_bad_refs_exit_2_cleanly(repo: GitRepo, args: list[str], message: str | None) -> None:
    result = run_kb(["diff", *args], repo.root)
    assert result.exit_code == 2
    assert "Traceback" not in result.output
    if message:
        assert result.stderr == message


def test_base_option_and_revision_expressions(repo: GitRepo) -> None:
    expected = diff(repo, "main", "feature")
    assert diff(repo, "--base", "main", "feature") == expected
    assert diff(repo, "--base", "main") == expected  # a clean tree is HEAD
    assert diff(repo, "feature~2", "HEAD") == expected  # feature~2 is the branch point
    one = json.loads(diff(repo, "--base", "HEAD^", "--format", "json"))
    assert [e["id"] for e in one["principles_orphaned"]] == ["craft"]
    assert one["loops_added"] == []  # the loop added two commits ago is not in HEAD^..HEAD


def test_default_base_that_is_the_branch_itself_exits_2(repo: GitRepo) -> None:
    repo.git("checkout", "-q", "main")
    try:
        result = run_kb(["diff"], repo.root)
    finally:
        repo.git("checkout", "-q", "feature")
    assert result.exit_code == 2 and result.stdout == ""
    assert result.stderr.startswith(
        "kb: error: kb diff picked the base 'main', but it is the branch being checked"
    )
    assert "`kb diff --base origin/main`" in result.stderr


def test_a_loop_with_broken_frontmatter_is_unreadable_not_removed(repo: GitRepo) -> None:
    path = repo.root / CRAFT
    path.write_text(
        path.read_text(encoding="utf-8").replace("title: Craft time", "title: Craft: time"), encoding="utf-8"
    )
    try:
        data = json.loads(diff(repo, "feature", "--format", "json"))
        text = diff(repo, "feature")
    finally:
        repo.git("checkout", "--", CRAFT)
    assert data["loops_removed"] == []
    assert [(e["id"], e["path"], e["code"], e["line"]) for e in data["loops_unreadable"]] == [
        ("2026-01-10-craft-time", CRAFT, "KB103", 2)
    ]
    assert "### Loop cycles whose frontmatter cannot be read (1)" in text
    assert "Loop cycles removed" not in text
