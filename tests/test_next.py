"""`kb next LOOP`: scaffold the next cycle of a loop (step 5, repeat).

The new file follows LOOP, keeps its product and principles, and carries LOOP's "Repeat" notes
into its Observe prompt as an HTML comment, so until the writer observes something the new file
lints with exactly one finding: KB502 for its empty Observe section.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from click.testing import Result

from site_helpers import SMALL, run_kb, snapshot, write_tree

pytestmark = pytest.mark.usefixtures("frozen_today")  # 2026-12-01: the new cycles are not stale
PREVIOUS = "2026-01-10-notes-survive"
PREVIOUS_PATH = f"content/loops/2026/{PREVIOUS}.md"
NEW_PATH = "content/loops/2026/2026-11-20-notes-survive-cycle-3.md"  # it follows lost-notes


@pytest.fixture
def root(tmp_path: Path) -> Path:
    return write_tree(tmp_path / "hb", SMALL)


def next_(root: Path, *args: str) -> Result:
    return run_kb(["next", *args], root)


def split(text: str) -> tuple[dict, str]:
    _, meta, body = text.split("---\n", 2)
    return yaml.safe_load(meta), body


def lint_file(root: Path, rel: str) -> list[tuple[str, int]]:
    result = run_kb(["lint", "--format", "json", str(root / rel)], root)
    assert result.exit_code in (0, 1), result.output
    return [(f["code"], f["line"]) for f in json.loads(result.stdout)]


def test_next_cycle_follows_the_loop_with_its_product_and_principles(root: Path) -> None:
    result = next_(root, PREVIOUS, "--date", "2026-11-20")
    assert result.exit_code == 0, result.output
    assert result.stdout == NEW_PATH + "\n" and result.stderr == ""
    meta, _ = split((root / NEW_PATH).read_text(encoding="utf-8"))
    assert meta == {
        "title": "Notes survive (cycle 3)",
        "date": __import__("datetime").date(2026, 11, 20),
        "stage": "observe",
        "principles": ["ownership", "root-cause"],
        "product": "journal",
        "follows": PREVIOUS,
    }


def test_repeat_notes_become_the_observe_prompt_and_lint_only_kb502(root: Path) -> None:
    next_(root, PREVIOUS, "--date", "2026-11-20")
    text = (root / NEW_PATH).read_text(encoding="utf-8")
    _, body = split(text)
    observe = body.split("## 1. Observe\n", 1)[1].split("## 2. Reflect", 1)[0]
    assert "<!-- From the previous cycle's Repeat notes:\nWatch for duplicate cycles.\n-->" in observe
    for step in ("## 2. Reflect", "## 3. Design", "## 4. Implement", "## 5. Repeat"):
        assert step in body
    assert lint_file(root, NEW_PATH) == [("KB502", text.splitlines().index("## 1. Observe") + 1)]


def test_the_whole_handbook_still_lints_as_before_plus_kb502(root: Path) -> None:
    before = run_kb(["lint", "--format", "json"], root)
    next_(root, PREVIOUS, "--date", "2026-11-20")
    after = run_kb(["lint", "--format", "json"], root)
    added = [f for f in json.loads(after.stdout) if f not in json.loads(before.stdout)]
    assert [(f["path"], f["code"]) for f in added] == [(NEW_PATH, "KB502")]


def test_title_option_and_a_loop_not_at_repeat_yet(root: Path) -> None:
    result = next_(
        root, "2026-02-20-duplicate-cycles", "--title", "One owner per quote", "--date", "2026-11-21"
    )
    assert result.exit_code == 0, result.output
    rel = "content/loops/2026/2026-11-21-one-owner-per-quote.md"
    assert result.stdout == rel + "\n"
    assert result.stderr == "kb: note: 2026-02-20-duplicate-cycles is at stage 'design', not 'repeat' yet\n"
    text = (root / rel).read_text(encoding="utf-8")
    meta, body = split(text)
    assert (meta["product"], meta["principles"], meta["follows"]) == (
        "inbox",
        ["root-cause"],
        "2026-02-20-duplicate-cycles",
    )
    assert "previous cycle" not in body  # no Repeat section, nothing to carry
    assert lint_file(root, rel) == [("KB502", text.splitlines().index("## 1. Observe") + 1)]


def test_unknown_loop_exits_1_with_did_you_mean(root: Path) -> None:
    before = snapshot(root)
    result = next_(root, "2026-01-10-notes-survive-typo")
    assert result.exit_code == 1
    assert result.stderr == (
        "kb: LOOP: unknown loop '2026-01-10-notes-survive-typo' (did you mean '2026-01-10-notes-survive'?)\n"
    )
    assert result.stdout == "" and snapshot(root) == before


def test_never_overwrites(root: Path) -> None:
    first = next_(root, PREVIOUS, "--date", "2026-11-20")
    assert first.exit_code == 0
    (root / NEW_PATH).write_text("my observations\n", encoding="utf-8")
    before = snapshot(root)
    again = next_(root, PREVIOUS, "--date", "2026-11-20")
    assert again.exit_code == 1
    assert "already exists" in again.stderr and "never overwrites" in again.stderr
    assert snapshot(root) == before


def test_notes_cannot_close_the_comment_early(root: Path) -> None:
    """Repeat notes holding `-->`, `--->` or `--!>` stay inside the prompt's comment."""
    notes = "Ship it ---> then measure.\nA--B, C-->D, E--!>F, and <!-- an open comment\nG -"
    previous = SMALL[PREVIOUS_PATH].replace("Watch for duplicate cycles.", notes)
    (root / PREVIOUS_PATH).write_text(previous, encoding="utf-8")
    assert next_(root, PREVIOUS, "--date", "2026-11-20").exit_code == 0
    text = (root / NEW_PATH).read_text(encoding="utf-8")
    comment = text.split("<!-- From the previous cycle's Repeat notes:\n", 1)[1].split("\n-->\n", 1)[0]
    assert "--" not in comment
    assert comment.replace(" ", "") == notes.replace(" ", "")  # only spaces added between dashes
    assert lint_file(root, NEW_PATH) == [("KB502", text.splitlines().index("## 1. Observe") + 1)]


