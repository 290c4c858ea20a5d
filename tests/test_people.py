"""People and history on the site, from a real repository with two authors and a `.mailmap`.

The repository (SMALL, with the `authors` of one loop left out so git supplies them):
- 2026-01-05 Ana Lima: everything but the duplicate-cycles loop;
- 2026-02-21 "benji" <ben@old.example> (Ben Okafor's old identity, mapped by .mailmap): adds it;
- 2026-03-02 Ana Lima: edits it;
- 2026-03-10 Ben Okafor: edits it.
So duplicate-cycles was created 2026-02-21, updated 2026-03-10 by Ben Okafor, by 2 contributors
in 3 commits; every other document was created and last updated 2026-01-05 by Ana Lima.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from gitrepo import GitRepo
from site_helpers import SMALL, run_kb, write_tree

ANA = "Ana Lima <ana@example.com>"
BEN = "Ben Okafor <ben@example.com>"
BENJI = "benji <ben@old.example>"
DUP = "content/loops/2026/2026-02-20-duplicate-cycles.md"
DUP_TEXT = str(SMALL[DUP]).replace("authors: [Ben Okafor]\n", "")
SURVIVE = "content/loops/2026/2026-01-10-notes-survive.md"


@pytest.fixture(scope="module")
def repo(tmp_path_factory: pytest.TempPathFactory) -> GitRepo:
    repo = GitRepo(tmp_path_factory.mktemp("people") / "repo", author=ANA, when="2026-01-05T12:00:00Z")
    first = {k: v for k, v in SMALL.items() if k != DUP}
    repo.commit("2026-01-05T12:00:00Z", ANA, files={**first, ".mailmap": f"{BEN} <ben@old.example>\n"})
    repo.commit("2026-02-21T09:00:00Z", BENJI, files={DUP: DUP_TEXT})
    repo.commit("2026-03-02T09:00:00Z", ANA, files={DUP: DUP_TEXT.replace("same cycle", "same cycle twice")})
    repo.commit("2026-03-10T09:00:00Z", BEN, files={DUP: DUP_TEXT.replace("same cycle", "same cycle, twice")})
    return repo


def build(root: Path, out: Path) -> tuple[Path, str]:
    result = run_kb(["build", "--out", str(out)], root)
    assert result.exit_code == 0, result.output
    return out, result.stderr


@pytest.fixture(scope="module")
def full(repo: GitRepo) -> tuple[Path, str]:
    return build(repo.path, repo.path.parent / "site")


def emitted(root: Path, rel: str) -> str:
    """A page of the docs tree kb emitted for MkDocs (kept in the cache between builds)."""
    return (root / ".kb-cache" / "docs" / rel).read_text(encoding="utf-8")


def test_footer_names_the_last_author_the_date_and_the_contributors(
    repo: GitRepo, full: tuple[Path, str]
) -> None:
    page = emitted(repo.path, "loops/2026/2026-02-20-duplicate-cycles.md")
    assert "Last updated 2026-03-10 by Ben Okafor · 2 contributors" in page
    html = (full[0] / "loops/2026/2026-02-20-duplicate-cycles/index.html").read_text(encoding="utf-8")
    assert "Last updated 2026-03-10 by Ben Okafor · 2 contributors" in html


@pytest.mark.parametrize(
    "rel",
    [
        "index.md",
        "principles/ownership.md",
        "products/journal.md",
        "loops/2025/2025-12-01-lost-notes.md",
        "handbook/cost_estimation.md",
    ],
)
def test_every_document_has_the_footer(repo: GitRepo, full: tuple[Path, str], rel: str) -> None:
    assert "Last updated 2026-01-05 by Ana Lima · 1 contributor<" in emitted(repo.path, rel)


def test_mailmap_applies_everywhere(full: tuple[Path, str]) -> None:
    site, stderr = full
    assert "KB70" not in stderr
    for page in site.rglob("*.html"):
        assert "benji" not in page.read_text(encoding="utf-8"), page
    assert not (site / "people" / "benji").exists()


def test_loop_without_authors_takes_its_git_authors(repo: GitRepo, full: tuple[Path, str]) -> None:
    page = emitted(repo.path, "loops/2026/2026-02-20-duplicate-cycles.md")
    assert re.search(r"Ben Okafor.{0,80}Ana Lima", page, re.S), page[:1500]
    person = emitted(repo.path, "people/ana-lima.md")
    assert "[Duplicate cycles](../loops/2026/2026-02-20-duplicate-cycles.md)" in person


def test_people_index_counts_loops_and_principles(repo: GitRepo, full: tuple[Path, str]) -> None:
    index = emitted(repo.path, "people/index.md")
    assert "| [Ana Lima](ana-lima.md) | 3 | Ownership (2), Root-cause problem solving (2) |" in index
    assert "| [Ben Okafor](ben-okafor.md) | 2 | Root-cause problem solving (2), Ownership (1) |" in index
    assert (full[0] / "people/index.html").is_file()


def test_each_person_page_lists_their_loops(repo: GitRepo, full: tuple[Path, str]) -> None:
    def loops(person: str) -> list[str]:
        return re.findall(r"\| \d{4}-\d\d-\d\d \| \[([^\]]+)\]", emitted(repo.path, f"people/{person}.md"))

    assert loops("ana-lima") == ["Duplicate cycles", "Notes survive", "Lost notes"]
    assert loops("ben-okafor") == ["Duplicate cycles", "Notes survive"]
    assert "3 loop cycles." in emitted(repo.path, "people/ana-lima.md")
    assert (full[0] / "people/ben-okafor/index.html").is_file()


def test_kb_json_carries_the_history(full: tuple[Path, str]) -> None:
    docs = {d["path"]: d for d in json.loads((full[0] / "kb.json").read_text(encoding="utf-8"))["documents"]}
    assert docs[DUP]["history"] == {
        "created": "2026-02-21",
        "updated": "2026-03-10",
        "authors": ["Ben Okafor", "Ana Lima"],
        "commits": 3,
    }
    assert docs[SURVIVE]["history"] == {
        "created": "2026-01-05",
        "updated": "2026-01-05",
        "authors": ["Ana Lima"],
        "commits": 1,
    }
    assert "authors" not in docs[DUP]["frontmatter"]  # git authors are history, not frontmatter


# -- checkouts without the full history ---------------------------------------------------------


@pytest.fixture(scope="module")
def shallow(repo: GitRepo) -> tuple[Path, Path, str]:
    clone = repo.shallow_clone(repo.path.parent / "shallow")
    site, stderr = build(clone, repo.path.parent / "shallow-site")
    return clone, site, stderr


def test_shallow_clone_builds_with_one_warning_naming_the_fix(shallow: tuple[Path, Path, str]) -> None:
    _, site, stderr = shallow
    warnings = [line for line in stderr.splitlines() if "KB702" in line]
    assert len(warnings) == 1 and "fetch-depth: 0" in warnings[0]
    assert "KB701" not in stderr
    assert (site / "index.html").is_file()


def test_shallow_clone_shows_no_wrong_dates(shallow: tuple[Path, Path, str]) -> None:
    """The clone's one commit is the last change of duplicate-cycles only: every other page was
    last changed long before, and the clone cannot know when, nor who else wrote it."""
    clone, site, _ = shallow
    footers = {
        rel: re.findall(r"Last updated [^<]*", emitted(clone, rel))
        for rel in (
            "principles/ownership.md",
            "loops/2025/2025-12-01-lost-notes.md",
            "loops/2026/2026-02-20-duplicate-cycles.md",
        )
    }
    assert footers["principles/ownership.md"] in ([], ["Last updated 2026-01-05 by Ana Lima · 1 contributor"])
    assert footers["loops/2025/2025-12-01-lost-notes.md"] in (
        [],
        ["Last updated 2026-01-05 by Ana Lima · 1 contributor"],
    )
    assert "2026-03-10" not in json.dumps(
        [
            d
            for d in json.loads((site / "kb.json").read_text(encoding="utf-8"))["documents"]
            if d["path"] != DUP
        ]
    )


def test_folder_that_is_no_repository_builds_with_one_kb701(tmp_path: Path) -> None:
    root = write_tree(tmp_path / "plain", SMALL)
    site, stderr = build(root, tmp_path / "site")
    warnings = [line for line in stderr.splitlines() if "KB701" in line]
    assert len(warnings) == 1 and "not inside a git repository" in warnings[0]
    assert "Last updated" not in emitted(root, "loops/2026/2026-01-10-notes-survive.md")
    docs = json.loads((site / "kb.json").read_text(encoding="utf-8"))["documents"]
    assert all(d["history"] is None for d in docs)
    assert not any('http-equiv="refresh"' in p.read_text(encoding="utf-8") for p in site.rglob("index.html"))
