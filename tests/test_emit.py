"""Stage 5 — emit: golden emitted trees, and escaping of every frontmatter string in the site.

Each case is a small handbook built with `kb build` (through the CLI, into a temporary
folder outside any git repository, so history is null and KB701 is warned); every emitted
markdown file and `kb.json` under `.kb-cache/docs/` must equal the files under
`tests/golden/<case>/` byte for byte. Regenerate with `UPDATE_GOLDEN=1 pytest tests/test_emit.py`
and read the diff before committing it: the goldens are the reviewed output, not a snapshot
of whatever the code happens to print.
"""

from __future__ import annotations

import difflib
import json
import os
import shutil
from pathlib import Path

import pytest

from site_helpers import FIXED_NOW, HOSTILE, PNG, SMALL, html_files, run_kb, write_tree

GOLDEN = Path(__file__).parent / "golden"
CASES = {"small": SMALL, "hostile": HOSTILE}
UPDATE = os.environ.get("UPDATE_GOLDEN") == "1"


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[Path, Path, str]]:
    """Each case built once: name → (root, site, CLI output)."""
    out = {}
    for name, files in CASES.items():
        base = tmp_path_factory.mktemp(name)
        root = write_tree(base / "handbook", files)
        # no git above the handbook, wherever the temporary folder is: history is null
        env = {**FIXED_NOW, "GIT_CEILING_DIRECTORIES": str(base)}
        result = run_kb(["build", "--out", str(base / "site")], root, env=env)
        assert result.exit_code == 0, result.output
        out[name] = (root, base / "site", result.output)
    return out


def emitted(docs: Path) -> dict[str, str]:
    """The compared part of the docs tree: every markdown file and kb.json."""
    return {
        p.relative_to(docs).as_posix(): p.read_text(encoding="utf-8")
        for p in sorted(docs.rglob("*"))
        if p.suffix == ".md" or p.name == "kb.json"
    }


def write_golden(folder: Path, files: dict[str, str]) -> None:
    shutil.rmtree(folder, ignore_errors=True)
    for rel, text in files.items():
        (folder / rel).parent.mkdir(parents=True, exist_ok=True)
        (folder / rel).write_bytes(text.encode("utf-8"))


@pytest.mark.parametrize("case", sorted(CASES))
def test_emitted_tree_matches_golden(built: dict, case: str) -> None:
    root, _site, _output = built[case]
    actual = emitted(root / ".kb-cache" / "docs")
    folder = GOLDEN / case
    if UPDATE:
        write_golden(folder, actual)
    expected = {
        p.relative_to(folder).as_posix(): p.read_text(encoding="utf-8")
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }
    assert sorted(actual) == sorted(expected), "the set of emitted files changed"
    for rel in expected:
        if actual[rel] != expected[rel]:
            diff = "".join(
                difflib.unified_diff(
                    expected[rel].splitlines(True),
                    actual[rel].splitlines(True),
                    f"golden/{case}/{rel}",
                    f"emitted/{rel}",
                )
            )
            pytest.fail(f"{rel} differs from its golden file (UPDATE_GOLDEN=1 to accept):\n{diff}")


def test_small_build_warns_about_missing_git_and_has_null_history(built: dict) -> None:
    root, _site, output = built["small"]
    assert "KB701 git history unavailable" in output
    data = json.loads((root / ".kb-cache" / "docs" / "kb.json").read_text(encoding="utf-8"))
    assert data["documents"] and all(d["history"] is None for d in data["documents"])


def test_assets_are_copied_unchanged(built: dict) -> None:
    root, site, _output = built["small"]
    assert (root / ".kb-cache/docs/handbook/img/loop.png").read_bytes() == PNG
    assert (site / "handbook/img/loop.png").read_bytes() == PNG
    assert (site / "assets/kb/mermaid.min.js").stat().st_size > 100_000


def test_rendered_links_resolve_to_built_pages(built: dict) -> None:
    """Every relative href in the small site's content points at a file that exists."""
    import re

    _root, site, _output = built["small"]
    missing = []
    for page in html_files(site):
        article = re.search(r"<article.*?</article>", page.read_text(encoding="utf-8"), re.S)
        for href in re.findall(r'(?:href|src)="([^"#:]+)(?:#[^"]*)?"', article.group(0) if article else ""):
            target = (page.parent / href).resolve()
            if not (target.is_file() or (target / "index.html").is_file()):
                missing.append(f"{page.relative_to(site)} → {href}")
    assert not missing


# -- escaping -------------------------------------------------------------------------------

#: Markup planted in the HOSTILE handbook's frontmatter: none of it may reach HTML unescaped.
PLANTED = ("<script>alert", "<img src=x", "<svg onload", "<b>Bold", "<b>away", "<i>tags")


