"""Render with MkDocs in several processes that fork inside one build: the same site, byte for byte.

Most of a kb build is MkDocs' page loop (Python-Markdown, then the theme's templates), and it
runs on one core. kb's MkDocs plugin `kb/share` splits that loop using public plugin events
and public attributes only:

- `on_nav` (last): config, file scan and nav are done once; the process forks one child per
  extra core. Each process owns a share of the pages (`shares`: about equal markdown bytes).
- `on_files` (last): each markdown page's `File` is kb's `Unread` (a subclass, same paths),
  whose public `is_modified()` says whether this process needs the page. kb then runs
  MkDocs' build with `dirty=True` (what `mkdocs build --dirty` does), so MkDocs neither reads
  nor converts nor writes a page another process renders, when nothing another page shows
  comes from it (`leave_unread`): its title is in the nav, its frontmatter holds no key
  Material shows on other pages (a nav icon, subtitle or status, tags), and it holds no tags
  listing (which the tags plugin links every page's tags to). The main process renders every
  tags listing and writes the tags export, so a child leaves tagged pages unread too.
- `on_page_markdown` (last, after the tags plugin has read the page): any other page that is
  not the process's own (one with tags, say) is read but gets an empty body when its title
  comes from its frontmatter (it still feeds the nav, the titles and the tags index as in a
  one-process build), and the empty template `kb/empty.html` (kb's theme overrides): MkDocs
  does not write an empty page.
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
import re
import select
import shutil
import signal
import struct
import threading
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mkdocs.plugins import BasePlugin, event_priority
from mkdocs.structure.files import File, Files

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
#: What MkDocs warns of when `dirty=True`: its own `--dirty` guesses at what changed, where kb
#: knows which pages another process renders or the cache holds. The warning is dropped (as
#: Material's projects plugin does for its own dirty builds).
DIRTY_WARNING = "A 'dirty' build is being performed"
#: Frontmatter keys whose values Material shows on other pages than their own: a nav entry's
#: icon, subtitle and status. The tags plugin's key (`tags` unless configured) is added to these.
SHOWN_ELSEWHERE = ("icon", "subtitle", "status")
#: A top-level line of a frontmatter block: a plain key and a colon (anything else, such as a
#: quoted key or a flow mapping, is read as unknown: the page is then read as usual).
_KEY_LINE = re.compile(rb"([A-Za-z_][\w-]*)[ \t]*:")


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
        #: What kb.render_cache kept of the last build's reads (`head`) of pages whose bytes
        #: are the same; kept across `on_config`, like `skip`.
        self.known_heads: dict[str, Head] = {}
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
        self.in_nav: frozenset[str] = frozenset()  # pages the nav lists (from on_nav on)
        self.shown: frozenset[bytes] = frozenset()  # frontmatter keys shown on other pages
        self.listing: re.Pattern[bytes] | None = None  # the tags plugins' listing directive
        self.tag_keys: frozenset[bytes] = frozenset()  # the frontmatter keys tags are read from
        self.unread: dict[str, bool] = {}  # src_uri -> left unread here (asked twice: the same)
        self.heads: dict[str, Head] = {}  # src_uri -> what one read of it told (`head`)
        self.config_seen: Any = None

    def on_config(self, config: Any) -> Any:
        self.close()
        self._reset()
        self.config_seen = config
        return config

    # -- pages left unread ----------------------------------------------------------------

    def leaves_pages_unread(self, config: Any) -> bool:
        """Whether this build may leave pages unread (MkDocs' build then runs with `dirty=True`):
        there are pages another process renders or the cache holds, and the theme is Material's
        own with kb's overrides only (a site's own templates might show any page's frontmatter
        on another)."""
        return (self.jobs > 1 or bool(self.skip)) and stock_theme(config)

    @event_priority(-100)
    def on_files(self, files: Files, config: Any) -> Files:
        """Every markdown page as an `Unread` (the same file, asking this plugin whether it is
        needed here), when the build may leave pages unread."""
        if not self.leaves_pages_unread(config):
            return files
        keys, self.listing = _tags(config)
        self.tag_keys = frozenset(k.encode() for k in keys)
        self.shown = frozenset(k.encode() for k in SHOWN_ELSEWHERE) | self.tag_keys
        return Files([Unread.of(f, self) if f.is_documentation_page() else f for f in files])

    def leave_unread(self, file: File) -> bool:
        """True for a page this process neither reads nor renders: another one renders it (or
        the cache holds it), its nav entry has its title, and nothing of its frontmatter shows
        on another page."""
        uri = file.src_uri
        known = self.unread.get(uri)
        if known is None:
            known = (
                not self.mine(uri)
                and (uri in self.titled or uri not in self.in_nav)
                and not self.head(file).shows(self.shown)
            )
            self.unread[uri] = known
        return known

    def head(self, file: File) -> Head:
        """`read_head` of a page, read once per build (the fork finds the tags listings with it
        before this process asks which pages it may leave unread)."""
        head = self.heads.get(file.src_uri) or self.known_heads.get(file.src_uri)
        if head is None:
            head = self.heads[file.src_uri] = read_head(file.abs_src_path, self.listing)
        return head

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
        self.in_nav = frozenset(page.file.src_uri for page in nav.pages)
        if self.jobs <= 1 or threading.active_count() > 1:
            return nav
        sizes = [(os.path.getsize(f.abs_src_path), f.src_uri) for f in pages if f.abs_src_path]
        for index, part in enumerate(split(sizes, self.jobs)):
            for uri in part:
                if index:
                    self.owner[uri] = index
        if self.listing is not None:  # the main process renders every tags listing
            for file in pages:
                if self.head(file).listing:
                    self.owner.pop(file.src_uri, None)
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
        # no tags listing is rendered here and the tags export written here is dropped: what
        # another process's page shows is no longer its tags, only what its nav entry shows
        self.shown -= self.tag_keys
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
        if not self.index:  # MkDocs' page order (the search index's), read or not
            for file in files.documentation_pages():
                if file.page is not None:
                    self.order.append(file.page.url)
                    self.urls[file.page.url] = self.owner.get(file.src_uri, 0)
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


class Unread(File):
    """A markdown page whose `is_modified()` is kb's share plugin's answer: whether this process
    needs the page. MkDocs asks it, in a dirty build only, before it reads a page and before it
    renders one (`mkdocs.commands.build`); a page it is not modified for is neither."""

    plugin: SharePlugin

    @classmethod
    def of(cls, file: File, plugin: SharePlugin) -> File:
        """`file` as an `Unread`: a copy of its attributes (what MkDocs or a plugin set or
        computed so far), not a new `File` built from its paths, which cost 40 µs a page, half
        a second at 10,000 pages. A page made in memory, or of a subclass of `File` (another
        plugin's), stays itself and is read as usual."""
        if file.generated_by is not None or file.src_dir is None or type(file) is not File:
            return file
        copy = cls.__new__(cls)
        copy.__dict__.update(vars(file))
        copy.plugin = plugin
        return copy

    def is_modified(self) -> bool:
        return not self.plugin.leave_unread(self)


def stock_theme(config: Any) -> bool:
    """Whether the theme is Material with no templates but its own (and MkDocs') and kb's
    built-in overrides: then kb knows which frontmatter keys a page shows of another
    (`SHOWN_ELSEWHERE`). A site's own templates might show any key of any page. A folder that
    holds the very files of kb's overrides counts as them (this repository's own
    `templates/overrides/`, built by an installed kb, or a handbook that copied them)."""
    from importlib.util import find_spec

    import mkdocs

    from kb.templating import default_templates

    theme = config["theme"]
    builtin = default_templates() / "overrides"
    allowed = {
        os.path.realpath(folder)
        for folder in (
            builtin,
            Path(getattr(find_spec("material"), "origin", None) or ".").parent / "templates",
            Path(mkdocs.__file__).parent / "templates",
        )
    }
    return theme.name == "material" and all(
        os.path.realpath(d) in allowed or _same_files(Path(d), builtin) for d in theme.dirs
    )


def _same_files(folder: Path, builtin: Path) -> bool:
    """Whether `folder` holds exactly the files of `builtin`, byte for byte: the names first
    (a site's own `custom_dir` may hold many files, none of them read then), then the bytes."""

    def names(top: Path) -> list[str] | None:
        out = []
        for path in top.rglob("*"):
            if path.is_symlink():
                return None
            if path.is_file():
                out.append(path.relative_to(top).as_posix())
        return sorted(out)

    try:
        mine = names(folder)
        if not mine or mine != names(builtin):
            return False
        return all((folder / rel).read_bytes() == (builtin / rel).read_bytes() for rel in mine)
    except OSError:
        return False


def _tags(config: Any) -> tuple[tuple[str, ...], re.Pattern[bytes] | None]:
    """The frontmatter keys the tags plugins read tags from (Material's: `tags`) and the
    directive of their listings (Material's `<!-- material/tags -->`), as one pattern."""
    keys, directives = [], []
    for name, plugin in config["plugins"].items():
        if name.endswith("tags"):
            settings = getattr(plugin, "config", None)
            key = getattr(settings, "tags_name_property", None)
            directive = getattr(settings, "listings_directive", None)
            keys.append(key if isinstance(key, str) else "tags")
            directives.append(directive if isinstance(directive, str) else "material/tags")
    if not directives:
        return (), None
    either = b"|".join(re.escape(d.encode()) for d in directives)
    return tuple(keys), re.compile(rb"<!--\s*(?:" + either + rb")")


@dataclass(frozen=True)
class Head:
    """What one read of a markdown page tells about what another page may show of it: whether
    it holds a tags listing, and its frontmatter's top-level keys (None: cannot be told without
    YAML, or the file cannot be read; the page is then read as usual)."""

    listing: bool
    keys: frozenset[bytes] | None

    def shows(self, wanted: Iterable[bytes]) -> bool:
        return self.listing or self.keys is None or not self.keys.isdisjoint(wanted)


def read_head(path: str | None, listing: re.Pattern[bytes] | None) -> Head:
    """One read of the markdown file at `path`: about 20 µs a page, where MkDocs' read, YAML and
    `Markdown()` of a page it renders empty cost about 1 ms. `listing`: the tags plugins'
    directive, where a tags listing lists every tagged page."""
    if path is None:
        return Head(False, None)
    try:
        with open(path, "rb") as fh:
            data = fh.read()
    except OSError:
        return Head(False, None)
    found = listing is not None and listing.search(data) is not None
    if not data.startswith(b"---"):  # no YAML: MultiMarkdown-style `Key: value` lines?
        return Head(found, None if _KEY_LINE.match(data) else frozenset())
    ends = [i for i in (data.find(b"\n---", 3), data.find(b"\n...", 3)) if i >= 0]
    if not ends:
        return Head(found, None)
    keys = set()
    for line in data[data.find(b"\n") + 1 : min(ends) + 1].splitlines():
        if not line.strip() or line[:1] in (b" ", b"\t", b"#", b"-"):
            continue  # a value's continuation, a comment, a list item
        match = _KEY_LINE.match(line)
        if match is None:
            return Head(found, None)
        keys.add(match.group(1))
    return Head(found, frozenset(keys))


def shows_elsewhere(path: str | None, keys: Iterable[bytes], listing: re.Pattern[bytes] | None) -> bool:
    """Whether the markdown file at `path` has something another page shows: a top-level
    frontmatter key in `keys` (or a frontmatter that cannot be told without YAML), or a tags
    listing (`listing`: every process must see it to link a page's tags to it)."""
    return read_head(path, listing).shows(keys)


def add(config: Any, jobs: int, progress: Progress | None, nav: bool = False) -> SharePlugin:
    """kb's share plugin in a loaded config (the same one again when rendering it again)."""
    plugin = config["plugins"].get(NAME)
    if not isinstance(plugin, SharePlugin):
        plugin = SharePlugin()
        config["plugins"][NAME] = plugin
    plugin.jobs, plugin.progress, plugin.cache_nav = jobs, progress, nav
    return plugin
