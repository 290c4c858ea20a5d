"""False findings found on handbooks kb had never seen (kubernetes/community, opencollective's
GitBook documentation, artsy/README, thoughtbot/guides), each reduced to a small handbook in a
temporary folder and run through the CLI.

Each test names the handbook and the class of finding: what the source held, what MkDocs and
the site make of it, and so what kb must (not) report.
"""

from __future__ import annotations

from pathlib import Path

from site_helpers import run_kb, snapshot, write_tree

KB_TOML = 'content_dir = "."\n'


def handbook(tmp_path: Path, files: dict[str, str]) -> Path:
    """A handbook at the repository root (`content_dir = "."`), as these repositories are."""
    root = tmp_path / "hb"
    write_tree(root, {"kb.toml": KB_TOML, **files})
    (root / "content").rmdir()
    return root


def lint(root: Path) -> tuple[int, list[str]]:
    result = run_kb(["lint"], root=root)
    lines = [line for line in result.output.splitlines() if ": KB" in line]
    return result.exit_code, lines


# -- kubernetes/community ----------------------------------------------------------------------


ELEKTO = "-" * 50 + "\nname: Paco Xu\nID:\tpacoxu\n" + "-" * 50 + "\n\n# Paco Xu\n\nHello.\n"


def test_elekto_candidate_header_is_a_rule_not_a_frontmatter_block(tmp_path: Path) -> None:
    """Elekto's candidate pages open with a line of 50 dashes, `name:`/`ID:` lines and 50 more
    dashes: GitHub and MkDocs render a rule and a heading, nobody meant frontmatter. It was
    KB102, and the page was left out of the site."""
    root = handbook(
        tmp_path,
        {"README.md": "# Home\n\n[Paco](candidate-pacoxu.md)\n", "candidate-pacoxu.md": ELEKTO},
    )
    assert lint(root) == (0, [])


def test_titles_are_the_ones_mkdocs_shows(tmp_path: Path) -> None:
    """MkDocs titles a page from its first element only when that is an `<h1>`: the Elekto page
    (a rule first) and meeting notes whose first `# ` heading is deep inside are titled from
    their file names; kb took the first `# ` heading anywhere ("issue resolved!")."""
    notes = "## 2020\n\n* item\n\n# issue resolved!\n"
    root = handbook(
        tmp_path,
        {
            "README.md": "# Home\n\n[Paco](candidate-pacoxu.md) [n](2020_Weekly_Meeting_Minutes.md)\n",
            "candidate-pacoxu.md": ELEKTO,
            "2020_Weekly_Meeting_Minutes.md": notes,
        },
    )
    result = run_kb(["build", "--out", str(tmp_path / "site")], root=root)
    assert result.exit_code == 0, result.output
    site = tmp_path / "site"
    paco = (site / "candidate-pacoxu" / "index.html").read_text(encoding="utf-8")
    notes_html = (site / "2020_Weekly_Meeting_Minutes" / "index.html").read_text(encoding="utf-8")
    assert "<title>Candidate pacoxu - " in paco
    assert "<title>2020 Weekly Meeting Minutes - " in notes_html


def test_a_mistyped_opener_is_still_kb102(tmp_path: Path) -> None:
    """Four dashes and a `key:` line is a mistyped `---`: still reported."""
    root = handbook(tmp_path, {"README.md": "# Home\n\n[a](a.md)\n", "a.md": "----\ntitle: A\n---\n\n# A\n"})
    code, found = lint(root)
    assert code == 1 and [f.split()[1] for f in found] == ["KB102"]


def test_multiline_description_on_a_page_is_fine(tmp_path: Path) -> None:
    """`description: |` over two lines (kubernetes/community's guides): Material writes it into
    `<meta name="description">`, where a line break is a space. It was KB204."""
    page = (
        '---\ntitle: "Best practices"\ndescription: |\n  A collection of tips\n  and filters.\n---\n\n# B\n'
    )
    root = handbook(tmp_path, {"README.md": "# Home\n\n[b](best.md)\n", "best.md": page})
    assert lint(root) == (0, [])


def test_hugo_type_on_a_page_is_not_a_collection(tmp_path: Path) -> None:
    """Hugo's and Docsy's `type: docs` picks a layout; on a plain page it is nothing to kb or
    MkDocs. It was KB204 "'type' is 'docs' but the file is a page"."""
    page = "---\ntitle: SIG list\ntype: docs\n---\n\n# SIGs\n"
    root = handbook(tmp_path, {"README.md": "# Home\n\n[s](sig-list.md)\n", "sig-list.md": page})
    assert lint(root) == (0, [])


def test_a_collection_type_on_a_page_is_still_reported(tmp_path: Path) -> None:
    page = "---\ntitle: Loop\ntype: loop\n---\n\n# L\n"
    root = handbook(tmp_path, {"README.md": "# Home\n\n[l](l.md)\n", "l.md": page})
    code, found = lint(root)
    assert code == 1 and [f.split()[1] for f in found] == ["KB204"]


def test_bracketed_link_text_is_a_link_not_a_wikilink(tmp_path: Path) -> None:
    """Meeting notes pasted from Google Docs write `[[here]](https://…)`: Python-Markdown
    makes a link whose text is `[here]`. It was KB404 "wikilink target 'here' not found"."""
    body = (
        "# Notes\n\n* RSVP [[here]](https://example.org/rsvp)\n"
        "*   _[[link to registration list]](https://example.org/list); [[form]](https://e.org/f)_\n"
    )
    root = handbook(tmp_path, {"README.md": body})
    assert lint(root) == (0, [])
    result = run_kb(["build", "--out", str(tmp_path / "site")], root=root)
    assert result.exit_code == 0, result.output
    html = (tmp_path / "site" / "index.html").read_text(encoding="utf-8")
    assert '<a href="https://example.org/rsvp">[here]</a>' in html


