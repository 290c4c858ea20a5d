"""Render with MkDocs in several processes, each converting and writing its own share of the pages.

Most of a kb build is MkDocs' page loop (Python-Markdown, then the theme's templates), and it
runs on one core. On a large handbook kb forks one process per extra core; every process runs
MkDocs' own `build()` over the same configuration and reads every page (so the nav, the titles
and the tags plugin's index are the same everywhere), but only converts and writes the pages it
was given. A forked process writes into a hidden folder inside the staging folder (MkDocs'
clean leaves dot-folders alone); its pages are then moved into place and the search indexes are
merged in MkDocs' page order, so the site is byte for byte the one a single process renders.

This leans on two functions of `mkdocs.commands.build` and `Page.render` (MkDocs 1.6, pinned
below 2), patched only for the length of the render. Plugins other than search and tags may
need every page rendered in one process (a blog index, social cards...): with any of them, or
when fork is unsafe, the render stays serial.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from kb import cores, searchindex
from kb.render import Rendered

#: Plugins known to work page by page (what a page shows does not depend on other pages' HTML).
#: Material's only: MkDocs' own search plugin writes a differently ordered (and prebuilt) index.
SAFE_PLUGINS = frozenset({"material/search", "material/tags", "kb/render", "kb/guard"})
#: Below this many pages one process is as fast: each extra one re-reads every page and starts MkDocs.
MIN_PAGES = 200
MOST = 4
#: A page's cost in bytes of markdown: the template costs about as much as 2.5 kB of text.
PAGE_COST = 2500
PART = ".kb-render-{}"


def jobs(pages: int) -> int:
    """Processes to render `pages` pages with (see `kb.cores.processes`)."""
    return cores.processes(pages, MIN_PAGES, MOST)


def usable(config: Any) -> bool:
    """Whether this site allows a page-by-page split: its plugins work page by page, and MkDocs
    is not asked to warn about links to anchors (each process knows only its own pages' anchors;
    kb's link stage checks every anchor it resolves before rendering anyway)."""
    import logging

    anchors = config["validation"]["links"]["anchors"]
    return all(name in SAFE_PLUGINS for name in config["plugins"]) and anchors <= logging.INFO


def shares(docs_dir: Path, jobs: int) -> list[set[str]]:
    """Split the markdown files into `jobs` shares of about equal cost (largest first, to the lightest)."""
    sizes = []
    for folder, dirs, files in os.walk(docs_dir):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        for name in files:
            if name.endswith(".md"):
                path = os.path.join(folder, name)
                sizes.append((os.path.getsize(path), os.path.relpath(path, docs_dir).replace(os.sep, "/")))
    sizes.sort(reverse=True)
    loads, out = [0] * jobs, [set() for _ in range(jobs)]
    for size, uri in sizes:
        lightest = loads.index(min(loads))
        loads[lightest] += size + PAGE_COST
        out[lightest].add(uri)
    return out


def render(config: Any, jobs: int, serial: Callable[[Any], Any]) -> Any:
    """`serial(config)` in `jobs` processes; the main process renders share 0 into the real site_dir.

    `serial` is `kb.render.render` (it collects MkDocs' warnings and turns its errors into
    KbError); it returns a `Rendered`, whose warnings are put together here. A share whose
    process fails is rendered again by the main process, so an error is reported as a
    one-process render reports it.
    """
    site_dir = Path(config["site_dir"])
    parts = shares(Path(config["docs_dir"]), jobs)
    others = set().union(*parts[1:])
    order: list[str] = []

    def share(index: int) -> list[str]:
        main = index == 0
        config["site_dir"] = str(site_dir if main else site_dir / PART.format(index))
        try:
            mine = (lambda uri: uri not in others) if main else parts[index].__contains__
            with _only(mine, order if main else [], main):
                return serial(config).warnings
        finally:
            config["site_dir"] = str(site_dir)

    folders = [site_dir / PART.format(index) for index in range(1, jobs)]
    try:
        warnings = cores.fork_map(share, range(jobs), jobs)
        for folder in folders:
            _merge(folder, site_dir)
        _merge_search(site_dir, folders, order)
    finally:
        for folder in folders:
            shutil.rmtree(folder, ignore_errors=True)
    return Rendered(_once(warnings), processes=jobs)


def _once(shares: list[list[str]]) -> list[str]:
    """The warnings of every share, those all processes give (about the config, the nav, the
    files: everything before the pages) kept once, as one process would give them."""
    from collections import Counter

    first, out = shares[0], list(shares[0])
    for more in shares[1:]:
        said = Counter(first)
        for warning in more:
            if said[warning]:
                said[warning] -= 1
            else:
                out.append(warning)
    return out


@contextmanager
def _only(mine: Callable[[str], bool], order: list[str], main: bool) -> Iterator[None]:
    """Within the block, MkDocs converts and writes only the pages `mine` accepts.

    Every page is still read (its metadata feeds the nav, titles and the tags plugin); a page
    that is not ours skips Python-Markdown unless its title can only come from its first
    heading. `order` receives every page's URL in MkDocs' order, for merging the search index.
    Processes other than the main one also skip the theme's assets and static templates.
    """
    from mkdocs.commands import build as mkbuild
    from mkdocs.structure.files import Files
    from mkdocs.structure.pages import Page
    from mkdocs.structure.toc import get_toc

    original = (
        mkbuild._build_page,
        Page.render,
        mkbuild._build_theme_template,
        mkbuild._build_extra_template,
        Files.copy_static_files,
    )
    build_page, page_render = original[0], original[1]

    def render_page(page: Any, config: Any, files: Any) -> None:
        if mine(page.file.src_uri) or not isinstance(page.meta.get("title"), str):
            page_render(page, config, files)
            return
        page.content, page.toc = "", get_toc([])

    def write_page(page: Any, *args: Any, **kwargs: Any) -> None:
        order.append(page.url)
        if mine(page.file.src_uri):
            build_page(page, *args, **kwargs)

    mkbuild._build_page, Page.render = write_page, render_page
    if not main:
        mkbuild._build_theme_template = mkbuild._build_extra_template = _skip
        Files.copy_static_files = _skip
    try:
        yield
    finally:
        (
            mkbuild._build_page,
            Page.render,
            mkbuild._build_theme_template,
            mkbuild._build_extra_template,
            Files.copy_static_files,
        ) = original


def _skip(*_args: Any, **_kwargs: Any) -> None:
    return None


def _merge(folder: Path, site_dir: Path) -> None:
    """Move a share's pages into the site; what the main process also wrote (plugin exports) stays."""
    if not folder.is_dir():
        return
    for top, _dirs, files in os.walk(folder):
        for name in files:
            source = Path(top) / name
            rel = source.relative_to(folder)
            if rel == searchindex.PATH:
                continue
            target = site_dir / rel
            if not target.exists():
                target.parent.mkdir(parents=True, exist_ok=True)
                os.replace(source, target)


def _merge_search(site_dir: Path, folders: list[Path], order: list[str]) -> None:
    """One search index from every share's, pages in MkDocs' order (MkDocs' `build()` calls)."""
    data = searchindex.read(site_dir)
    if data is None:
        return
    pages = searchindex.by_page(data.get("docs", []))
    for folder in folders:
        pages.update(searchindex.by_page((searchindex.read(folder) or {}).get("docs", [])))
    searchindex.write(site_dir, data, pages, order)
