"""The writer's commands: `kb new` (scaffolds that start out right) and `kb index`.

What a fresh scaffold lints to, by collection (the template's prompts are HTML comments,
which count as empty text):
- loop: only KB502 for each reached step (the default stage `observe` → the Observe section);
- product without options: KB204 for the four blank required fields — summary, problem,
  users (an empty list) and owner; with --summary/--problem/--user/--owner it lints clean;
- principle without --summary: KB204 for the blank summary, and the KB603 warning every
  principle gets until a loop practices it.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest

from site_helpers import SMALL, run_kb, snapshot, write_tree


@pytest.fixture
def root(tmp_path: Path) -> Path:
    return write_tree(tmp_path / "hb", SMALL)


def findings_for(root: Path, rel: str) -> list[tuple[str, int, int]]:
    """(code, line, col) of every finding `kb lint --format json` reports in one file."""
    result = run_kb(["lint", "--format", "json", str(root / rel)], root)
    assert result.exit_code in (0, 1), result.output
    data = json.loads(result.stdout)
    assert all(f["path"] == rel for f in data)
    return [(f["code"], f["line"], f["col"]) for f in data]


def new(root: Path, *args: str) -> str:
    result = run_kb(["new", *args], root)
    assert result.exit_code == 0, result.output
    return result.stdout.strip()


# -- kb new loop --------------------------------------------------------------------------------

def test_new_loop_lints_to_only_kb502_for_the_untouched_observe_prompt(root: Path) -> None:
    rel = new(root, "loop", "Faster search", "--product", "journal", "--principle", "ownership")
    today = dt.date.today()
    assert rel == f"content/loops/{today:%Y}/{today.isoformat()}-faster-search.md"
    text = (root / rel).read_text(encoding="utf-8")
    assert text.startswith("---\ntitle: Faster search\n")
    for step in ("## 1. Observe", "## 2. Reflect", "## 3. Design", "## 4. Implement", "## 5. Repeat"):
        assert step in text
    lines = text.splitlines()
    assert findings_for(root, rel) == [("KB502", lines.index("## 1. Observe") + 1, 1)]


def test_new_loop_at_a_later_stage_reports_every_reached_step(root: Path) -> None:
    rel = new(root, "loop", "Two steps", "--principle", "ownership", "--principle", "root-cause",
              "--stage", "reflect", "--date", "2026-03-01", "--author", "Ana Lima")
    assert rel == "content/loops/2026/2026-03-01-two-steps.md"
    text = (root / rel).read_text(encoding="utf-8")
    assert "principles:\n- ownership\n- root-cause\n" in text and "authors:\n- Ana Lima\n" in text
    codes = [code for code, _line, _col in findings_for(root, rel)]
    assert codes.count("KB502") == 2
    assert set(codes) <= {"KB502", "KB602"}  # KB602 only once 2026-03-01 is older than stale_days


def test_new_loop_with_the_same_title_exits_1_and_changes_nothing(root: Path) -> None:
    args = ["loop", "Faster search", "--product", "journal", "--principle", "ownership"]
    rel = new(root, *args)
    (root / rel).write_text((root / rel).read_text().replace("<!-- What did users", "Users said so.\n<!-- What"))
    before = snapshot(root)
    result = run_kb(["new", *args], root)
    assert result.exit_code == 1
    assert "already exists" in result.output and "never overwrites" in result.output
    assert snapshot(root) == before


@pytest.mark.parametrize(("option", "value", "suggestion"), [
    ("--product", "jurnal", "journal"),
    ("--principle", "ownershp", "ownership"),
])
def test_new_loop_with_an_unknown_reference_says_did_you_mean(root: Path, option: str, value: str,
                                                              suggestion: str) -> None:
    before = snapshot(root)
    args = ["new", "loop", "Other", option, value]
    if option == "--product":
        args += ["--principle", "ownership"]
    result = run_kb(args, root)
    assert result.exit_code == 1
    assert f"unknown {option[2:]} '{value}' (did you mean '{suggestion}'?)" in result.output
    assert snapshot(root) == before


def test_new_with_an_empty_title_exits_1(root: Path) -> None:
    result = run_kb(["new", "loop", "  ", "--principle", "ownership"], root)
    assert result.exit_code == 1
    assert "title is empty" in result.output


# -- kb new product / principle -----------------------------------------------------------------

def test_new_product_lints_to_only_its_blank_required_fields(root: Path) -> None:
    rel = new(root, "product", "Search Box")
    assert rel == "content/products/search-box.md"
    found = findings_for(root, rel)
    assert {code for code, _line, _col in found} == {"KB204"}
    lines = (root / rel).read_text(encoding="utf-8").splitlines()
    blank = {lines[line - 1].split(":")[0] for _code, line, _col in found}
    assert blank == {"summary", "problem", "users", "owner"}


def test_new_product_with_every_option_lints_clean(root: Path) -> None:
    rel = new(root, "product", "Search Box", "--summary", "Find any cycle.", "--owner", "Ana Lima",
              "--problem", "Cycles are hard to find.", "--user", "Product builders")
    assert findings_for(root, rel) == []


def test_new_principle_lints_to_its_blank_summary_and_no_loop_yet(root: Path) -> None:
    rel = new(root, "principle", "Bias for action")
    assert rel == "content/principles/bias-for-action.md"
    text = (root / rel).read_text(encoding="utf-8")
    assert "order: 3\n" in text  # after the existing principles' orders
    found = findings_for(root, rel)
    assert sorted(code for code, _line, _col in found) == ["KB204", "KB603"]
    lines = text.splitlines()
    assert [lines[line - 1].split(":")[0] for code, line, _col in found if code == "KB204"] == ["summary"]


def test_new_principle_then_the_site_builds(root: Path, tmp_path: Path) -> None:
    new(root, "principle", "Bias for action", "--summary", "Move first, then measure.")
    result = run_kb(["build", "--out", str(tmp_path / "site")], root)
    assert result.exit_code == 0, result.output
    assert "Move first, then measure." in (tmp_path / "site/principles/index.html").read_text()


# -- kb index ------------------------------------------------------------------------------------

def test_index_principles_json_shape_and_counts(root: Path) -> None:
    result = run_kb(["index", "principles", "--format", "json"], root)
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout) == [
        {"id": "ownership", "title": "Ownership",
         "summary": "Treat the problems you touch as yours to see through.",
         "loops": ["2026-01-10-notes-survive", "2025-12-01-lost-notes"],
         "products": ["journal"], "last_practiced": "2026-01-10"},
        {"id": "root-cause", "title": "Root-cause problem solving", "summary": "Fix the cause, not the symptom.",
         "loops": ["2026-02-20-duplicate-cycles", "2026-01-10-notes-survive"],
         "products": ["inbox"], "last_practiced": "2026-02-20"},
    ]


def test_index_products_json_shape_and_counts(root: Path) -> None:
    result = run_kb(["index", "products", "--format", "json"], root)
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout) == [
        {"id": "inbox", "title": "Feedback Inbox", "status": "building", "owner": "Team Inbox",
         "loops": ["2026-02-20-duplicate-cycles"], "depends_on": [], "used_by": ["journal"]},
        {"id": "journal", "title": "Loop Journal", "status": "live", "owner": "Ana Lima",
         "loops": ["2026-01-10-notes-survive", "2025-12-01-lost-notes"], "depends_on": ["inbox"],
         "used_by": []},
    ]


def test_index_principles_markdown(root: Path) -> None:
    result = run_kb(["index", "principles"], root)
    assert result.exit_code == 0, result.output
    assert result.stdout == (
        "| Principle | Summary | Loops | Products | Last practiced |\n"
        "| --- | --- | --- | --- | --- |\n"
        "| Ownership | Treat the problems you touch as yours to see through. | 2 | 1 | 2026-01-10 |\n"
        "| Root-cause problem solving | Fix the cause, not the symptom. | 2 | 1 | 2026-02-20 |\n"
    )


def test_index_products_markdown(root: Path) -> None:
    result = run_kb(["index", "products"], root)
    assert result.exit_code == 0, result.output
    assert result.stdout == (
        "| Product | Status | Owner | Loops | Depends on | Used by |\n"
        "| --- | --- | --- | --- | --- | --- |\n"
        "| Feedback Inbox | building | Team Inbox | 1 | — | journal |\n"
        "| Loop Journal | live | Ana Lima | 2 | inbox | — |\n"
    )


def test_index_escapes_pipes_in_markdown_cells(root: Path) -> None:
    path = root / "content/principles/ownership.md"
    path.write_text(path.read_text().replace("see through.", "see through | or hand over."))
    result = run_kb(["index", "principles"], root)
    assert "see through \\| or hand over." in result.stdout


def test_index_counts_match_the_shipped_handbook() -> None:
    """The shipped handbook: 14 principles, each loop counted once per principle it practices."""
    repo = Path(__file__).resolve().parents[1]
    result = run_kb(["index", "principles", "--format", "json"], repo)
    assert result.exit_code == 0, result.output
    rows = json.loads(result.stdout)
    assert len(rows) == 14
    data = json.loads(run_kb(["index", "products", "--format", "json"], repo).stdout)
    loops = {p.stem: p.read_text(encoding="utf-8") for p in (repo / "content/loops").rglob("*.md")}
    for row in rows:
        assert len(row["loops"]) == len(set(row["loops"]))
        assert all(loop in loops for loop in row["loops"])
    for row in data:
        assert all(f"product: {row['id']}" in loops[loop] for loop in row["loops"])
