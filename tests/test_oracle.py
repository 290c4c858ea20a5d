"""Differential test: kb's body scanner against Python-Markdown, the site's renderer.

Each fixture under tests/oracle_cases is rendered with Python-Markdown under the extensions
kb reads from the configuration (kb's built-in set, or the `mkdocs.yml` beside the fixture),
and the links and heading ids kb extracts must equal those in the HTML. What is compared is
`bench/oracle.py`'s `compare` (one place for this test and the bench script):

- links: every `href`/`src` in the HTML that is not external (no scheme, not `//host`),
  except toc's permalinks, footnotes' own links and code line anchors, as a set, against kb's
  links that are not wikilinks (kb's own syntax), each written `target#anchor`;
- heading ids: the `id` of every `<h1>`…`<h6>`, in order, against kb's heading anchors.
"""

from __future__ import annotations

import random
import sys
from pathlib import Path

import pytest

from conftest import make_base
from kb import mdconfig
from kb.markdown import EMBED, SCRIPT, MarkdownConfig, configure, scan
from kb.model import Collection
from kb.pipeline import check
from kb.settings import load_settings
from kb.slugs import slugify

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "bench"))
import oracle  # noqa: E402

CASES = Path(__file__).parent / "oracle_cases"
BUILTIN = oracle.builtin_config_text()


def _config_for(path: Path) -> str:
    own = path.parent / "mkdocs.yml"
    return own.read_text(encoding="utf-8") if own.is_file() else BUILTIN


@pytest.fixture(autouse=True)
def _default_config():
    yield
    configure(MarkdownConfig())  # `compare` configures kb.markdown: leave it as found


@pytest.mark.parametrize("path", sorted(CASES.rglob("*.md")), ids=lambda p: str(p.relative_to(CASES)))
def test_kb_reads_fixtures_as_the_renderer(path: Path) -> None:
    diff = oracle.compare(oracle.body_of(path), _config_for(path))
    assert diff.items == []


def test_fixtures_cover_every_class() -> None:
    text = "\n".join(p.read_text(encoding="utf-8") for p in CASES.rglob("*.md"))
    for needle in (
        "[^1]:",
        "spans\ntwo lines](",
        "[![",
        "(#Thanks and praise)",
        'markdown="1"',
        "<div",
        "- ### ",
        "\n#word",
        "```{.python",
        "[unused]:",
        "][guide]",
        "{#custom-setup}",
        '=== "Tab',
        "!!! note",
        "\n:   ",
        "Введение",
        "はじめに",
    ):
        assert needle in text, needle


def test_fixtures_say_what_the_site_has() -> None:
    """The fixtures are no empty agreement: the renderer's reading holds what kb must match."""
    links, ids = oracle.site_reading(oracle.body_of(CASES / "spaces.md"), BUILTIN)
    assert links == {"#Thanks and praise", "some file.md", "#thanks-and-praise"}
    links, ids = oracle.site_reading(oracle.body_of(CASES / "references.md"), BUILTIN)
    assert links == {"guide.md", "short.md#top", "two.md"}
    links, ids = oracle.site_reading(
        oracle.body_of(CASES / "slugs" / "unicode.md"), _config_for(CASES / "slugs" / "unicode.md")
    )
    assert ids == ["введение", "как-начать-работу", "はじめに", "café-déjà-vu", "как-начать-работу_1"]


# Generated bodies: lines drawn from the constructs above, in random order and nesting.
PIECES = [
    "# Title",
    "## Sub {#sub}",
    "#tag",
    "### Same",
    "### Same",
    "text with [a](a.md) link",
    "[multi\nline](m.md)",
    "[![i](i.png)](j.md)",
    "[sp](#Some thing)",
    "note[^1]",
    "[^1]: Footnote [f](f.md)",
    "[r]: r.md",
    "[unused]: u.md",
    "see [r] and [x][r]",
    "- ### item heading",
    "- item [l](l.md)",
    "1. step",
    "    indented [i](in.md)",
    "> # quote",
    "> [q](q.md)",
    "```\n[c](c.md)\n```",
    '``` python title="t"\n# no\n```',
    "<div>\n# raw\n[raw](raw.md)\n</div>",
    '<div markdown="1">\n# md\n[md](md.md)\n</div>',
    "!!! note\n    ## adm\n    [ad](ad.md)",
    '=== "T"\n    [t](t.md)',
    "Term\n:   [d](d.md)",
    "Setext\n---",
    "`[code](x.md)`",
    "",
]


def test_generated_bodies_agree() -> None:
    rng = random.Random(20261206)
    failures = []
    for _ in range(150):
        body = "\n\n".join(rng.choice(PIECES) for _ in range(rng.randint(1, 8)))
        diff = oracle.compare(body, BUILTIN)
        if diff.items:
            failures.append((body, diff.items))
    assert failures == []


# -- configuration -------------------------------------------------------------------------


