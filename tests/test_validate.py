"""Stage 2 — validate: schemas per collection, loop sections, stale loops, unsafe content."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from conftest import BASE, LOOP, PRINCIPLE, PRODUCT, TODAY, make_base
from kb.findings import Finding, Severity
from kb.load import load
from kb.settings import load_settings
from kb.validate import slug, validate

FRONT_LOOP = "title: A\ndate: 2026-11-24\nstage: observe\nprinciples: [ownership]\n"
CASE = "content/loops/2026/2026-11-24-case.md"


def findings(tmp_path: Path, files: dict[str, str], today: dt.date = TODAY) -> list[Finding]:
    root = make_base(tmp_path, files)
    settings = load_settings(root)
    found = validate(load(settings).documents, settings, today)
    return sorted(found, key=Finding.sort_key)


def lines(found: list[Finding]) -> list[str]:
    return [f"{f.path.rsplit('/', 1)[-1]}:{f.line}:{f.col}: {f.code} {f.message} ({f.hint})" for f in found]


def loop(front: str, body: str = "## 1. Observe\n\nSaw it.\n") -> dict[str, str]:
    return {CASE: f"---\n{front}---\n\n{body}"}


def test_base_is_valid(tmp_path: Path) -> None:
    assert findings(tmp_path, {}) == []


def test_required_fields_with_hints(tmp_path: Path) -> None:
    found = findings(tmp_path, {PRODUCT: "---\ntitle: kb\nsummary: s\nusers: [x]\n---\n"})
    assert lines(found) == [
        "kb.md:1:1: KB201 required field 'owner' is missing "
        "(add 'owner:' to the frontmatter (person or team accountable))",
        "kb.md:1:1: KB201 required field 'problem' is missing "
        "(add 'problem:' to the frontmatter (the want or need it solves))",
        "kb.md:1:1: KB201 required field 'status' is missing "
        "(add 'status:' to the frontmatter (where it is in its life))",
    ]


def test_unknown_fields_suggest_the_closest(tmp_path: Path) -> None:
    found = findings(tmp_path, loop(FRONT_LOOP + "autors: [a]\nfeedback:\n  - source: s\n    qoute: q\n"))
    assert [(f.line, f.col, f.code, f.message, f.hint) for f in found] == [
        (6, 1, "KB202", "unknown field 'autors'", "did you mean 'authors'?"),
        (8, 5, "KB201", "'feedback' item 1 is missing 'quote'", "add 'quote:' (what they said)"),
        (9, 5, "KB202", "unknown field 'qoute'", "did you mean 'quote'?"),
    ]


def test_pages_pass_material_keys_and_extra_through(tmp_path: Path) -> None:
    page = "---\ntitle: P\nhide: [toc]\nicon: material/book\nsearch: {exclude: true}\ncomments: true\nextra: {mine: 1}\n---\n"
    assert findings(tmp_path, {"content/index.md": page}) == []
    found = findings(tmp_path / "2", {"content/index.md": "---\ntitle: P\nmine: 1\ndata_source: x\n---\n"})
    assert found == []  # keys of its own: MkDocs hands them to templates


def test_a_near_miss_of_a_page_key_is_a_warning(tmp_path: Path) -> None:
    page = "---\ntitel: P\nsummray: s\ntgas: [a]\nTitle: T\nhidden: true\nweight: 3\n---\n"
    found = findings(tmp_path, {"content/index.md": page})
    assert [(f.line, f.code, f.severity, f.message, f.hint.split("?")[0]) for f in found] == [
        (2, "KB202", Severity.WARNING, "unknown field 'titel'", "did you mean 'title'"),
        (3, "KB202", Severity.WARNING, "unknown field 'summray'", "did you mean 'summary'"),
        (4, "KB202", Severity.WARNING, "unknown field 'tgas'", "did you mean 'tags'"),
        (5, "KB202", Severity.WARNING, "unknown field 'Title'", "did you mean 'title'"),
    ]


def test_page_title_from_first_heading(tmp_path: Path) -> None:
    assert findings(tmp_path, {"content/index.md": "# Home\n\ntext\n"}) == []
    assert findings(tmp_path / "2", {"content/index.md": "## Not a title\n\ntext\n"}) == []


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        (
            "title: no",
            (
                2,
                8,
                "KB203",
                "'title' is a boolean, expected text",
                "YAML reads 'no' as a boolean; quote it: \"no\"",
            ),
        ),
        (
            "title: 2026-01-01",
            (
                2,
                8,
                "KB203",
                "'title' is a date, expected text",
                "YAML reads '2026-01-01' as a date; quote it: \"2026-01-01\"",
            ),
        ),
        (
            "title:",
            (
                2,
                7,
                "KB203",
                "'title' is empty (null), expected text",
                "give 'title' a value or remove the line",
            ),
        ),
        (
            "title: null",
            (
                2,
                8,
                "KB203",
                "'title' is empty (null), expected text",
                "give 'title' a value or remove the line",
            ),
        ),
        (
            "title: '  '",
            (
                2,
                8,
                "KB204",
                "'title' is blank",
                "write the title: the document's name, as shown in titles and indexes",
            ),
        ),
        (
            "title: |\n  two\n  lines",
            (
                2,
                8,
                "KB204",
                "'title' must be a single line",
                "remove the line breaks, or use the body for longer text",
            ),
        ),
    ],
)
def test_title_values(tmp_path: Path, line: str, expected: tuple) -> None:
    front = FRONT_LOOP.replace("title: A", line)
    found = findings(tmp_path, loop(front))
    assert [(f.line, f.col, f.code, f.message, f.hint) for f in found] == [expected]


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("2026-11-24", None),
        ('"2026-11-24"', None),
        ("'2026-11-24'", None),
        ("2025-13-45", "'date' is not a calendar date: '2025-13-45'"),
        ('"2026-02-30"', "'date' is not a calendar date: '2026-02-30'"),
        ("2026-11-24T10:00:00Z", "'date' has a time of day"),
        ("24.11.2026", "'date' is text, expected a date (YYYY-MM-DD)"),
        ("20261124", "'date' is a number, expected a date (YYYY-MM-DD)"),
    ],
)
def test_dates(tmp_path: Path, value: str, message: str | None) -> None:
    found = findings(tmp_path, loop(FRONT_LOOP.replace("2026-11-24", value)))
    assert [f.message for f in found] == ([message] if message else [])
    assert all((f.line, f.col) == (3, 7) for f in found)


def test_enums_ids_lists_and_lengths(tmp_path: Path) -> None:
    product = (
        "---\ntitle: kb\nsummary: " + "s" * 201 + "\nproblem: p\nusers: []\nowner: o\n"
        "status: alive\ninterfaces:\n  - {name: n, kind: rest, description: d}\n"
        "depends_on: productos\ntype: loop\n---\n"
    )
    found = findings(tmp_path, {PRODUCT: product})
    assert [(f.line, f.col, f.code, f.message, f.hint) for f in found] == [
        (
            3,
            10,
            "KB204",
            "'summary' is 201 characters, over 200",
            "shorten it; the body has room for the rest",
        ),
        (5, 8, "KB204", "'users' needs at least one item", "list who has that want or need"),
        (
            7,
            9,
            "KB204",
            "'status' must be one of idea, building, live, retired, not 'alive'",
            "did you mean 'live'?",
        ),
        (
            9,
            21,
            "KB204",
            "'interfaces.0.kind' must be one of api, cli, ui, file, event, other, not 'rest'",
            "",
        ),
        (
            10,
            13,
            "KB203",
            "'depends_on' is text, expected a list",
            "write it as a list: depends_on: [productos]",
        ),
        (
            11,
            7,
            "KB204",
            "'type' is 'loop' but the file is a product",
            "its folder decides the collection: remove 'type:' or move the file",
        ),
    ]


def test_choice_of_the_wrong_type_lists_the_choices(tmp_path: Path) -> None:
    [f] = findings(tmp_path, loop(FRONT_LOOP.replace("stage: observe", "stage: 1")))
    assert (f.code, f.message, f.hint) == (
        "KB203",
        "'stage' is a number, expected text",
        "write one of observe, reflect, design, implement, repeat",
    )


def test_type_matching_the_collection_is_fine(tmp_path: Path) -> None:
    assert findings(tmp_path, loop(FRONT_LOOP + "type: loop\n")) == []


def test_file_names(tmp_path: Path) -> None:
    found = findings(
        tmp_path,
        {
            "content/principles/Root_Cause.md": "---\ntitle: R\nsummary: s\n---\n",
            "content/handbook/cost_estimation.md": "# Cost\n",
            "content/handbook/Cost Estimation (old).md": "# Cost\n",
        },
    )
    assert [(f.path, f.code, f.severity, f.hint) for f in found] == [
        (
            "content/handbook/Cost Estimation (old).md",
            "KB301",
            Severity.WARNING,
            "rename it to 'cost-estimation-old.md'",
        ),
        (
            "content/principles/Root_Cause.md",
            "KB301",
            Severity.ERROR,
            "use lowercase kebab-case: 'root-cause.md'",
        ),
    ]


def test_slug() -> None:
    assert slug("Déjà vu: the Loop!") == "deja-vu-the-loop"
    assert slug("???") == "untitled"


def test_markup_and_unsafe_urls_in_frontmatter(tmp_path: Path) -> None:
    front = FRONT_LOOP.replace("title: A", "title: Fix <em>now</em>") + (
        'feedback:\n  - source: s\n    quote: q &amp; r\n    url: " JaVaScRiPt:alert(1)"\n'
        "extra: {html: <b>ok</b>}\n"
    )
    found = findings(tmp_path, loop(front))
    assert [(f.line, f.col, f.code, f.severity) for f in found] == [
        (2, 8, "KB410", Severity.WARNING),
        (8, 12, "KB410", Severity.WARNING),
        (9, 10, "KB409", Severity.ERROR),
    ]


def test_unsafe_html_in_body(tmp_path: Path) -> None:
    body = '## 1. Observe\n\n<iframe src=x></iframe>\n<a href="java\nscript:x">a</a> <b onclick="x">b</b>\n'
    found = findings(tmp_path, loop(FRONT_LOOP, body))
    assert [(f.line, f.col, f.message) for f in found] == [
        (10, 1, "unsafe HTML or URL: <iframe> element"),
        (11, 10, "unsafe HTML or URL: javascript: URL"),  # browsers drop the newline
        (12, 20, "unsafe HTML or URL: inline event handler onclick="),
    ]


@pytest.mark.parametrize(
    ("stage", "body", "expected"),
    [
        ("repeat", BASE[LOOP].split("---\n", 2)[2], []),
        ("observe", "## Observe\n\nok\n", []),
        ("reflect", "## 1. Observe — what\n\nok\n\n## 2. Reflect: patterns\n\nok\n", []),
        (
            "design",
            "## 1. Observe\n\nok\n\n## 3. Design\n\nok\n",
            [(4, 8, "KB501", "stage is 'design' but there is no '## 2. Reflect' section")],
        ),
        (
            "observe",
            "### 1. Observe\n\nok\n",
            [(4, 8, "KB501", "stage is 'observe' but there is no '## 1. Observe' section")],
        ),
        (
            "reflect",
            "## 1. Observe\n\n<!-- prompt -->\n   \n## 2. Reflect\n\n<!--\nmulti\n-->\n",
            [
                (8, 1, "KB502", "section '1. Observe' is empty"),
                (12, 1, "KB502", "section '2. Reflect' is empty"),
            ],
        ),
        ("observe", "## 1. Observe\n\n### Details\n\nSub-sections count.\n", []),
        ("observe", "## 1. Observe\n\n- a list counts\n", []),
        ("observe", "## 1. Observe\n\n```\ncode counts\n```\n", []),
    ],
)
def test_loop_sections(tmp_path: Path, stage: str, body: str, expected: list) -> None:
    found = findings(tmp_path, loop(FRONT_LOOP.replace("observe", stage), body))
    assert [(f.line, f.col, f.code, f.message) for f in found] == expected


def test_no_section_checks_for_an_invalid_stage(tmp_path: Path) -> None:
    found = findings(tmp_path, loop(FRONT_LOOP.replace("observe", "done"), "text\n"))
    assert [f.code for f in found] == ["KB204"]


@pytest.mark.parametrize(
    ("date", "stage", "today", "stale"),
    [
        ("2026-01-01", "observe", dt.date(2026, 3, 31), False),  # 89 days
        ("2026-01-01", "observe", dt.date(2026, 4, 1), False),  # 90 days: not older than 90
        ("2026-01-01", "observe", dt.date(2026, 4, 2), True),
        ('"2026-01-01"', "observe", dt.date(2026, 4, 2), True),  # quoted dates count too
        ("2026-01-01", "repeat", dt.date(2027, 1, 1), False),
    ],
)
def test_stale_loops(tmp_path: Path, date: str, stage: str, today: dt.date, stale: bool) -> None:
    sections = "".join(f"## {s}\n\nok\n\n" for s in ("Observe", "Reflect", "Design", "Implement", "Repeat"))
    front = FRONT_LOOP.replace("2026-11-24", date).replace("observe", stage)
    found = findings(
        tmp_path, {"content/loops/2026/2026-01-01-case.md": f"---\n{front}---\n\n{sections}"}, today
    )
    assert [(f.line, f.col, f.code, f.severity) for f in found] == (
        [(3, 7, "KB602", Severity.WARNING)] if stale else []
    )


def test_stale_days_setting(tmp_path: Path) -> None:
    found = findings(tmp_path, {"kb.toml": "stale_days = 5\n", **loop(FRONT_LOOP)}, dt.date(2026, 12, 1))
    assert [f.message for f in found] == ["loop is still at 'observe' 7 days after it started"]


def test_a_bad_file_does_not_stop_the_others(tmp_path: Path) -> None:
    found = findings(
        tmp_path,
        {
            PRINCIPLE: "---\ntitle: [\n---\n",
            CASE: "---\ntitle: A\n---\n",
        },
    )
    assert [(f.path, f.code) for f in found] == [(CASE, "KB201"), (CASE, "KB201"), (CASE, "KB201")]


def test_theme_file_names_on_pages(tmp_path: Path) -> None:
    """`template` and `icon` pass only as theme file names (checked after the fast path)."""
    page = "content/handbook/themed.md"
    front = "title: T\ntemplate: ../evil.html\nicon: material/book\n"
    found = findings(tmp_path, {page: f"---\n{front}---\n\n[[index]]\n"})
    assert [(f.line, f.col, f.code, f.message) for f in found] == [
        (3, 11, "KB204", "'template' is not the name of a theme file: '../evil.html'"),
    ]


@pytest.mark.parametrize(
    ("setting", "expected"),
    [
        ("", []),
        ("allow_embeds = true\n", []),
        (
            "allow_embeds = false\n",
            [
                "content/handbook/embed.md:6:1: KB409 unsafe HTML or URL: <iframe> element",
                "content/handbook/embed.md:7:1: KB409 unsafe HTML or URL: <style> element",
            ],
        ),
    ],
)
def test_allow_embeds_setting_through_the_cli(tmp_path: Path, setting: str, expected: list[str]) -> None:
    from click.testing import CliRunner

    from kb.cli import main

    root = make_base(
        tmp_path,
        {
            "kb.toml": setting,
            "content/handbook/embed.md": "---\ntitle: Embed\n---\n\n[[ownership]]\n"
            '<iframe src="https://example.com/v"></iframe>\n<style>p {}</style>\n',
            "content/index.md": "---\ntitle: Home\n---\n\n[[handbook/embed]]\n",
        },
    )
    result = CliRunner().invoke(main, ["--root", str(root), "lint"])
    got = [line.split(" (")[0] for line in result.stdout.splitlines() if "KB409" in line]
    assert got == expected
    assert result.exit_code == (1 if expected else 0), result.stdout


def test_allow_embeds_must_be_a_boolean(tmp_path: Path) -> None:
    from click.testing import CliRunner

    from kb.cli import main

    root = make_base(tmp_path, {"kb.toml": 'allow_embeds = "no"\n'})
    result = CliRunner().invoke(main, ["--root", str(root), "lint"])
    assert result.exit_code == 2
    assert "setting 'allow_embeds' must be true or false" in result.stderr
