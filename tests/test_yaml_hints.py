"""KB103 hints for the YAML mistakes writers make most, through `kb lint`: a colon in a plain
value, a mis-indented list item or key, an unclosed quote or bracket. The position stays the
parser's own (line and column in the file)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from conftest import BASE, PRINCIPLE, make_kb
from site_helpers import run_kb

HEAD = "---\n"
BODY = "---\n\n## Why it matters\n\nText.\n"


def lint_principle(tmp_path: Path, front: str) -> dict:
    root = make_kb(tmp_path / "hb", {**BASE, PRINCIPLE: HEAD + front + BODY})
    result = run_kb(["lint", "--format", "json", str(root / PRINCIPLE)], root)
    assert result.exit_code == 1, result.output
    found = [f for f in json.loads(result.stdout) if f["code"] == "KB103"]
    assert len(found) == 1, found
    return found[0]


@pytest.mark.parametrize(("front", "line", "col", "hint"), [
    ("title: Support: agents answer in an hour\nsummary: s\n", 2, 15,
     'quote the value: title: "Support: agents answer in an hour"'),
    ('title: x\nsummary: Why: the "best" way\n', 3, 13, "quote the value: summary: 'Why: the \"best\" way'"),
    ("title: x\nsummary: s\naliases:\n  - a\n - b\n", 6, 2,
     "this list item is indented differently from the items above it: indent every '- item' of a "
     "list by the same number of spaces"),
    ("title: x\naliases:\n  - a\n summary: b\n", 5, 2, "this line's indentation matches no key above"),
    ('title: "Ownership\nsummary: s\n', 2, 8,
     "the quote \" opened on line 2 is never closed: end the value with \""),
    ("title: x\nsummary: s\naliases: [a, b\n", 4, 10,
     "the '[' opened on line 4 is never closed: end it with ']' on the same line, or write one "
     "'- item' per line"),
    ('title: "Own" ership\nsummary: s\n', 2, 14,
     "text follows the closing quote: quote the whole value: title: '\"Own\" ership'"),
])  # fmt: skip
def test_hint(tmp_path: Path, front: str, line: int, col: int, hint: str) -> None:
    found = lint_principle(tmp_path, front)
    assert (found["line"], found["col"]) == (line, col)
    assert found["message"].startswith("YAML syntax error: ")
    assert found["hint"].startswith(hint)


def test_long_values_are_shortened_in_the_hint(tmp_path: Path) -> None:
    found = lint_principle(tmp_path, "title: T\nsummary: Note: " + "word " * 30 + "\n")
    assert found["hint"].startswith('quote the value: summary: "Note: word')
    assert found["hint"].endswith('…"') and len(found["hint"]) < 100


def test_text_output_shows_the_hint(tmp_path: Path) -> None:
    root = make_kb(tmp_path / "hb", {**BASE, PRINCIPLE: HEAD + "title: Support: agents\nsummary: s\n" + BODY})
    result = run_kb(["lint"], root)
    assert result.exit_code == 1
    assert (
        f"{PRINCIPLE}:2:15: KB103 YAML syntax error: mapping values are not allowed in this context "
        '(quote the value: title: "Support: agents")'
    ) in result.stdout