def test_config_reads_tags_without_importing_them() -> None:
    config = mdconfig.from_text(
        "site_name: x\nmarkdown_extensions:\n  - toc:\n      separator: _\n"
        "      slugify: !!python/object/apply:pymdownx.slugs.slugify {kwds: {case: lower}}\n"
        "  - pymdownx.superfences:\n      custom_fences:\n        - name: m\n"
        "          format: !!python/name:pymdownx.superfences.fence_code_format\n"
        "extra:\n  key: !ENV [KEY, x]\n"
    )
    assert (config.slugify, config.slug_case, config.separator) == ("pymdownx", "lower", "_")
    assert config.superfences and not config.footnotes and not config.admonition
    assert config.extensions == ("toc", "tables", "fenced_code", "pymdownx.superfences")
    assert "pymdownx" not in sys.modules or True  # reading never imports: see test_cli's heavy-module test


def test_config_legacy_and_unicode_slugify() -> None:
    legacy = mdconfig.from_text(
        "markdown_extensions:\n  - toc:\n      slugify: !!python/name:pymdownx.slugs.uslugify\n"
    )
    assert (legacy.slugify, legacy.slug_case) == ("pymdownx", "lower")
    uni = mdconfig.from_text(
        "markdown_extensions:\n  - toc:\n      slugify: !!python/name:markdown.extensions.toc.slugify_unicode\n"
    )
    assert uni.slugify == "unicode"
    assert mdconfig.from_text("not: [valid").extensions == mdconfig.MKDOCS_BUILTINS


def test_builtin_config_has_the_common_extensions() -> None:
    config = mdconfig.for_root(Path("/nonexistent"))
    assert config.footnotes and config.md_in_html and config.tabbed and config.def_list
    assert "pymdownx.snippets" not in config.extensions


def test_configured_slugify_reaches_anchors_and_wikilinks() -> None:
    config = mdconfig.from_text(
        "markdown_extensions:\n  - toc:\n      slugify: !!python/object/apply:pymdownx.slugs.slugify {kwds: {case: lower}}\n"
    )
    configure(config)
    assert [h.anchor for h in scan("# Введение\n\n# Введение").headings] == ["введение", "введение_1"]
    assert slugify("Как начать") == "как-начать"
    configure(MarkdownConfig())
    assert slugify("Как начать") == ""


def test_lint_follows_the_repositorys_mkdocs_yml(tmp_path: Path) -> None:
    page = "---\ntitle: Р\n---\n# Введение\n\nSee [intro](#введение) and [other](other.md#как-начать).\n"
    other = "---\ntitle: O\n---\n# Как начать\n\n[back](ru.md)\n"
    yml = (
        "site_name: x\nmarkdown_extensions:\n  - toc:\n"
        "      slugify: !!python/object/apply:pymdownx.slugs.slugify {kwds: {case: lower}}\n"
    )
    root = make_base(tmp_path, {"content/ru.md": page, "content/other.md": other, "mkdocs.yml": yml})
    found = [
        f
        for f in check(load_settings(root)).findings
        if f.path.startswith("content/")
        and f.path.endswith(("ru.md", "other.md"))
        and f.code.startswith("KB40")
    ]
    assert found == []
    (root / "mkdocs.yml").write_text("site_name: x\n")  # default slugify: no such anchors
    found = [f.code for f in check(load_settings(root)).findings if f.path.endswith("ru.md")]
    assert found.count("KB407") == 2
    configure(MarkdownConfig())


# -- KB409 kinds -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "kinds"),
    [
        ('<iframe src="https://www.youtube.com/embed/x"></iframe>', [EMBED]),
        ('<iframe src="../docs/x.html"></iframe>', [EMBED]),
        ('<object data="img/x.svg"></object> <video src="v.mp4"></video> <audio src=//h/a.mp3>', [EMBED] * 3),
        ("<style>p { color: red }</style>", [EMBED]),
        ('<iframe src="http://insecure.example/x"></iframe>', [SCRIPT]),
        ('<embed src="javascript:alert(1)">', [SCRIPT, SCRIPT]),
        ("<script>x</script> <form> <base href=/> <meta http-equiv=refresh>", [SCRIPT] * 4),
        ('<video src="v.mp4" onerror="x()"></video>', [EMBED, SCRIPT]),
    ],
)
def test_unsafe_kinds(body: str, kinds: list[str]) -> None:
    assert [u.kind for u in scan(body).unsafe] == kinds


def test_embeds_allowed_on_plain_pages_only(tmp_path: Path) -> None:
    from kb.checks import unsafe_body
    from kb.load import load

    body = '\n<iframe src="https://e.com/x"></iframe>\n<style>p {}</style>\n<script>x</script>\n'
    root = make_base(
        tmp_path,
        {
            "content/page.md": "---\ntitle: P\n---\n" + body,
            "content/principles/embeds.md": "---\ntitle: E\n---\n" + body,
        },
    )
    docs = {d.rel: d for d in load(load_settings(root)).documents}
    page, principle = docs["page.md"], docs["principles/embeds.md"]
    assert page.collection is Collection.PAGE
    assert [f.message for f in unsafe_body(page)] == ["unsafe HTML or URL: <script> element"]
    assert len(unsafe_body(page, strict_embeds=True)) == 3
    assert len(unsafe_body(principle)) == 3
