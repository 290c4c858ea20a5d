"""Stage 3 — link: references, wikilinks, relative links and anchors → a graph plus findings."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from conftest import BASE, LOOP, PRINCIPLE, PRODUCT, TODAY, make_base
from kb.link import EdgeKind, Graph
from kb.pipeline import Checked, check
from kb.settings import load_settings

PAGE = "content/handbook/guide.md"
FRONT_LOOP = "title: A\ndate: 2026-11-24\nstage: observe\nprinciples: [ownership]\n"


def checked(tmp_path: Path, files: dict[str, str | bytes]) -> Checked:
    return check(load_settings(make_base(tmp_path, files)), TODAY)


def page(body: str, path: str = PAGE) -> dict[str, str]:
    """A plain page (linked from the home page, so it is no orphan) with the given body."""
    return {
        path: f"---\ntitle: Guide\n---\n\n{body}",
        "content/index.md": BASE["content/index.md"] + f"\n[[{path[8:-3]}]]\n",
    }


def found_in(result: Checked, path: str = PAGE) -> list[tuple[int, int, str, str]]:
    return [(f.line, f.col, f.code, f.message) for f in result.findings if f.path == path]


def edges(graph: Graph, kind: EdgeKind) -> set[tuple[str, str]]:
    return {(e.source, e.target) for e in graph.edges if e.kind is kind}


def test_base_graph(tmp_path: Path) -> None:
    result = checked(tmp_path, {})
    assert result.findings == []
    graph = result.graph
    loop, principle, product = "loops/2026/2026-11-23-slow-ci", "principles/ownership", "products/kb"
    assert edges(graph, EdgeKind.PRACTICES) == {(loop, principle)}
    assert edges(graph, EdgeKind.IMPROVES) == {(loop, product)}
    assert edges(graph, EdgeKind.GUIDED_BY) == {(product, principle)}
    assert edges(graph, EdgeKind.LINK) == {
        ("index", principle),
        ("index", product),
        (principle, product),
        (product, principle),
        (loop, principle),
        (loop, product),
    }
    assert [d.key for d in graph.sources(principle, EdgeKind.PRACTICES)] == [loop]
    assert [d.key for d in graph.sources(principle, EdgeKind.LINK)] == ["index", loop, product]


@pytest.mark.parametrize(
    "link",
    [
        "[[ownership]]",
        "[[Ownership]]",
        "[[take ownership]]",
        "[[Take Ownership|x]]",
        "[[principles/ownership]]",
        "[[ principles/ownership | x ]]",
        "[[ownership#Why it matters]]",
        "[[ownership#why-it-matters]]",
        "[[kb#what-it-does]]",
        "![[ownership]]",
    ],
)
def test_wikilinks_that_resolve(tmp_path: Path, link: str) -> None:
    result = checked(tmp_path, page(f"See {link}.\n"))
    assert found_in(result) == []
    assert result.graph.outgoing["handbook/guide"][0].target.split("/")[0] in ("principles", "products")


@pytest.mark.parametrize(
    ("link", "code", "message"),
    [
        ("[[ownershp]]", "KB404", "wikilink target 'ownershp' not found"),
        ("[[ownership.md]]", "KB404", "wikilink target 'ownership.md' not found"),
        ("[[ownership#nope]]", "KB407", "no heading '#nope' in principles/ownership.md"),
        ("[[ |label]]", "KB404", "empty wikilink"),
    ],
)
def test_wikilinks_that_do_not(tmp_path: Path, link: str, code: str, message: str) -> None:
    assert found_in(checked(tmp_path, page(f"See {link}.\n"))) == [(5, 5, code, message)]


def test_same_page_anchor_wikilink(tmp_path: Path) -> None:
    result = checked(tmp_path, page("## Setup\n\n[[#setup]] [[#Setup]] [[#nope]]\n"))
    assert found_in(result) == [(7, 23, "KB407", "no heading '#nope' in handbook/guide.md")]


def test_an_id_in_two_collections_is_ambiguous(tmp_path: Path) -> None:
    result = checked(
        tmp_path, {"content/handbook/ownership.md": "# Ownership notes\n\n[[principles/ownership]]\n"}
    )
    assert found_in(result, "content/index.md") == [
        (7, 12, "KB405", "wikilink 'ownership' matches handbook/ownership, principles/ownership")
    ]
    [f] = [f for f in result.findings if f.code == "KB405"]
    assert f.hint == "use the path form, e.g. [[handbook/ownership]]"


@pytest.mark.parametrize(
    "link",
    [
        "[p](../principles/ownership.md)",
        "[p](../principles/ownership.md#why-it-matters)",
        "[p](<../principles/ownership.md>)",
        "[p](../principles/ownership.md 'title')",
        "[p](../principles/ownership)",
        "[p](../products/kb.md?plain=1#what-it-does)",
        "[h](../index.md)",
        "[h](..)",
        "[h](../)",
        "[i](../principles/index.md)",
        "[i](../principles/)",
        "[c](../principles/coverage.md)",
        "[y](../loops/2026/index.md)",
        "[l](../loops/index.md)",
        "[p](../people/index.md)",
        "[a](img/chart%20one.png)",
        "![a](img/chart%20one.png)",
        "[a](./img/chart%20one.png)",
        '<img src="img/chart one.png">',
        "[x](#top)",
        "[e](https://example.com/missing.md)",
        "[m](mailto:someone@example.com)",
        "[s](//cdn.example.com/x.md)",
        "[r][ref]\n\n[ref]: ../products/kb.md#what-it-does",
        "[[principles/index]]",
        "[[loops/2026/index]]",
        "[u](/principles/ownership.md)",
        "[u](/principles/ownership/#why-it-matters)",
        "[u](/principles/ownership)",
        "[u](/principles/)",
        "[u](/)",
        "[u](/#home)",
        "[u](/handbook/img/chart%20one.png)",
        '<img src="/handbook/img/chart one.png">',
        "[u](/handbook/guide.md?x=1#top)",
    ],
)
def test_relative_links_that_resolve(tmp_path: Path, link: str) -> None:
    files = {**page(f"# Top\n\n{link}\n"), "content/handbook/img/chart one.png": b"\x89PNG"}
    assert found_in(checked(tmp_path, files)) == []


@pytest.mark.parametrize(
    ("link", "code", "message", "hint"),
    [
        (
            "[p](../principles/ownershp.md)",
            "KB406",
            "link to missing file '../principles/ownershp.md'",
            "did you mean '../principles/ownership.md'?",
        ),
        (
            "[p](../principles/ownership.md#why-it-maters)",
            "KB407",
            "no heading '#why-it-maters' in principles/ownership.md",
            "did you mean '#why-it-matters'?",
        ),
        (
            "[p](../principles/ownership.md#Why-It-Matters)",
            "KB407",
            "no heading '#Why-It-Matters' in principles/ownership.md",
            "did you mean '#why-it-matters'?",
        ),
        ("[y](../loops/2025/index.md)", "KB406", "link to missing file '../loops/2025/index.md'", None),
        ("[a](img/none.png)", "KB406", "link to missing file 'img/none.png'", None),
        (
            "[u](../../README.md)",
            "KB408",
            "link '../../README.md' leaves the content folder",
            "link only to files under content/",
        ),
        ("[u](file:///etc/passwd)", "KB408", "link 'file:///etc/passwd' is an absolute path", None),
        ("[u](C:\\Users\\me\\notes.md)", "KB408", "link 'C:\\Users\\me\\notes.md' is an absolute path", None),
        ("[u](/../secrets.md)", "KB408", "link '/../secrets.md' leaves the content folder", None),
        (
            "[u](/etc/passwd)",
            "KB406",
            "link to missing file '/etc/passwd'",
            "a link starting with '/' is read from the content folder's root, as the site's root",
        ),
        ("[u](/principles/ownershp/)", "KB406", "link to missing file '/principles/ownershp/'", None),
        (
            "[u](/principles/ownership.md#nope)",
            "KB407",
            "no heading '#nope' in principles/ownership.md",
            None,
        ),
    ],
)
def test_relative_links_that_do_not(
    tmp_path: Path, link: str, code: str, message: str, hint: str | None
) -> None:
    [f] = [f for f in checked(tmp_path, page(f"{link}\n")).findings if f.path == PAGE]
    assert (f.line, f.col, f.code, f.message) == (5, 1, code, message)
    if hint is not None:
        assert f.hint == hint


def test_anchor_slugs_follow_the_renderer(tmp_path: Path) -> None:
    body = (
        "## Déjà vu!\n\n## Set up {#setup}\n\n## Set up\n\n## Set up\n\n"
        "[a](#deja-vu) [b](#setup) [c](#set-up) [d](#set-up_1) [e](#set-up_2)\n"
    )
    assert found_in(checked(tmp_path, page(body))) == [
        (13, 55, "KB407", "no heading '#set-up_2' in handbook/guide.md")
    ]


def test_links_in_code_and_comments_are_ignored(tmp_path: Path) -> None:
    body = (
        "`[[nowhere]]` ``[x](gone.md)``\n\n```\n[[nowhere]]\n```\n\n~~~~\n[x](gone.md)\n~~~~\n\n"
        "<!-- [[commented]] -->\n<!--\n[[commented]]\n-->\n"
    )
    assert found_in(checked(tmp_path, page(body))) == []


def test_links_in_indented_code_are_ignored(tmp_path: Path) -> None:
    body = "Text.\n\n    [[indented code]]\n    [x](gone.md)\n"
    assert found_in(checked(tmp_path, page(body))) == []


def test_frontmatter_references(tmp_path: Path) -> None:
    result = checked(
        tmp_path,
        {
            "content/loops/2026/2026-11-24-b.md": "---\n"
            + FRONT_LOOP.replace("[ownership]", "[ownership, candor]")
            + "product: kbb\nfollows: 2026-11-23-slow-ci\n---\n\n## 1. Observe\n\nok\n",
            "content/principles/candor.md": "---\ntitle: C\nsummary: s\nrelated: [ownership, onwership]\n---\n",
        },
    )
    assert [
        (f.path.rsplit("/", 1)[1], f.line, f.col, f.code, f.message, f.hint) for f in result.findings
    ] == [
        ("2026-11-24-b.md", 6, 10, "KB402", "unknown product 'kbb'", "did you mean 'kb'?"),
        ("candor.md", 4, 22, "KB401", "unknown principle 'onwership'", "did you mean 'ownership'?"),
    ]
    assert ("loops/2026/2026-11-24-b", "loops/2026/2026-11-23-slow-ci") in edges(
        result.graph, EdgeKind.FOLLOWS
    )
    assert ("principles/candor", "principles/ownership") in edges(result.graph, EdgeKind.RELATED)


def test_unreadable_target_still_resolves(tmp_path: Path) -> None:
    result = checked(tmp_path, {PRODUCT: BASE[PRODUCT].replace("title: kb", "title: [kb")})
    assert [(f.path, f.code) for f in result.findings] == [(PRODUCT, "KB103")]


def test_a_reference_naming_a_generated_page_is_unknown(tmp_path: Path) -> None:
    """A generated page's key is a wikilink name but no document: looking for an alias there
    once raised KeyError (an internal error instead of the finding)."""
    loop = BASE[LOOP].replace("principles: [ownership]", "principles: [ownership, principles/coverage]")
    result = checked(tmp_path, {LOOP: loop})
    assert [(f.path, f.code, f.message, f.hint) for f in result.findings] == [
        (LOOP, "KB401", "unknown principle 'principles/coverage'", "no principle has that id")
    ]


def _loop(name: str, follows: str) -> dict[str, str]:
    return {
        f"content/loops/2026/{name}.md": f"---\n{FRONT_LOOP}follows: {follows}\n---\n\n## 1. Observe\n\nok\n"
    }


def test_follows_cycle_reported_once_on_its_first_file(tmp_path: Path) -> None:
    result = checked(
        tmp_path,
        {
            **_loop("2026-11-20-z", "2026-11-25-b"),  # leads into the cycle, is not part of it
            **_loop("2026-11-24-a", "2026-11-25-b"),
            **_loop("2026-11-25-b", "2026-11-26-c"),
            **_loop("2026-11-26-c", "2026-11-24-a"),
            **_loop("2026-11-27-d", "2026-11-27-d"),
        },
    )
    cycles = [
        (f.path.rsplit("/", 1)[1], f.line, f.col, f.message) for f in result.findings if f.code == "KB411"
    ]
    assert cycles == [
        (
            "2026-11-24-a.md",
            6,
            10,
            "follows cycle: 2026-11-24-a → 2026-11-25-b → 2026-11-26-c → 2026-11-24-a",
        ),
        ("2026-11-27-d.md", 6, 10, "follows cycle: 2026-11-27-d → 2026-11-27-d"),
    ]


def test_depends_on_cycle_is_a_warning(tmp_path: Path) -> None:
    card = "---\ntitle: {0}\nsummary: s\nproblem: p\nusers: [u]\nowner: o\nstatus: idea\ndepends_on: [{1}]\n---\n"
    result = checked(
        tmp_path,
        {
            "content/products/a.md": card.format("A", "b"),
            "content/products/b.md": card.format("B", "a"),
            PRODUCT: BASE[PRODUCT].replace("status: live", "status: live\ndepends_on: [a]"),
        },
    )
    [f] = result.findings
    assert (f.path, f.code, f.severity.value, f.message) == (
        "content/products/a.md",
        "KB411",
        "warning",
        "depends_on cycle: a → b → a",
    )


def test_duplicate_ids_reserved_names_and_alias_clashes(tmp_path: Path) -> None:
    result = checked(
        tmp_path,
        {
            "content/loops/2025/2026-11-23-slow-ci.md": BASE[LOOP],
            "content/loops/2026/index.md": "---\n" + FRONT_LOOP + "---\n\n## 1. Observe\n\nok\n",
            "content/principles/kb.md": "---\ntitle: K\nsummary: s\naliases: [take ownership, learning]\n---\n",
        },
    )
    assert [(f.path, f.line, f.col, f.code, f.message) for f in result.findings if f.code == "KB302"] == [
        (
            LOOP,
            1,
            1,
            "KB302",
            "duplicate loop id '2026-11-23-slow-ci' (also content/loops/2025/2026-11-23-slow-ci.md)",
        ),
        (
            "content/loops/2026/index.md",
            1,
            1,
            "KB302",
            "'loops/2026/index.md' is a name kb generates a page for",
        ),
        (PRINCIPLE, 4, 11, "KB302", "alias 'take ownership' clashes with principles/kb"),
    ]


def test_orphans_and_unpracticed_principles(tmp_path: Path) -> None:
    result = checked(
        tmp_path,
        {
            "content/handbook/lonely.md": "# Lonely\n\n[[handbook/linked]]\n",
            "content/handbook/linked.md": "# Linked\n",
            "content/principles/candor.md": "---\ntitle: C\nsummary: s\n---\n\n[[handbook/lonely]]\n",
        },
    )
    assert [(f.path, f.code) for f in result.findings] == [("content/principles/candor.md", "KB603")]
    result = checked(tmp_path / "2", {"content/handbook/lonely.md": "# Lonely\n\n[[handbook/lonely]]\n"})
    assert [(f.path, f.code) for f in result.findings] == [("content/handbook/lonely.md", "KB601")]


def test_suppression_comments(tmp_path: Path) -> None:
    body = (
        "<!-- kb: ignore KB404 -->\n[[gone]]\n\n[[gone]] <!-- kb: ignore KB407, KB404 -->\n\n"
        "[[gone]] <!-- kb: ignore KB407 -->\n\n<!-- kb: ignore -->\n[x](#nope) [[gone]]\n\n"
        "<!--\nkb: ignore KB404\n-->\n[[gone]]\n\n[[gone]]\n"
    )
    assert found_in(checked(tmp_path, page(body))) == [
        (10, 1, "KB404", "wikilink target 'gone' not found"),
        (20, 1, "KB404", "wikilink target 'gone' not found"),
    ]


def test_did_you_mean_is_the_same_every_run() -> None:
    """Candidates sharing as many path tokens with a miss rank in one order whatever the
    interpreter's string hashing (it differs per process): lint prints the same hints twice."""
    import subprocess
    import sys

    program = """
from kb.link import Suggestions
names = [f"x{k}/t{k}-zz.md" for k in range(30)] + [f"filler/f{k}.md" for k in range(40)]
print(Suggestions(names)._candidates("docs/" + "-".join(f"t{k}" for k in range(30)) + ".md"))
"""
    runs = {
        subprocess.run(
            [sys.executable, "-c", program],
            env={**os.environ, "PYTHONHASHSEED": str(seed)},
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        for seed in range(6)
    }
    assert len(runs) == 1
    assert "x0/t0-zz.md" in runs.pop()  # the word's first token first
