"""The render stage (`kb.render`): what kb's MkDocs plugins change is the speed, never the site.

The main test builds a handbook of loops and plain pages in nested folders with `kb build`
sharing the pages between three processes (kb/share, forked inside MkDocs' build), then renders
the same emitted tree with MkDocs' own `build()` in this one process, on the configuration
`kb.render.load` gives (kb's theme overrides and its whitespace plugin, which belong to kb's
site), with none of kb's speed plugins: every file of both sites must have the same bytes
(each page's HTML, the search index, the sitemap and its gzip, the theme's assets).
"""

from __future__ import annotations

import io
import os
from pathlib import Path

import pytest

from kb import render, render_parallel, render_progress
from site_helpers import FIXED_NOW, many_loops, run_kb, snapshot, write_tree

#: The file by which `kb build` knows an output folder as its own (`kb.output`), not MkDocs'.
MARK = ".kb-site"
WORDS = "team process budget review roadmap hiring onboarding incident release planning".split()


def plain_pages(count: int) -> dict[str, str | bytes]:
    """`count` plain pages (no frontmatter) in nested folders, each folder with an index that
    links its pages; one page in five titled by its file name rather than a heading."""
    files: dict[str, str | bytes] = {}
    folders: dict[str, list[str]] = {}
    for i in range(count):
        folder = f"handbook/{WORDS[i % 4]}/{WORDS[4 + i % 6]}"
        name = f"{WORDS[i % 10]}-{i:03d}.md"
        folders.setdefault(folder, []).append(name)
        head = "" if i % 5 == 0 else f"# {WORDS[i % 10].capitalize()} page {i}\n\n"
        body = "".join(
            f"## {WORDS[(i + n) % 10].capitalize()} {n}\n\nWe {WORDS[(i * n) % 10]} with "
            f"[the index](index.md) and `code {n}`.\n\n- one\n- two\n\n"
            for n in range(1, 4)
        )
        files[f"content/{folder}/{name}"] = head + body
    for folder, names in folders.items():
        files[f"content/{folder}/index.md"] = f"# {folder.rsplit('/', 1)[-1].capitalize()}\n\n" + "".join(
            f"- [{n[:-3]}]({n})\n" for n in names
        )
    for top in {f.rsplit("/", 1)[0] for f in folders}:
        subs = sorted({f.rsplit("/", 1)[1] for f in folders if f.startswith(top + "/")})
        files[f"content/{top}/index.md"] = f"# {top.rsplit('/', 1)[-1].capitalize()}\n\n" + "".join(
            f"- [{s}]({s}/index.md)\n" for s in subs
        )
    return files


#: Site configurations the sped-up render must reproduce: kb's built-in one (no mkdocs.yml), the
#: tuned one of bench/pages.py, and one with a full nav (no prune) and every nav feature that
#: changes which entries are active or expanded.
CONFIGS = {
    "builtin": None,
    "tuned": "site_name: Tuned\ntheme:\n  name: material\n  features:\n    - navigation.prune\nplugins:\n  - search\n",
    "full-nav": (
        "site_name: Full\ntheme:\n  name: material\n  features:\n    - navigation.tabs\n"
        "    - navigation.sections\n    - navigation.indexes\n    - toc.integrate\n"
        "    - navigation.footer\nplugins:\n  - search\n  - tags\nmarkdown_extensions:\n"
        "  - toc:\n      permalink: true\n  - admonition\n"
    ),
}


@pytest.fixture(scope="module")
def handbook(tmp_path_factory: pytest.TempPathFactory) -> Path:
    files = many_loops(90)
    files.update(plain_pages(130))
    return write_tree(tmp_path_factory.mktemp("render") / "hb", files)


def plain_mkdocs(root: Path, site: Path) -> None:
    """MkDocs' own one-process `build()` of kb's emitted tree, without kb's speed plugins."""
    from mkdocs.commands.build import build

    from kb.emit import emit
    from kb.pipeline import check
    from kb.settings import load_settings

    settings = load_settings(root)
    emitted = emit(check(settings), None, settings, settings.cache / "docs")
    assert emitted.changed == ()  # the very tree `kb build` rendered
    config, _ = render.load(root, emitted, site, strict=False)
    assert render_parallel.NAME not in config["plugins"]
    build(config)


@pytest.mark.parametrize("name", list(CONFIGS))
def test_a_shared_render_is_the_plain_mkdocs_site_byte_for_byte(
    handbook: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, name: str
) -> None:
    for key, value in FIXED_NOW.items():  # the sitemap's dates and its gzip header
        monkeypatch.setenv(key, value)
    config = handbook / "mkdocs.yml"
    if CONFIGS[name] is None:
        config.unlink(missing_ok=True)
    else:
        config.write_text(CONFIGS[name], encoding="utf-8")
    try:
        result = run_kb(
            ["build", "-v", "--out", str(tmp_path / "kb")], handbook, env={"KB_JOBS": "3", **FIXED_NOW}
        )
        assert result.exit_code == 0, result.output
        assert "rendered in 3 processes" in result.output
        assert "no git history" in result.output  # so the emit below gives the same tree
        plain_mkdocs(handbook, tmp_path / "plain")
    finally:
        config.unlink(missing_ok=True)
    kb_site, plain = snapshot(tmp_path / "kb"), snapshot(tmp_path / "plain")
    assert len(plain) > 300
    for page in ("search/search_index.json", "sitemap.xml", "sitemap.xml.gz", "404.html", "index.html"):
        assert page in plain
    assert {page for page in plain if kb_site.get(page) != plain[page]} == set()
    assert set(kb_site) - {MARK} == set(plain)


