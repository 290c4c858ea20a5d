"""Rendering in several processes (`kb.render_parallel`): the same site, byte for byte.

Every test goes through `kb build` with `KB_JOBS` forcing the number of processes on a small
handbook; `-v` says when the render was shared.
"""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path
from typing import Any

import pytest

from kb import render_parallel
from site_helpers import SMALL, many_loops, run_kb, snapshot, write_tree

SHARED = "rendered in"


@pytest.fixture(scope="module")
def handbook(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_tree(tmp_path_factory.mktemp("par") / "hb", many_loops(40))


def build(root: Path, out: Path, jobs: int, *extra: str) -> str:
    result = run_kb(["build", "-v", "--clean", "--out", str(out), *extra], root, env={"KB_JOBS": str(jobs)})
    assert result.exit_code == 0, result.output
    return result.output


@pytest.mark.parametrize("jobs", [2, 3])
def test_shared_render_is_byte_identical_to_one_process(handbook: Path, tmp_path: Path, jobs: int) -> None:
    one = build(handbook, tmp_path / "one", 1)
    assert SHARED not in one
    shared = build(handbook, tmp_path / "shared", jobs)
    assert f"{SHARED} {jobs} processes" in shared
    assert snapshot(tmp_path / "shared") == snapshot(tmp_path / "one")
    leftovers = [p for p in (tmp_path / "shared").rglob(".kb-render-*")]
    assert leftovers == []
    index = json.loads((tmp_path / "shared" / "search" / "search_index.json").read_text(encoding="utf-8"))
    pages = {entry["location"].split("#")[0] for entry in index["docs"]}
    assert "loops/2024/2024-01-01-generated-0000/" in pages and "principles/ownership/" in pages


def test_shares_balance_the_markdown(tmp_path: Path) -> None:
    docs = tmp_path / "docs"
    (docs / "sub").mkdir(parents=True)
    sizes = {"a.md": 9000, "b.md": 5000, "c.md": 4000, "sub/d.md": 100, "sub/e.md": 100, "x.txt": 50000}
    for name, size in sizes.items():
        (docs / name).write_text("x" * size)
    first, second = render_parallel.shares(docs, 2)
    assert first | second == {"a.md", "b.md", "c.md", "sub/d.md", "sub/e.md"}
    assert not first & second
    assert "a.md" in first and {"b.md", "c.md"} <= second  # largest first, each to the lighter share


def test_an_error_in_another_process_fails_the_build_and_keeps_the_old_site(tmp_path: Path) -> None:
    """The second-largest page goes to the second process, which fails; the main process renders
    that share again and reports the missing template exactly as a one-process render does."""
    files = dict(SMALL)
    files["content/handbook/large.md"] = "---\ntitle: Large\n---\n\n" + "Words and more words.\n\n" * 900
    files["content/handbook/broken.md"] = (
        "---\ntitle: Broken\ntemplate: missing.html\n---\n\n" + "Other words here.\n\n" * 450
    )
    root = write_tree(tmp_path / "hb", files)
    docs = root / ".kb-cache" / "docs"
    site = tmp_path / "site"
    for jobs in (1, 2):
        result = run_kb(["build", "--out", str(site)], root, env={"KB_JOBS": str(jobs)})
        assert result.exit_code == 2, result.output
        assert "the theme has no template 'missing.html'" in result.output
        assert "Traceback" not in result.output
        assert sorted(p.name for p in tmp_path.iterdir()) == ["hb"]
    second = render_parallel.shares(docs, 2)[1]
    assert "handbook/broken.md" in second  # the failure above started in the forked process


def test_other_plugins_render_in_one_process(tmp_path: Path) -> None:
    root = write_tree(tmp_path / "hb", many_loops(3))
    (root / "mkdocs.yml").write_text(
        "site_name: Shared\ntheme:\n  name: material\nplugins:\n  - search\n  - tags\n"
    )
    assert f"{SHARED} 2 processes" in build(root, tmp_path / "site", 2)
    (root / "mkdocs.yml").write_text(
        "site_name: Shared\ntheme:\n  name: material\nplugins:\n  - search\n  - offline\n"
    )
    assert SHARED not in build(root, tmp_path / "site", 2)


def test_a_warning_every_process_gives_is_said_once(tmp_path: Path) -> None:
    """MkDocs warns about a page left out of the nav (a GitBook SUMMARY.md, which kb does not
    list, with `omitted_files: warn`) while it builds the nav, in every process."""
    files = many_loops(3)
    files["content/SUMMARY.md"] = "# Summary\n\n* [Home](index.md)\n"
    files["mkdocs.yml"] = (
        "site_name: Shared\ntheme:\n  name: material\nplugins:\n  - search\n"
        "validation:\n  nav:\n    omitted_files: warn\n"
    )
    root = write_tree(tmp_path / "hb", files)
    one = run_kb(
        ["build", "-v", "--clean", "--out", str(tmp_path / "one")], root, env={"KB_JOBS": "1"}
    ).output
    three = run_kb(
        ["build", "-v", "--clean", "--out", str(tmp_path / "three")], root, env={"KB_JOBS": "3"}
    ).output
    assert f"{SHARED} 3 processes" in three
    warned = [line for line in one.splitlines() if line.startswith("mkdocs:")]
    assert any('not included in the "nav" configuration' in line for line in warned)
    assert [line for line in three.splitlines() if line.startswith("mkdocs:")] == warned


def test_anchor_warnings_asked_for_render_in_one_process(tmp_path: Path) -> None:
    """Each process knows only its own pages' anchors: MkDocs' anchor check needs them all."""
    root = write_tree(tmp_path / "hb", many_loops(3))
    (root / "mkdocs.yml").write_text(
        "site_name: Shared\ntheme:\n  name: material\nvalidation:\n  anchors: warn\n"
    )
    assert SHARED not in build(root, tmp_path / "site", 2)


def test_warnings_of_pages_another_process_rendered_are_reported(tmp_path: Path) -> None:
    """MkDocs warns about a page's link while converting it, in whichever process owns the
    page: the main process gets every warning, once, as a one-process render gives them."""
    from mkdocs.config import load_config

    from kb import render

    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "index.md").write_text("---\ntitle: Home\n---\n\n# Home\n", encoding="utf-8")
    for i in range(40):
        link = f"[gone](missing-{i}.md)" if i % 4 == 0 else "[home](index.md)"
        (docs / f"page-{i:02d}.md").write_text(
            f"---\ntitle: Page {i}\n---\n\n# Page {i}\n\n" + "Text. " * (50 + 40 * i) + f"\n\nSee {link}.\n",
            encoding="utf-8",
        )

    def warnings(jobs: int) -> render.Rendered:
        config = load_config(
            config_file=None,
            site_name="Warned",
            docs_dir=str(docs),
            site_dir=str(tmp_path / f"site-{jobs}"),
            theme={"name": "material"},
            plugins=["search"],
        )
        return render.render(config, jobs=jobs)

    one, two = warnings(1), warnings(2)
    assert two.processes == 2
    missing = [w for w in one.warnings if "missing-" in w]
    assert len(missing) == 10
    assert sorted(two.warnings) == sorted(one.warnings)
    owners = render_parallel.shares(docs, 2)
    warned = {f"page-{i:02d}.md" for i in range(0, 40, 4)}
    assert warned & owners[0] and warned & owners[1]  # both processes had some to report