def test_a_wikilink_is_still_a_wikilink(tmp_path: Path) -> None:
    root = handbook(tmp_path, {"README.md": "# Home\n\n[[nowhere]] (see)\n"})
    code, found = lint(root)
    assert code == 1 and [f.split()[1] for f in found] == ["KB404"]


def test_reference_definition_with_its_url_on_the_next_line(tmp_path: Path) -> None:
    """kubernetes/community's README writes `[file an issue]:` and the URL on the next line;
    Python-Markdown reads one definition. kb missed the link (and so a broken one)."""
    body = (
        "# Home\n\nPlease [file an issue] or [read the guide].\n\n"
        "[file an issue]:\nguide.md#file-an-issue\n"
        "[read the guide]:\n  guide.md#nowhere\n"
    )
    root = handbook(tmp_path, {"README.md": body, "guide.md": "# Guide\n\n## File an issue\n"})
    code, found = lint(root)
    assert code == 1
    assert [f.split(": ", 1)[1].split(" (")[0] for f in found] == ["KB407 no heading '#nowhere' in guide.md"]
    assert found[0].startswith("README.md:7:1:")  # at the definition, as on one line


def test_an_id_defined_twice_uses_the_last_definition(tmp_path: Path) -> None:
    """The contributor cheatsheets define `[GitHub Workflow]` twice; Python-Markdown links the
    last one, so only its target is checked."""
    body = "# Home\n\n- [GitHub Workflow]\n\n[GitHub Workflow]: gone.md\n[GitHub Workflow]: guide.md\n"
    root = handbook(tmp_path, {"README.md": body, "guide.md": "# Guide\n"})
    assert lint(root) == (0, [])


ANCHORS = """# Home

See [a](#one), [b](#two), [c](#three), [d](page.md#four), [e](#five), [f](#six).

<a name="one"></a>[1] A footnote written by hand.

<a id="two">x</a>

Para {#three}

<div id="five" markdown>
hi
</div>

[link](page.md){#six}
"""


def test_anchors_that_are_not_headings(tmp_path: Path) -> None:
    """`<a name="footnote1">` (kubernetes/community's SLO pages), GitBook's
    `<a href="#x" id="x"></a>` and attr_list's `{#id}`: a browser scrolls to them and MkDocs'
    anchor validation accepts them. They were KB407."""
    root = handbook(tmp_path, {"README.md": ANCHORS, "page.md": '# Page\n\n<span id="four"></span>\n'})
    assert lint(root) == (0, [])


def test_the_scanner_reads_the_ids_that_are_not_headings() -> None:
    """What link.py needs for the test above: every id on the page besides the headings'."""
    from kb.markdown import scan

    assert scan(ANCHORS).ids == {"one", "two", "three", "five", "six"}
    hidden = '`<a id="code">`\n\n```\n<a name="fence">\n```\n\n<!-- <a id="comment"> -->\n\nx {#mid} y\n'
    assert scan(hidden).ids == set()


# -- opencollective/documentation (GitBook) ----------------------------------------------------


def test_gitbook_icon_names_warn_and_the_site_builds(tmp_path: Path) -> None:
    """GitBook pages carry Font Awesome's bare icon names (`icon: money-bill-transfer`);
    Material includes `.icons/<icon>.svg` and MkDocs stopped the whole build on the first
    one. kb names the theme's icon and builds the site without it."""
    page = "---\nicon: money-bill-transfer\n---\n\n# Changing currency\n"
    own = "---\nicon: fontawesome/solid/gear\n---\n\n# Settings\n"
    nothing = "---\nicon: no-such-icon-at-all\n---\n\n# Other\n"
    root = handbook(
        tmp_path,
        {
            "README.md": "# Welcome\n\n[c](currency.md) [s](settings.md) [o](other.md)\n",
            "currency.md": page,
            "settings.md": own,
            "other.md": nothing,
        },
    )
    code, found = lint(root)
    assert code == 0  # warnings only
    assert found == [
        "currency.md:2:7: KB204 'icon' names no icon of the theme: 'money-bill-transfer' "
        "(did you mean 'fontawesome/solid/money-bill-transfer'? the page is shown without it)",
        "other.md:2:7: KB204 'icon' names no icon of the theme: 'no-such-icon-at-all' "
        "(write one of the theme's icons, such as 'material/book'; the page is shown without it)",
    ]
    before = snapshot(root)
    result = run_kb(["build", "--out", str(tmp_path / "site")], root=root)
    assert result.exit_code == 0, result.output
    assert {k: v for k, v in snapshot(root).items() if not k.startswith(".kb-cache/")} == before
    html = (tmp_path / "site" / "currency" / "index.html").read_text(encoding="utf-8")
    assert "<title>Changing currency" in html


# -- artsy/README ------------------------------------------------------------------------------


def test_github_readme_fragment_lands_on_the_page(tmp_path: Path) -> None:
    """artsy/README links every page as `/careers/ladder.md#readme`: on GitHub the rendered
    file, on the site the page's top. It was KB407 (71 of artsy's 78)."""
    root = handbook(
        tmp_path,
        {
            "README.md": "# Home\n\n[Ladder](/careers/ladder.md#readme), [top](#top)\n",
            "careers/ladder.md": "# Ladder\n",
        },
    )
    assert lint(root) == (0, [])