def test_notes_keep_subheadings_and_drop_comments_and_setext_underlines(root: Path) -> None:
    previous = SMALL[PREVIOUS_PATH].replace(
        "## 5. Repeat\n\nWatch for duplicate cycles.\n",
        "The repeat step\n---------------\n\n<!-- a private aside -->\nWatch for duplicate cycles.\n\n"
        "### Questions\n\nDo coaches search?\n",
    )
    (root / PREVIOUS_PATH).write_text(previous, encoding="utf-8")
    assert run_kb(["lint", str(root / PREVIOUS_PATH)], root).exit_code == 0
    next_(root, PREVIOUS, "--date", "2026-11-20")
    text = (root / NEW_PATH).read_text(encoding="utf-8")
    assert (
        "<!-- From the previous cycle's Repeat notes:\n"
        "Watch for duplicate cycles.\n\n### Questions\n\nDo coaches search?\n-->"
    ) in text
    assert "private aside" not in text
    assert lint_file(root, NEW_PATH) == [("KB502", text.splitlines().index("## 1. Observe") + 1)]


def test_previous_loop_with_a_broken_reference_says_so(root: Path) -> None:
    (root / PREVIOUS_PATH).write_text(
        SMALL[PREVIOUS_PATH].replace("root-cause]", "root-caus]"), encoding="utf-8"
    )
    before = snapshot(root)
    result = next_(root, PREVIOUS, "--date", "2026-11-20")
    assert result.exit_code == 1
    assert result.stderr == (
        f"kb: {PREVIOUS}: unknown principle 'root-caus' (did you mean 'root-cause'?); fix it first\n"
    )
    assert snapshot(root) == before


def test_next_twice_numbers_the_cycles(root: Path) -> None:
    assert next_(root, PREVIOUS, "--date", "2026-11-20").exit_code == 0
    third = NEW_PATH.rsplit("/", 1)[1].removesuffix(".md")
    result = next_(root, third, "--date", "2026-11-25")
    assert result.exit_code == 0, result.output
    rel = result.stdout.strip()
    assert rel == "content/loops/2026/2026-11-25-notes-survive-cycle-4.md"
    meta, _ = split((root / rel).read_text(encoding="utf-8"))
    assert meta["title"] == "Notes survive (cycle 4)" and meta["follows"] == third
    # an older handbook's "(next cycle)" title is replaced, not stacked
    old = root / "content/loops/2026/2026-11-25-notes-survive-cycle-4.md"
    old.write_text(
        old.read_text(encoding="utf-8").replace("(cycle 4)", "(next cycle) (next cycle)"), encoding="utf-8"
    )
    meta, _ = split((root / next_(root, old.stem, "--date", "2026-11-26").stdout.strip()).read_text("utf-8"))
    assert meta["title"] == "Notes survive (cycle 5)"


def test_a_prefix_gets_did_you_mean(root: Path) -> None:
    result = next_(root, "2026-01")
    assert result.exit_code == 1
    assert result.stderr == "kb: LOOP: unknown loop '2026-01' (did you mean '2026-01-10-notes-survive'?)\n"
    result = next_(root, "2026")
    assert result.exit_code == 1
    assert result.stderr == (
        "kb: LOOP: unknown loop '2026' (did you mean one of 2026-01-10-notes-survive, "
        "2026-02-20-duplicate-cycles?)\n"
    )


def test_the_known_list_is_cut_with_an_ellipsis(root: Path) -> None:
    loop = SMALL[PREVIOUS_PATH]
    for day in range(1, 13):
        (root / f"content/loops/2026/2026-03-{day:02d}-cycle.md").write_text(loop, encoding="utf-8")
    result = next_(root, "zzz")
    assert result.exit_code == 1
    known = result.stderr.split("(known: ", 1)[1]
    assert known.endswith(", … (5 more))\n")  # 15 loops
    assert len(known.split(", ")) == 11  # ten ids and the ellipsis