def test_the_nav_is_rendered_once_per_group_of_pages(handbook: Path, tmp_path: Path) -> None:
    """Most pages get their nav from kb.render_nav (the test above holds it to Material's own)."""
    from kb.emit import emit
    from kb.pipeline import check
    from kb.settings import load_settings

    settings = load_settings(handbook)
    emitted = emit(check(settings), None, settings, settings.cache / "docs")
    config, _ = render.load(handbook, emitted, tmp_path / "site", strict=False)
    render.render(config)
    navs = config["plugins"][render_parallel.NAME].navs
    assert navs is not None
    assert navs.hits > emitted.pages // 2
    assert len(navs.groups) < emitted.pages // 4


def test_a_swap_that_is_not_provably_the_same_falls_back() -> None:
    from kb.render_nav import NavCache, _Group

    cache = NavCache.__new__(NavCache)
    cache.groups = {
        (True, 1, "a"): _Group("<x>A</x><y>b</y><y>b</y>", object(), "<x>A</x>", {"b/": "<y>b</y>"})
    }
    cache.hits = 0
    page = type("P", (), {"url": "b/"})()
    assert cache.swap((True, 1, "a"), page, "<y>B</y>", "<x>a</x>") is None  # b's entry twice
    cache.groups[(True, 1, "a")].html = "<x>A</x><y>b</y>"
    assert cache.swap((True, 1, "a"), page, "<y>B</y>", "<x>a</x>") == "<x>a</x><y>B</y>"


def test_the_shares_are_disjoint_and_cover_every_page(handbook: Path) -> None:
    docs = handbook / ".kb-cache" / "docs"
    if not docs.is_dir():
        assert run_kb(["build", "-q"], handbook).exit_code == 0
    parts = render_parallel.shares(docs, 3)
    every = {p.relative_to(docs).as_posix() for p in docs.rglob("*.md")}
    assert set().union(*parts) == every
    assert sum(len(p) for p in parts) == len(every)
    assert min(len(p) for p in parts) > len(every) / 6  # about equal, not all in one


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_progress_only_on_a_terminal_outside_ci(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CI", raising=False)
    assert render_progress.wanted(_Terminal())
    assert not render_progress.wanted(io.StringIO())
    assert not render_progress.wanted(_Terminal(), quiet=True)
    monkeypatch.setenv("CI", "true")
    assert not render_progress.wanted(_Terminal())


def test_a_long_render_on_a_terminal_shows_pages_and_rate(
    handbook: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from kb.emit import emit
    from kb.pipeline import check
    from kb.settings import load_settings

    monkeypatch.delenv("CI", raising=False)
    monkeypatch.setattr(render_progress, "DELAY", 0.0)  # "long": every render, for the test
    terminal = _Terminal()
    monkeypatch.setattr("sys.stderr", terminal)
    settings = load_settings(handbook)
    emitted = emit(check(settings), None, settings, settings.cache / "docs")
    config, _ = render.load(handbook, emitted, tmp_path / "site", strict=False)
    rendered = render.render(config, jobs=2)
    assert rendered.processes == 2
    lines = terminal.getvalue().split("\r")
    total = emitted.pages
    assert lines[-1].startswith(f"kb: rendered {total}/{total} pages (") and lines[-1].endswith(" pages/s)\n")
    counts = [int(line.split()[2].split("/")[0]) for line in lines if line.startswith("kb: rendered")]
    assert counts == sorted(counts) and counts[0] < total

    quiet = _Terminal()
    monkeypatch.setattr("sys.stderr", quiet)
    config, _ = render.load(handbook, emitted, tmp_path / "site2", strict=False)
    render.render(config, jobs=2, quiet=True)
    assert quiet.getvalue() == ""


def test_kb_build_quiet_on_a_terminal_prints_no_progress(
    handbook: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`kb build -q` on a terminal: the render learns of -q from the command itself."""
    import click

    from kb.cli import main

    monkeypatch.delenv("CI", raising=False)
    seen: list[bool] = []
    real = render_progress.wanted

    def spy(stream: object = None, quiet: bool = False) -> bool:
        seen.append(real(_Terminal(), quiet))  # as if stderr were a terminal
        return False

    monkeypatch.setattr(render_progress, "wanted", spy)
    with click.Context(main).scope():
        ctx = click.get_current_context()
        ctx.params["quiet"] = True
        assert real(_Terminal()) is False
        ctx.params["quiet"] = False
        assert real(_Terminal()) is True
    result = run_kb(["build", "-q", "--out", str(tmp_path / "site")], handbook, env={"KB_JOBS": "2"})
    assert result.exit_code == 0, result.output
    assert seen == [False]


def test_kb_build_off_a_terminal_prints_no_progress(handbook: Path, tmp_path: Path) -> None:
    result = run_kb(["build", "--out", str(tmp_path / "site")], handbook, env={"KB_JOBS": "2", "CI": ""})
    assert result.exit_code == 0, result.output
    assert "pages/s" not in result.output and "\r" not in result.output


def test_the_empty_template_is_empty() -> None:
    """A page another process renders gets `kb/empty.html`: MkDocs writes no file for empty output."""
    from kb.templating import default_templates

    assert (default_templates() / "overrides" / render_parallel.EMPTY).read_text(
        encoding="utf-8"
    ).strip() == ""


def test_rendered_is_a_leaf_module() -> None:
    """kb.render and kb.render_parallel share the record without importing each other."""
    source = Path(render_parallel.__file__).read_text(encoding="utf-8")
    assert "from kb.render import" not in source and "import kb.render\n" not in source
    assert render.Rendered is __import__("kb.rendered", fromlist=["Rendered"]).Rendered
    assert os.path.basename(render_parallel.__file__) == "render_parallel.py"