def test_no_planted_markup_reaches_any_html_or_the_search_index(built: dict) -> None:
    _root, site, _output = built["hostile"]
    pages = html_files(site) + [site / "search" / "search_index.json"]
    assert len(pages) > 8
    found = [
        f"{p.relative_to(site)}: {bad}"
        for p in pages
        for bad in PLANTED
        if bad in p.read_text(encoding="utf-8")
    ]
    assert not found


def test_planted_markup_shows_as_text(built: dict) -> None:
    _root, site, _output = built["hostile"]

    def page(rel: str) -> str:
        return (site / rel / "index.html").read_text(encoding="utf-8")

    xss = page("principles/xss")
    assert "<h1>&lt;script&gt;alert(1)&lt;/script&gt;</h1>" in xss
    assert "<title>&lt;script&gt;alert(1)&lt;/script&gt; - Home &amp; &lt;b&gt;away&lt;/b&gt;</title>" in xss
    index = page("principles")
    assert (
        "<td>Pipes | and *stars* and _under_ and `ticks` and [brackets](x) and &lt;i&gt;tags&lt;/i&gt;</td>"
        in index
    )
    assert '<a href="xss/">&lt;script&gt;alert(1)&lt;/script&gt;</a>' in index
    evil = page("products/evil")
    assert "<td>&lt;img src=x onerror=alert(1)&gt;</td>" in evil
    assert "<td>Cells | split | here</td>" in evil
    assert "<h1>Evil &quot;quoted&quot; product</h1>" in evil
    assert "<td>&lt;img src=x onerror=alert(1)&gt;</td>" in page("products")
    search = json.loads((site / "search/search_index.json").read_text(encoding="utf-8"))
    titles = {d["title"] for d in search["docs"]}
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in titles


def test_nav_titles_are_escaped(built: dict) -> None:
    _root, site, _output = built["hostile"]
    home = (site / "index.html").read_text(encoding="utf-8")
    nav = home[home.index('<nav class="md-nav md-nav--primary"') :]
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in nav
    product = (site / "products" / "evil" / "index.html").read_text(encoding="utf-8")
    nav = product[product.index('<nav class="md-nav md-nav--primary"') :]  # pruned: its own section only
    assert "Evil &quot;quoted&quot; product" in nav


def test_people_with_non_latin_names_get_a_page_each(tmp_path: Path) -> None:
    """Names without ASCII letters must not all land on one `people/untitled` page."""
    from kb.emit import emit
    from kb.pipeline import check
    from kb.settings import load_settings

    files = dict(SMALL)
    for rel, name in (
        ("content/loops/2025/2025-12-01-lost-notes.md", "李雷"),
        ("content/loops/2026/2026-02-20-duplicate-cycles.md", "王芳"),
    ):
        text = files[rel]
        assert isinstance(text, str)
        files[rel] = text.replace("authors: [Ana Lima]", f"authors: [{name}]").replace(
            "authors: [Ben Okafor]", f"authors: [{name}]"
        )
    root = write_tree(tmp_path / "hb", files)
    settings = load_settings(root)
    emit(check(settings), None, settings, tmp_path / "docs")
    people = sorted(p.name for p in (tmp_path / "docs" / "people").iterdir())
    assert len(people) == 5 and "untitled.md" not in people  # index + Ana, Ben, 李雷, 王芳
    index = (tmp_path / "docs/people/index.md").read_text(encoding="utf-8")
    assert "李雷" in index and "王芳" in index


def test_wrongly_typed_frontmatter_still_emits(tmp_path: Path) -> None:
    """Without --strict, documents with KB203 findings are built: no crash, no Python reprs."""
    from kb.emit import emit
    from kb.pipeline import check
    from kb.settings import load_settings

    files = dict(SMALL)
    files["content/products/odd.md"] = (
        "---\ntitle: Odd\nsummary: [x]\nproblem: {a: b}\nusers: Someone\nowner: [Team]\nstatus: true\n"
        "interfaces: {name: x}\ndepends_on: inbox\nalternatives: 3\nprinciples: {ownership: 1}\n"
        "tags: 2026-11-24\n---\n\nText.\n"
    )
    files["content/loops/2026/2026-03-03-odd.md"] = (
        "---\ntitle: Odd loop\ndate: 2026-03-03\nstage: observe\nprinciples: [ownership]\n"
        "feedback: 3\n---\n\n## Observe\n\nSaw it.\n"
    )
    root = write_tree(tmp_path / "hb", files)
    settings = load_settings(root)
    checked = check(settings)
    assert {f.code for f in checked.findings if f.path == "content/products/odd.md"} >= {"KB203"}
    emit(checked, None, settings, tmp_path / "docs")
    odd = (tmp_path / "docs/products/odd.md").read_text(encoding="utf-8")
    assert "| **Users** | — |" in odd and "{'a'" not in odd and "S, o" not in odd
    assert "Saw it." in (tmp_path / "docs/loops/2026/2026-03-03-odd.md").read_text(encoding="utf-8")


