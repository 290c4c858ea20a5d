"""Adopting a handbook that already has findings: baselines, `exclude` globs, inline suppressions.

A team adopting kb records today's findings (`--write-baseline`), gates only new ones
(`--baseline`), and cleans up the old ones at its own pace; files it is not ready to check at all
are excluded by glob, and a single known false positive is silenced where it stands.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import Result

from conftest import BASE, INDEX, LOOP, make_base
from site_helpers import run_kb

BROKEN = "content/handbook/legacy.md"
LEGACY = """\
# Legacy notes

See [[old-page]] and [the guide](guide.md).

Also [[old-page]] again, and [[ownership#nope]].
"""
INDEX_LINKING_LEGACY = BASE[INDEX] + "\nOld notes: [legacy](handbook/legacy.md).\n"
pytestmark = pytest.mark.usefixtures("frozen_today")


@pytest.fixture
def root(tmp_path: Path) -> Path:
    return make_base(tmp_path / "hb", {BROKEN: LEGACY, INDEX: INDEX_LINKING_LEGACY})


def lint(root: Path, *args: str) -> Result:
    return run_kb(["lint", *args], root)


def codes(result: Result) -> list[tuple[str, int, str]]:
    return [(f["path"], f["line"], f["code"]) for f in json.loads(result.stdout)]


# -- --write-baseline / --baseline ----------------------------------------------------------


def test_write_baseline_records_every_finding_and_exits_0(root: Path, tmp_path: Path) -> None:
    baseline = tmp_path / "baseline.json"
    assert lint(root).exit_code == 1
    result = lint(root, "--write-baseline", str(baseline))
    assert result.exit_code == 0, result.output
    assert f"kb: wrote 4 findings to {baseline}" in result.stderr
    data = json.loads(baseline.read_text(encoding="utf-8"))
    assert data["kb_baseline"] == 1
    assert [(e["path"], e["code"], e["count"]) for e in data["findings"]] == [
        (BROKEN, "KB404", 2),
        (BROKEN, "KB406", 1),
        (BROKEN, "KB407", 1),
    ]
    assert all("line" not in e for e in data["findings"])  # edits that move lines keep matching


def test_baseline_hides_exactly_the_recorded_findings(root: Path, tmp_path: Path) -> None:
    baseline = tmp_path / "baseline.json"
    lint(root, "--write-baseline", str(baseline))
    result = lint(root, "--baseline", str(baseline))
    assert result.exit_code == 0, result.output
    assert result.stdout == "0 errors, 0 warnings in 5 files\n"
    assert f"kb: 4 known findings hidden by the baseline {baseline}" in result.stderr


def test_baseline_still_matches_when_lines_move(root: Path, tmp_path: Path) -> None:
    baseline = tmp_path / "baseline.json"
    lint(root, "--write-baseline", str(baseline))
    (root / BROKEN).write_text(
        LEGACY.replace("# Legacy notes\n", "# Legacy notes\n\nA new intro.\n\n"), encoding="utf-8"
    )
    assert lint(root, "--baseline", str(baseline)).exit_code == 0


def test_a_new_finding_still_fails(root: Path, tmp_path: Path) -> None:
    baseline = tmp_path / "baseline.json"
    lint(root, "--write-baseline", str(baseline))
    (root / BROKEN).write_text(
        LEGACY + "\nAnd a third [[old-page]], and [[brand-new-typo]].\n", encoding="utf-8"
    )
    result = lint(root, "--baseline", str(baseline), "--format", "json")
    assert result.exit_code == 1
    assert codes(result) == [(BROKEN, 7, "KB404"), (BROKEN, 7, "KB404")]  # the third old-page, the typo
    assert "2 errors, 0 warnings in 5 files" in result.stderr


def test_a_new_finding_in_another_file_still_fails(root: Path, tmp_path: Path) -> None:
    baseline = tmp_path / "baseline.json"
    lint(root, "--write-baseline", str(baseline))
    (root / LOOP).write_text(
        BASE[LOOP].replace("principles: [ownership]", "principles: [ownershp]"), encoding="utf-8"
    )
    result = lint(root, "--baseline", str(baseline))
    assert result.exit_code == 1
    assert result.stdout.startswith(f"{LOOP}:5:14: KB401 unknown principle 'ownershp'")


def test_fixed_findings_leave_the_baseline_harmless(root: Path, tmp_path: Path) -> None:
    baseline = tmp_path / "baseline.json"
    lint(root, "--write-baseline", str(baseline))
    (root / BROKEN).write_text("# Legacy notes\n\nAll fixed: [[ownership]].\n", encoding="utf-8")
    result = lint(root, "--baseline", str(baseline))
    assert result.exit_code == 0 and "known findings hidden" not in result.stderr


@pytest.mark.parametrize(
    "text",
    [
        "",
        "not json",
        "[]",
        "{}",
        '{"findings": 5}',
        '{"findings": ["x"]}',
        '{"findings": [{"path": "a.md", "code": "KB404"}]}',
        '{"findings": [{"path": "a.md", "code": "KB404", "message": "m", "count": "many"}]}',
        '{"findings": [{"path": ["a.md"], "code": "KB404", "message": "m"}]}',
        "\udcff",
    ],
)
def test_corrupt_baseline_exits_2_with_a_clean_message(root: Path, tmp_path: Path, text: str) -> None:
    baseline = tmp_path / "baseline.json"
    baseline.write_bytes(text.encode("utf-8", "surrogateescape"))
    result = lint(root, "--baseline", str(baseline))
    assert result.exit_code == 2
    assert result.stderr.startswith(f"kb: error: cannot read the baseline {baseline}: write it with")
    assert len(result.stderr.splitlines()) == 1 and result.stdout == ""


def test_missing_baseline_exits_2(root: Path, tmp_path: Path) -> None:
    result = lint(root, "--baseline", str(tmp_path / "nope.json"))
    assert result.exit_code == 2 and result.stderr.startswith("kb: error: cannot read the baseline")


def test_unwritable_baseline_exits_2(root: Path, tmp_path: Path) -> None:
    result = lint(root, "--write-baseline", str(tmp_path / "no" / "such" / "dir" / "b.json"))
    assert result.exit_code == 2 and result.stderr.startswith("kb: error: cannot write the baseline")


# -- exclude ----------------------------------------------------------------------------------


def test_exclude_globs_hide_files_entirely(tmp_path: Path) -> None:
    drafts = {
        "content/handbook/drafts/wip.md": "---\ntitle: [unclosed\n---\n",
        "content/handbook/drafts/deeper/more.md": "no title, no frontmatter, [[nowhere]]\n",
        "content/handbook/scratch.md": "# Scratch\n\n[[nowhere]]\n",
    }
    root = make_base(tmp_path / "hb", drafts)
    assert lint(root).exit_code == 1
    (root / "pyproject.toml").write_text(
        '[tool.kb]\nexclude = ["handbook/drafts/*", "handbook/scratch.md"]\n', encoding="utf-8"
    )
    result = lint(root)
    assert result.exit_code == 0, result.output
    assert result.stdout == "0 errors, 0 warnings in 4 files\n"  # the four files of BASE only


def test_exclude_in_kb_toml_and_a_link_to_an_excluded_file(tmp_path: Path) -> None:
    root = make_base(
        tmp_path / "hb", {"content/handbook/drafts/wip.md": "# WIP\n", INDEX: BASE[INDEX] + "\n[[wip]]\n"}
    )
    (root / "kb.toml").write_text('exclude = ["handbook/drafts/*"]\n', encoding="utf-8")
    result = lint(root, "--format", "json")
    assert codes(result) == [(INDEX, 9, "KB404")]  # excluded means not there at all


# -- inline suppression -----------------------------------------------------------------------


def test_suppression_on_the_line_and_on_the_line_before(tmp_path: Path) -> None:
    body = """\
# Page

See [[ownership#nope]]. <!-- kb: ignore KB407 -->

<!-- kb: ignore KB407 -->
See [[ownership#gone]].

<!-- kb: ignore KB407 -->

See [[ownership#too-far]].

See [[ownership#wrong-code]]. <!-- kb: ignore KB404 -->
See [[ownership#all]] and [[nowhere]]. <!-- kb: ignore -->
"""
    root = make_base(
        tmp_path / "hb", {"content/handbook/page.md": body, INDEX: BASE[INDEX] + "\n[[handbook/page]]\n"}
    )
    result = lint(root, "--format", "json")
    lines = body.splitlines()
    assert codes(result) == [
        ("content/handbook/page.md", lines.index("See [[ownership#too-far]].") + 1, "KB407"),
        (
            "content/handbook/page.md",
            lines.index("See [[ownership#wrong-code]]. <!-- kb: ignore KB404 -->") + 1,
            "KB407",
        ),
    ]