def _plain_pages(docs: Path) -> None:
    """Forty plain pages in one nav section; some carry what Material shows on other pages."""
    docs.mkdir(parents=True)
    (docs / "index.md").write_text("---\ntitle: Home\n---\n\n# Home\n", encoding="utf-8")
    shown = {3: "icon: material/star", 7: "status: new", 11: "subtitle: A short one"}
    shown.update({i: f"tags:\n- {('alpha', 'beta')[i % 2]}" for i in range(15, 40, 3)})
    for i in range(40):
        extra = shown.get(i, "description: Only its own page shows this")
        (docs / f"page-{i:02d}.md").write_text(
            f"---\ntitle: Page {i}\n{extra}\n---\n\n# Page {i}\n\n" + "Text. " * (50 + 40 * i) + "\n",
            encoding="utf-8",
        )
    (docs / "tags.md").write_text("---\ntitle: Tags\n---\n\n<!-- material/tags -->\n", encoding="utf-8")


def test_pages_another_process_renders_are_left_unread_unless_they_show_elsewhere(tmp_path: Path) -> None:
    """MkDocs' dirty build leaves unread a page another process renders when nothing of it shows
    on the process's own pages: a nav icon, status, subtitle or a tags listing are read in every
    process, tags in the main process (it renders every listing and writes the tags export).
    Same site, byte for byte, as one process renders it."""
    from mkdocs.config import load_config

    from kb import render

    docs = tmp_path / "docs"
    _plain_pages(docs)
    nav = [{"Home": "index.md"}] + [{f"Page {i}": f"page-{i:02d}.md"} for i in range(40)]

    def site(jobs: int) -> tuple[Any, render.Rendered]:
        config = load_config(
            config_file=None,
            site_name="Unread",
            docs_dir=str(docs),
            site_dir=str(tmp_path / f"site-{jobs}"),
            theme={"name": "material", "features": ["navigation.prune"]},
            plugins=["search", "tags"],
            nav=nav,
            extra={"status": {"new": "Recently added"}},
        )
        return config, render.render(config, jobs=jobs)

    _, one = site(1)
    config, two = site(2)
    assert two.processes == 2
    assert snapshot(tmp_path / "site-2") == snapshot(tmp_path / "site-1")
    unread = {uri for uri, left in config["plugins"][render_parallel.NAME].unread.items() if left}
    theirs = render_parallel.shares(docs, 2)[1]  # what the main process did not render
    tagged = {f"page-{i:02d}.md" for i in range(15, 40, 3)}
    read_anyway = {"page-03.md", "page-07.md", "page-11.md", "tags.md"} | tagged
    assert unread == theirs - read_anyway
    assert tagged & theirs and tagged - theirs  # the child left the main process's tagged pages unread
    assert len(unread) > 10


