"""Render with MkDocs in several processes that fork inside one build: the same site, byte for byte.

Most of a kb build is MkDocs' page loop (Python-Markdown, then the theme's templates), and it
runs on one core. kb's MkDocs plugin `kb/share` splits that loop using public plugin events
and public attributes only:

- `on_nav` (last): config, file scan and nav are done once; the process forks one child per
  extra core. Each process owns a share of the pages (`shares`: about equal markdown bytes).
- `on_page_markdown` (last, after the tags plugin has read the page): a page that is not the
  process's own gets an empty body when its title comes from its frontmatter (it still feeds
  the nav, the titles and the tags index as in a one-process build), and the empty template
  `kb/empty.html` (kb's theme overrides): MkDocs does not write an empty page.
- `on_env` in a child: no theme assets, no static templates (sitemap, 404): the main process
  writes those. A child writes its pages into the real site folder; what it writes through
  `config.site_dir` (the search index, the tags export) goes to a private dot-folder.
- `on_post_build` (last): a child sends its warnings through a pipe and ends (`os._exit`); the
  main process waits for them, logs the warnings it did not give itself, and puts one search
  index together from its own and the children's, in MkDocs' page order.

A child that fails or dies makes the main process raise `ShareFailed` after the build; kb then
renders again in one process, so an error is reported exactly as a one-process render reports
it. Plugins other than search and tags may need every page rendered in one process (a blog
index, social cards...): with any of them, or when fork is unsafe, the render stays serial.
"""

from __future__ import annotations

import logging
import mmap
import os
import pickle
import select
import shutil
import signal
import struct
import threading
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mkdocs.plugins import BasePlugin, event_priority

from kb import cores, render_nav, searchindex
from kb.render_progress import Progress

NAME = "kb/share"
#: Plugins known to work page by page (what a page shows does not depend on other pages' HTML).
#: Material's only: MkDocs' own search plugin writes a differently ordered (and prebuilt) index.
SAFE_PLUGINS = frozenset({"material/search", "material/tags", "kb/render", "kb/guard", NAME})
#: A page's cost in bytes of markdown: the template costs about as much as 2.5 kB of text.
PAGE_COST = 2500
PART = ".kb-render-{}"
#: The template of a page another process renders: empty output, which MkDocs does not write.
EMPTY = "kb/empty.html"

log = logging.getLogger("mkdocs.kb.share")


class ShareFailed(Exception):
    """A child process failed or died: the caller renders again in one process."""


def jobs(pages: int) -> int:
    """Processes to render `pages` pages with (`kb.cores.PLANS["render"]`: from 200, at most 4)."""
    return cores.jobs("render", pages)


def usable(config: Any) -> bool:
    """Whether this site allows a page-by-page split: its plugins work page by page, and MkDocs
    is not asked to warn about links to anchors (each process knows only its own pages' anchors;
    kb's link stage checks every anchor it resolves before rendering anyway)."""
    anchors = config["validation"]["links"]["anchors"]
    return all(name in SAFE_PLUGINS for name in config["plugins"]) and anchors <= logging.INFO


def split(sizes: list[tuple[int, str]], jobs: int) -> list[set[str]]:
    """(bytes, uri) pairs into `jobs` shares of about equal cost (largest first, to the lightest)."""
    loads: list[int] = [0] * jobs
    out: list[set[str]] = [set() for _ in range(jobs)]
    for size, uri in sorted(sizes, reverse=True):
        lightest = loads.index(min(loads))
        loads[lightest] += size + PAGE_COST
        out[lightest].add(uri)
    return out


def shares(docs_dir: Path, jobs: int) -> list[set[str]]:
    """The markdown files under `docs_dir` (dot-folders left out, as MkDocs does) in `jobs` shares."""
    sizes = []
    for folder, dirs, files in os.walk(docs_dir):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        for name in files:
            if name.endswith(".md"):
                path = os.path.join(folder, name)
                sizes.append((os.path.getsize(path), os.path.relpath(path, docs_dir).replace(os.sep, "/")))
    return split(sizes, jobs)


