"""The writer's commands: `kb new` (scaffolds that start out right) and `kb index`.

What a fresh scaffold lints to, by collection (the template's prompts are HTML comments,
which count as empty text):
- loop: only KB502 for each reached step (the default stage `observe` → the Observe section);
- product: every required field (from the schema) must be given, or it exits 2 naming the
  missing ones (on a terminal it asks); with them all it lints clean;
- principle: --summary is required; it lints to the KB603 warning every principle gets until a
  loop practices it.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest

from site_helpers import REPO, SMALL, principle_count, run_kb, snapshot, write_tree


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
    rel = new(
        root,
        "loop",
        "Two steps",
        "--principle",
        "ownership",
        "--principle",
        "root-cause",
        "--stage",
        "reflect",
        "--date",
        "2026-03-01",
        "--author",
        "Ana Lima",
    )
    assert rel == "content/loops/2026/2026-03-01-two-steps.md"
    text = (root / rel).read_text(encoding="utf-8")
    assert "principles:\n- ownership\n- root-cause\n" in text and "authors:\n- Ana Lima\n" in text
    codes = [code for code, _line, _col in findings_for(root, rel)]
    assert codes.count("KB502") == 2
    assert set(codes) <= {"KB502", "KB602"}  # KB602 only once 2026-03-01 is older than stale_days


def test_new_loop_with_the_same_title_exits_1_and_changes_nothing(root: Path) -> None:
    args = ["loop", "Faster search", "--product", "journal", "--principle", "ownership"]
    rel = new(root, *args)
    (root / rel).write_text(
        (root / rel).read_text().replace("<!-- What did users", "Users said so.\n<!-- What")
    )
    before = snapshot(root)
    result = run_kb(["new", *args], root)
    assert result.exit_code == 1
    assert "already exists" in result.output and "never overwrites" in result.output
    assert snapshot(root) == before


@pytest.mark.parametrize(
    ("option", "value", "suggestion"),
    [
        ("--product", "jurnal", "journal"),
        ("--principle", "ownershp", "ownership"),
    ],
)
def test_new_loop_with_an_unknown_reference_says_did_you_mean(
    root: Path, option: str, value: str, suggestion: str
) -> None:
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


def test_new_product_without_its_required_fields_exits_2_and_names_them(root: Path) -> None:
    before = snapshot(root)
    result = run_kb(["new", "product", "Search Box"], root)  # no terminal: nothing is asked
    assert result.exit_code == 2
    assert result.stderr == (
        "kb: error: kb new product needs summary (--summary), problem (--problem), users (--user) "
        "and owner (--owner): give them as options, or run it on a terminal to be asked\n"
    )
    assert snapshot(root) == before
    result = run_kb(["new", "product", "Search Box", "--summary", "Find any cycle.", "--no-input"], root)
    assert result.exit_code == 2 and "needs problem (--problem), users (--user) and owner" in result.stderr


def test_new_product_with_every_option_lints_clean(root: Path) -> None:
    rel = new(
        root,
        "product",
        "Search Box",
        "--summary",
        "Find any cycle.",
        "--owner",
        "Ana Lima",
        "--problem",
        "Cycles are hard to find.",
        "--user",
        "Product builders",
    )
    assert findings_for(root, rel) == []
    text = (root / rel).read_text(encoding="utf-8")
    assert "''" not in text and "status: idea\n" in text


def test_new_principle_without_summary_exits_2(root: Path) -> None:
    result = run_kb(["new", "principle", "Bias for action"], root)
    assert result.exit_code == 2
    assert "kb new principle needs summary (--summary): give it as an option" in result.stderr
    assert not (root / "content/principles/bias-for-action.md").exists()


def test_new_principle_lints_to_only_no_loop_yet(root: Path) -> None:
    rel = new(root, "principle", "Bias for action", "--summary", "Move first, then measure.")
    assert rel == "content/principles/bias-for-action.md"
    text = (root / rel).read_text(encoding="utf-8")
    assert "order: 3\n" in text  # after the existing principles' orders
    assert [code for code, _line, _col in findings_for(root, rel)] == ["KB603"]  # a warning


def test_new_loop_without_a_principle_exits_2(root: Path) -> None:
    result = run_kb(["new", "loop", "x"], root)
    assert result.exit_code == 2
    assert result.stderr == (
        "kb: error: kb new loop needs principles (--principle): give it as an option, "
        "or run it on a terminal to be asked\n"
    )
    assert not list((root / "content/loops").rglob("*-x.md"))


@pytest.mark.parametrize(
    ("given", "written"),
    [
        ("Ownership", "ownership"),  # a title
        ("ownership", "ownership"),
        ("take ownership", "ownership"),  # an alias, as [[take ownership]] resolves
        ("Root-cause problem solving", "root-cause"),
        ("root cause", "root-cause"),  # its id written with a space
    ],
)
def test_principle_option_takes_ids_titles_and_aliases(root: Path, given: str, written: str) -> None:
    rel = new(root, "loop", "Named", "--principle", given, "--product", "Loop Journal")
    text = (root / rel).read_text(encoding="utf-8")
    assert f"principles:\n- {written}\n" in text and "product: journal\n" in text
    assert [code for code, _l, _c in findings_for(root, rel)] == ["KB502"]


def test_the_same_principle_twice_is_written_once(root: Path) -> None:
    rel = new(root, "loop", "Twice", "--principle", "Ownership", "--principle", "take ownership")
    assert (root / rel).read_text(encoding="utf-8").count("- ownership") == 1


@pytest.mark.parametrize(
    ("date", "message"),
    [
        ("1/3/2026", "Error: --date must be YYYY-MM-DD, e.g. 2026-03-01 (not '1/3/2026')"),
        ("2026-3-1", "Error: --date must be YYYY-MM-DD, e.g. 2026-03-01 (not '2026-3-1')"),
        ("2026-02-30", "Error: --date 2026-02-30 is not a calendar date"),
    ],
)
def test_bad_dates_are_refused_in_words(root: Path, date: str, message: str) -> None:
    for args in (
        ["new", "loop", "x", "--principle", "ownership", "--date", date],
        ["next", "2026-01-10-notes-survive", "--date", date],
        ["index", "principles", "--since", date],
    ):
        result = run_kb(args, root)
        assert result.exit_code == 2, args
        expected = message.replace("--date", "--since") if args[0] == "index" else message
        assert expected in result.stderr and "%Y" not in result.stderr


def test_an_option_of_another_collection_is_refused(root: Path) -> None:
    result = run_kb(["new", "principle", "P", "--summary", "s", "--owner", "me", "--stage", "design"], root)
    assert result.exit_code == 1
    assert result.stderr == "kb: --owner and --stage do not apply to a principle\n"


def test_empty_handbook_says_there_are_no_principles(tmp_path: Path) -> None:
    root = write_tree(tmp_path / "empty", {"content/index.md": "# Home\n"})
    result = run_kb(["new", "loop", "First", "--principle", "ownership"], root)
    assert result.exit_code == 1
    assert result.stderr == (
        "kb: --principle: there are no principles in this handbook yet, so 'ownership' "
        "cannot be one; write the first with `kb new principle TITLE`\n"
    )
    result = run_kb(["new", "loop", "First"], root)
    assert result.exit_code == 2
    assert "There are no principles yet: write the first with `kb new principle TITLE`" in result.stderr
    assert new(root, "principle", "Ownership", "--summary", "Own it.") == "content/principles/ownership.md"
    assert new(root, "loop", "First", "--principle", "Ownership", "--date", "2026-03-01") == (
        "content/loops/2026/2026-03-01-first.md"
    )


def test_new_product_lints_clean_in_this_repository(tmp_path: Path) -> None:
    """The shipped handbook sets require_non_goals: --non-goal is a required option there."""
    import shutil

    repo = Path(__file__).resolve().parents[1]
    root = tmp_path / "copy"
    shutil.copytree(repo / "content", root / "content")
    shutil.copy(repo / "pyproject.toml", root / "pyproject.toml")
    args = [
        "product",
        "Search Box",
        "--summary",
        "Find any cycle.",
        "--owner",
        "Ana Lima",
        "--problem",
        "Cycles are hard to find.",
        "--user",
        "Product builders",
        "--status",
        "building",
        "--principle",
        "Ownership",
        "--principle",
        "root cause",
    ]
    result = run_kb(["new", *args], root)
    assert result.exit_code == 2 and "needs non_goals (--non-goal)" in result.stderr
    rel = new(root, *args, "--non-goal", "Editing loops", "--non-goal", "Search outside the handbook")
    text = (root / rel).read_text(encoding="utf-8")
    assert "non_goals:\n- Editing loops\n- Search outside the handbook\n" in text
    assert "principles:\n- ownership\n- root-cause-problem-solving\n" in text
    assert findings_for(root, rel) == []
    loop = new(
        root,
        "loop",
        "Faster search",
        "--principle",
        "ownership",
        "--product",
        "Search Box",
        "--stage",
        "design",
        "--date",
        "2026-11-30",
    )
    assert {code for code, _l, _c in findings_for(root, loop)} == {"KB502"}  # the reached steps to write
    principle = new(root, "principle", "Bias for action", "--summary", "Move first, then measure.")
    assert [code for code, _l, _c in findings_for(root, principle)] == ["KB603"]


def test_prompts_for_missing_fields_on_a_terminal(root: Path) -> None:
    """A real process on a pseudo-terminal: each missing required field is asked for."""
    import os
    import pty
    import subprocess
    import sys

    master, slave = pty.openpty()
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1] / "builder")}
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "kb",
            "--root",
            str(root),
            "new",
            "product",
            "Search Box",
            "--summary",
            "Find any cycle.",
        ],
        stdin=slave,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        env=env,
    )
    os.close(slave)
    os.write(master, b"Cycles are hard to find.\nProduct builders; Coaches\nAna Lima\n")
    out, _ = proc.communicate(timeout=60)
    os.close(master)
    assert proc.returncode == 0, out
    text = (root / "content/products/search-box.md").read_text(encoding="utf-8")
    assert "problem: Cycles are hard to find.\n" in text
    assert "users:\n- Product builders\n- Coaches\n" in text and "owner: Ana Lima\n" in text
    assert b"Owner (person or team accountable)" in out
    assert findings_for(root, "content/products/search-box.md") == []


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
        {
            "id": "ownership",
            "title": "Ownership",
            "summary": "Treat the problems you touch as yours to see through.",
            "loops": ["2026-01-10-notes-survive", "2025-12-01-lost-notes"],
            "products": ["journal"],
            "last_practiced": "2026-01-10",
        },
        {
            "id": "root-cause",
            "title": "Root-cause problem solving",
            "summary": "Fix the cause, not the symptom.",
            "loops": ["2026-02-20-duplicate-cycles", "2026-01-10-notes-survive"],
            "products": ["inbox"],
            "last_practiced": "2026-02-20",
        },
    ]


def test_index_products_json_shape_and_counts(root: Path) -> None:
    result = run_kb(["index", "products", "--format", "json"], root)
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout) == [
        {
            "id": "inbox",
            "title": "Feedback Inbox",
            "status": "building",
            "owner": "Team Inbox",
            "loops": ["2026-02-20-duplicate-cycles"],
            "depends_on": [],
            "used_by": ["journal"],
        },
        {
            "id": "journal",
            "title": "Loop Journal",
            "status": "live",
            "owner": "Ana Lima",
            "loops": ["2026-01-10-notes-survive", "2025-12-01-lost-notes"],
            "depends_on": ["inbox"],
            "used_by": [],
        },
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
    """The shipped handbook: a row per principle file, each loop counted once per principle it
    practices (counted from the content, so an editor adding a principle breaks nothing)."""
    repo = REPO
    result = run_kb(["index", "principles", "--format", "json"], repo)
    assert result.exit_code == 0, result.output
    rows = json.loads(result.stdout)
    assert len(rows) == principle_count(repo) > 0
    data = json.loads(run_kb(["index", "products", "--format", "json"], repo).stdout)
    loops = {p.stem: p.read_text(encoding="utf-8") for p in (repo / "content/loops").rglob("*.md")}
    for row in rows:
        assert len(row["loops"]) == len(set(row["loops"]))
        assert all(loop in loops for loop in row["loops"])
    for row in data:
        assert all(f"product: {row['id']}" in loops[loop] for loop in row["loops"])


def test_index_takes_the_singular_too(root: Path) -> None:
    for singular, plural in (("principle", "principles"), ("product", "products")):
        one, other = run_kb(["index", singular], root), run_kb(["index", plural], root)
        assert one.exit_code == 0 and one.stdout == other.stdout


def test_index_since_applies_to_products(root: Path) -> None:
    result = run_kb(["index", "products", "--format", "json", "--since", "2026-01-01"], root)
    assert result.exit_code == 0, result.output
    loops = {row["id"]: row["loops"] for row in json.loads(result.stdout)}
    assert loops == {"inbox": ["2026-02-20-duplicate-cycles"], "journal": ["2026-01-10-notes-survive"]}
    text = run_kb(["index", "products", "--since", "2026-02-01"], root).stdout
    assert "| Loop Journal | live | Ana Lima | 0 | inbox | — |" in text