@pytest.mark.parametrize(
    ("head", "shown"),
    [
        ("# No frontmatter\n", False),
        ("Title: MultiMarkdown meta\n\nText\n", True),
        ("---\ntitle: Plain\ndescription: >\n  folded\n  icon: not a key\nhide:\n- toc\n---\n", False),
        ("---\ntitle: Iconic\nicon: material/star\n---\n", True),
        ("---\ntitle: Tagged\ntags: [a, b]\n---\n", True),
        ('---\n"icon": material/star\n---\n', True),  # a key YAML reads that the scan cannot: read
        ("---\ntitle: Never closed\n", True),
        ("---\ntitle: Listing\n---\n\n<!--  material/tags { scope: true } -->\n", True),
    ],
)
def test_what_shows_elsewhere(tmp_path: Path, head: str, shown: bool) -> None:
    page = tmp_path / "page.md"
    page.write_text(head, encoding="utf-8")
    listing = re.compile(rb"<!--\s*(?:material/tags)")
    keys = [b"icon", b"subtitle", b"status", b"tags"]
    assert render_parallel.shows_elsewhere(str(page), keys, listing) is shown


def test_a_copy_of_kbs_overrides_is_still_the_stock_theme(tmp_path: Path) -> None:
    """This repository's own `templates/overrides/`, built by an installed kb, holds the very
    files of kb's built-in overrides: kb still knows what each page shows of another. One
    changed byte, or one more file, and it is a site's own templates."""
    from types import SimpleNamespace

    from kb.templating import default_templates

    builtin = default_templates() / "overrides"
    copy = tmp_path / "overrides"
    shutil.copytree(builtin, copy)

    def stock() -> bool:
        return render_parallel.stock_theme(
            {"theme": SimpleNamespace(name="material", dirs=[str(copy), str(builtin)])}
        )

    assert stock()
    page = next(p for p in sorted(copy.rglob("*.html")))
    page.write_bytes(page.read_bytes() + b"<!-- mine -->")
    assert not stock()
    page.write_bytes((builtin / page.relative_to(copy)).read_bytes())
    assert stock()
    (copy / "partials" / "extra.html").write_text("{{ page.meta.owner }}", encoding="utf-8")
    assert not stock()