@dataclass
class _Child:
    index: int
    pid: int
    fd: int  # the read end of its pipe
    folder: Path  # its private site_dir


class _Sink(logging.Handler):
    """MkDocs' warnings from the fork on, in this process."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.said: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.said.append(record.getMessage())


class SharePlugin(BasePlugin):
    """Registered by `kb.render.render` on every render: it shares the pages between `jobs`
    processes (1: none) and counts rendered pages for `progress`."""

    def __init__(self, jobs: int = 1, progress: Progress | None = None, nav: bool = False) -> None:
        super().__init__()
        self.jobs = jobs
        self.progress = progress
        self.cache_nav = nav  # render Material's nav once per group of pages (kb.render_nav)
        #: Pages no process renders: kb.render_cache puts the last build's files in their place.
        self.skip: frozenset[str] = frozenset()
        self._reset()

    def _reset(self) -> None:
        self.index = 0  # 0 in the main process, the share's number in a child
        self.children: list[_Child] = []
        self.owner: dict[str, int] = {}  # src_uri -> share (absent: the main process's)
        self.started: set[int] = set()  # shares a child renders
        self.order: list[str] = []  # page URLs in MkDocs' order
        self.urls: dict[str, int] = {}  # page URL -> share, for the search index
        self.counts: mmap.mmap | None = None  # pages rendered, one 8-byte slot per share
        self.done = 0
        self.sink: _Sink | None = None
        self.pipe = -1
        self.processes = 1
        self.navs: render_nav.NavCache | None = None
        self.extensions: tuple[Any, Any] | None = None  # as configured, from on_nav on
        self.titled: frozenset[str] = frozenset()  # pages the nav gives a title (from on_nav on)
        self.config_seen: Any = None

    def on_config(self, config: Any) -> Any:
        self.close()
        self._reset()
        self.config_seen = config
        return config

    # -- the fork ------------------------------------------------------------------------

    @event_priority(-100)
    def on_nav(self, nav: Any, config: Any, files: Any) -> Any:
        pages = files.documentation_pages()
        if self.progress is not None:
            self.progress.total = sum(1 for f in pages if f.src_uri not in self.skip)
        if self.cache_nav and render_nav.enabled():
            self.navs = render_nav.NavCache(nav, files)
        self.extensions = (config["markdown_extensions"], config["mdx_configs"])
        self.titled = titled_pages(config["nav"] or [])
        if self.jobs <= 1 or threading.active_count() > 1:
            return nav
        sizes = [(os.path.getsize(f.abs_src_path), f.src_uri) for f in pages if f.abs_src_path]
        for index, part in enumerate(split(sizes, self.jobs)):
            for uri in part:
                if index:
                    self.owner[uri] = index
        self.counts = mmap.mmap(-1, 8 * self.jobs)
        self.sink = _Sink()
        logging.getLogger("mkdocs").addHandler(self.sink)
        site_dir = Path(config["site_dir"])
        parent = os.getpid()
        for index in range(1, self.jobs):
            folder = site_dir / PART.format(index)
            try:
                folder.mkdir(parents=True, exist_ok=True)
                reader, writer = os.pipe()
            except OSError:  # out of file descriptors: the shares not started stay here
                break
            try:
                pid = cores.fork()  # the child dies with kb and on Ctrl-C
            except OSError:  # fork failed (memory, process limit): likewise
                os.close(reader)
                os.close(writer)
                break
            if pid == 0:
                os.close(reader)
                self._become_child(index, writer, parent, config, folder)
                return nav
            os.close(writer)
            self.children.append(_Child(index, pid, reader, folder))
            self.started.add(index)
        self.processes = 1 + len(self.children)
        return nav

    def _become_child(self, index: int, writer: int, parent: int, config: Any, folder: Path) -> None:
        for child in self.children:  # the pipes of the children forked before this one
            os.close(child.fd)
        self.children = []
        self.index, self.pipe = index, writer
        self.started = {index}
        config["site_dir"] = str(folder)  # pages keep their destinations, fixed with the files

    def mine(self, uri: str) -> bool:
        if uri in self.skip:
            return False
        share = self.owner.get(uri, 0)
        return share == self.index if self.index else share not in self.started

    # -- pages -----------------------------------------------------------------------------

    @event_priority(-100)
    def on_page_markdown(self, markdown: str, page: Any, config: Any, files: Any) -> str:
        """Last before MkDocs converts the page: a page another process renders (or none, `skip`)
        gets an empty body, converted with no extension (its `Markdown()` then costs a fifth),
        unless its title can only come from its first heading (neither its frontmatter nor the
        nav gives one)."""
        if self.mine(page.file.src_uri):
            self._extensions(config, cheap=False)
            return markdown
        page.meta["template"] = EMPTY
        if not isinstance(page.meta.get("title"), str) and page.file.src_uri not in self.titled:
            self._extensions(config, cheap=False)
            return markdown
        self._extensions(config, cheap=True)
        return ""

    def _extensions(self, config: Any, cheap: bool) -> None:
        """The configured markdown extensions, or none for an empty body (`config` is MkDocs'
        public configuration: `Page.render` reads these two keys for each page). The configured
        ones are those `on_nav` saw, after every plugin's `on_config`, so another plugin that
        empties them for a page of its own (kb/cache) cannot make them look empty here."""
        if self.extensions is None:
            return
        if cheap:
            config["markdown_extensions"], config["mdx_configs"] = [], {}
        elif config["markdown_extensions"] is not self.extensions[0]:
            config["markdown_extensions"], config["mdx_configs"] = self.extensions

    @event_priority(100)
    def on_env(self, env: Any, config: Any, files: Any) -> Any:
        self._extensions(config, cheap=False)  # every page is converted by now
        if not render_nav.install(env, nav=self.navs is not None):  # kb/empty.html, the nav dispatch
            self.navs = None
        if self.index:  # the main process writes the theme's assets and static templates
            for file in list(files):
                if not file.is_documentation_page():
                    files.remove(file)
            config.theme.static_templates.clear()
            config["extra_templates"] = []
        return env

    @event_priority(-100)
    def on_page_context(self, context: Any, page: Any, config: Any, nav: Any) -> Any:
        if self.navs is not None:
            context["kb_nav"] = self.navs
        if not self.index:
            self.order.append(page.url)
            self.urls[page.url] = self.owner.get(page.file.src_uri, 0)
        return context

    @event_priority(-100)
    def on_post_page(self, output: str, page: Any, config: Any) -> str:
        if self.mine(page.file.src_uri):
            self.done += 1
            if self.counts is not None:
                self.counts[8 * self.index : 8 * self.index + 8] = struct.pack("q", self.done)
            if not self.index and self.progress is not None:
                self.progress.show(self.rendered())
        return output

    def rendered(self) -> int:
        if self.counts is None:
            return self.done
        return sum(struct.unpack(f"{self.jobs}q", self.counts[:]))

    # -- the end -----------------------------------------------------------------------------

    @event_priority(-100)
    def on_post_build(self, config: Any) -> None:
        if self.index:
            self._end_child(("ok", self.sink.said if self.sink else []))
        if not self.children:
            self._end_progress()
            return
        results = self._wait()
        self._end_progress()
        if self.sink is not None:
            logging.getLogger("mkdocs").removeHandler(self.sink)
        if any(status != "ok" for status, _ in results.values()):
            raise ShareFailed(", ".join(f"share {i}: {p}" for i, (s, p) in results.items() if s != "ok"))
        mine = self.sink.said if self.sink else []
        for _status, said in results.values():
            given = Counter(mine)
            for warning in said:
                if given[warning]:
                    given[warning] -= 1
                else:
                    log.warning("%s", warning)
        self._merge_search(Path(config["site_dir"]))
        self.close()

    @event_priority(-100)
    def on_build_error(self, error: Exception) -> None:
        if self.config_seen is not None:
            self._extensions(self.config_seen, cheap=False)
        if self.index:
            self._end_child(("error", f"{type(error).__name__}: {error}"))
        self.close()

    def _end_child(self, result: tuple[str, Any]) -> None:
        """Send `result` to the main process and end this process, whatever happens."""
        try:
            data = pickle.dumps(result)
            view = memoryview(data)
            while view:
                view = view[os.write(self.pipe, view) :]
            os.close(self.pipe)
        finally:
            os._exit(0)

    def _wait(self) -> dict[int, tuple[str, Any]]:
        """Every child's result (read as they come, progress meanwhile); ("died", ...) if none."""
        data: dict[int, bytearray] = {child.fd: bytearray() for child in self.children}
        open_fds = set(data)
        while open_fds:
            ready, _, _ = select.select(list(open_fds), [], [], 0.25)
            for fd in ready:
                chunk = os.read(fd, 1 << 16)
                if chunk:
                    data[fd] += chunk
                else:
                    open_fds.discard(fd)
            if self.progress is not None:
                self.progress.show(self.rendered())
        results: dict[int, tuple[str, Any]] = {}
        for child in self.children:
            os.waitpid(child.pid, 0)
            child.pid = 0  # reaped: its number may be another process's from now on
            try:
                results[child.index] = pickle.loads(bytes(data[child.fd]))
            except Exception:  # noqa: BLE001 - killed or out of memory: nothing, or half, was sent
                results[child.index] = ("died", "the process ended without a result")
        return results

    def _end_progress(self) -> None:
        if self.progress is not None:
            self.progress.end(self.rendered())

    def _merge_search(self, site_dir: Path) -> None:
        """One search index: each page's entries from the process that rendered it, pages in
        MkDocs' order, written as Material writes it (`kb.searchindex`)."""
        data = searchindex.read(site_dir)
        if data is None:
            return
        pages = {
            url: entries
            for url, entries in searchindex.by_page(data.get("docs", [])).items()
            if self.urls.get(url, 0) not in self.started
        }
        for child in self.children:
            theirs = searchindex.by_page((searchindex.read(child.folder) or {}).get("docs", []))
            pages.update(
                (url, entries) for url, entries in theirs.items() if self.urls.get(url) == child.index
            )
        searchindex.write(site_dir, data, pages, self.order)

    def close(self) -> None:
        """End any child still running and remove the private folders (main process only)."""
        if self.sink is not None:
            logging.getLogger("mkdocs").removeHandler(self.sink)
        for child in self.children:
            if child.pid:
                try:
                    os.kill(child.pid, signal.SIGKILL)
                    os.waitpid(child.pid, 0)
                except (ProcessLookupError, ChildProcessError):
                    pass
            try:
                os.close(child.fd)
            except OSError:
                pass
            shutil.rmtree(child.folder, ignore_errors=True)
        self.children = []


def titled_pages(nav: list[Any]) -> frozenset[str]:
    """The pages a nav (as `mkdocs.yml` writes it) gives a title of their own (`{title: path}`):
    MkDocs titles them from the nav, whatever their body says."""
    out: set[str] = set()
    stack = list(nav)
    while stack:
        entry = stack.pop()
        if isinstance(entry, dict):
            for value in entry.values():
                if isinstance(value, str):
                    out.add(value)
                elif isinstance(value, list):
                    stack.extend(value)
    return frozenset(out)


def add(config: Any, jobs: int, progress: Progress | None, nav: bool = False) -> SharePlugin:
    """kb's share plugin in a loaded config (the same one again when rendering it again)."""
    plugin = config["plugins"].get(NAME)
    if not isinstance(plugin, SharePlugin):
        plugin = SharePlugin()
        config["plugins"][NAME] = plugin
    plugin.jobs, plugin.progress, plugin.cache_nav = jobs, progress, nav
    return plugin
