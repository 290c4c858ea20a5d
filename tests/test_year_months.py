"""A subject's year of many loops lists its months, each with a page (`kb.emit.YEAR_MOST`).

At 10,000 loops a principle's year page held 600 loops and a person's 500, 100 kB of table
rendered again whenever one of them was retitled. Past `YEAR_MOST` loops, the year page shows a
row per month and each month has a page of its loops; a smaller year still lists its loops.
"""

from __future__ import annotations

import re
from pathlib import Path

from gitrepo import GitRepo
from kb.emit import YEAR_MOST
from site_helpers import many_loops, run_kb, write_tree


def _handbook(tmp_path: Path, loops: int) -> Path:
    root = write_tree(tmp_path / "hb", many_loops(loops))
    repo = GitRepo(root)
    repo.git("add", "-A")
    repo.git("commit", "-q", "-m", "handbook")
    return root


def test_a_year_past_year_most_lists_its_months_and_each_month_its_loops(tmp_path: Path) -> None:
    count = 2 * YEAR_MOST + 10  # every one of them for the product, half for each principle
    root = _handbook(tmp_path, count)
    site = tmp_path / "site"
    result = run_kb(["build", "-q", "--out", str(site)], root)
    assert result.exit_code == 0, result.output
    docs = root / ".kb-cache" / "docs"
    year = (docs / "products/journal/2024.md").read_text(encoding="utf-8")
    assert f"{count} loop cycles of 2024" in year and "Each month's page lists its loop cycles" in year
    assert "Generated cycle" not in year  # months, not loops
    months = sorted((docs / "products/journal/2024").glob("*.md"))
    assert [m.stem for m in months] == [f"{m:02d}" for m in range(1, 13)]
    for month in months:  # the year page links each month's page, with its count
        assert f"](2024/{month.name})" in year
    listed = []
    for month in months:
        text = month.read_text(encoding="utf-8")
        assert text.startswith("---\ntitle: ") and "(all of [2024](../2024.md))" in text
        listed += re.findall(r"\[Generated cycle (\d+)\]", text)
    assert sorted(map(int, listed)) == list(range(count))  # each loop in one month's page, once
    assert (site / "products/journal/2024/07/index.html").is_file()
    # a principle's year of more than YEAR_MOST loops too; a person's smaller year lists its loops
    assert "Each month's page" in (docs / "principles/ownership/2024.md").read_text(encoding="utf-8")
    person = (docs / "people/author-0/2024.md").read_text(encoding="utf-8")
    assert "Each month's page" not in person and "[Generated cycle 0]" in person
    assert not (docs / "people/author-0/2024").exists()


def test_a_file_where_a_subject_month_page_goes_is_kb302(tmp_path: Path) -> None:
    root = _handbook(tmp_path, 3)
    write_tree(root, {"content/principles/ownership/2024/01.md": "# January\n\nNotes.\n"})
    result = run_kb(["lint"], root)
    assert "content/principles/ownership/2024/01.md:1:1: KB302" in result.output, result.output