def _sidebar(page: Path) -> str:
    html = page.read_text(encoding="utf-8")
    start = html.index('<nav class="md-nav md-nav--primary"')
    return html[start : html.index('class="md-content"', start)]


def test_nav_lists_a_section_only_while_it_is_short(built: dict, tmp_path: Path) -> None:
    """A section's own pages show its nav: past SECTION_MAX products the index stands for them."""
    from kb.nav import SECTION_MAX

    _root, site, _output = built["small"]
    assert "Loop Journal" in _sidebar(site / "products" / "index.html")  # two products: listed
    assert "Loop Journal" not in _sidebar(site / "index.html")  # navigation.prune: not on other pages
    files = dict(SMALL)
    for i in range(SECTION_MAX + 1):
        files[f"content/products/generated-{i:02d}.md"] = (
            f"---\ntitle: Generated product {i}\nsummary: One of many.\nproblem: Too many tools.\n"
            f"users: [Builders]\nowner: Ana Lima\nstatus: live\nnon_goals: [Everything]\n---\n\nA product.\n"
        )
    root = write_tree(tmp_path / "many", files)
    result = run_kb(["build", "--out", str(tmp_path / "site")], root)
    assert result.exit_code == 0, result.output
    sidebar = _sidebar(tmp_path / "site" / "products" / "index.html")
    assert "Generated product 3" not in sidebar and "Loop Journal" not in sidebar
    assert 'href="./"' in sidebar  # the section's index is still there
    assert "Ownership" in _sidebar(tmp_path / "site" / "principles" / "index.html")  # still listed
    products = (tmp_path / "site" / "products" / "index.html").read_text(encoding="utf-8")
    assert "Generated product 3" in products  # the index lists every card


def test_backlinks_name_the_first_thirty_and_count_the_rest(tmp_path: Path) -> None:
    """70 loops link to two principles in their bodies: each principle's page lists 30 of the
    pages linking to it and says how many more; kb.json still has every link."""
    from kb.emit import BACKLINKS_MAX
    from site_helpers import many_loops

    root = write_tree(tmp_path / "hb", many_loops(70))
    result = run_kb(["build", "--out", str(tmp_path / "site")], root)
    assert result.exit_code == 0, result.output
    page = (root / ".kb-cache" / "docs" / "principles" / "ownership.md").read_text(encoding="utf-8")
    linked = next(line for line in page.splitlines() if line.startswith("**Linked from**"))
    data = json.loads((tmp_path / "site" / "kb.json").read_text(encoding="utf-8"))
    ownership = next(d["path"] for d in data["documents"] if d["path"].endswith("principles/ownership.md"))
    sources = {e["from"] for e in data["edges"] if e["to"] == ownership and e["kind"] == "link"}
    assert len(sources) > 35 and BACKLINKS_MAX == 30
    assert linked.count("](") == BACKLINKS_MAX
    assert linked.endswith(f" · and {len(sources) - BACKLINKS_MAX} more pages")


def test_kb_json_keeps_the_entries_it_is_given_and_only_fitting_ones(tmp_path: Path) -> None:
    """A one-edit emit takes the unchanged documents' kb.json entries from the last kb.json,
    where the state says they lie: the bytes must be those of a whole kb.json made anew, and
    an entry that is not the document's (another path) or a span past the file is not taken."""
    from conftest import TODAY
    from kb import emit
    from kb.pipeline import check
    from kb.settings import load_settings
    from kb.views import Views

    root = write_tree(tmp_path / "handbook", HOSTILE)
    checked = check(load_settings(root), TODAY)
    views = Views(checked.graph)
    data, spans = emit.kb_json(checked.graph, views)
    whole = json.loads(data)
    assert data.endswith(b"}\n") and len(spans) == len(whole["documents"]) > 2
    for entry in whole["documents"]:
        start, end = spans[entry["path"].removeprefix("content/")[:-3]]
        assert json.loads(data[start:end]) == entry
    kept = emit.kept_entries(data, spans, lambda key: True)
    assert emit.kb_json(checked.graph, views, kept) == (data, spans)
    first, second, *_ = sorted(kept)
    swapped = {**kept, first: kept[second], second: b'{"path":"elsewhere","title":"stale"}'}
    assert emit.kb_json(checked.graph, views, swapped) == (data, spans)
    assert emit.kept_entries(data[: len(data) // 2], spans, lambda key: True).keys() < kept.keys()
    assert emit.kept_entries(data, spans, lambda key: key != first).keys() == kept.keys() - {first}
