"""Cached renders: render again only the pages whose HTML can have changed, reuse the rest.

A page's HTML is a function of its emitted markdown and of what every page shares: the site's
configuration, the theme's templates, the nav (with `navigation.prune` a page shows its own
path of it, with `navigation.footer` its neighbours' titles), and the versions of kb, MkDocs,
Material and the markdown extensions. kb keeps, beside its emitted tree, the site it last
rendered and a key per page; the next build renders only pages whose key changed.

How a page is left out uses MkDocs' public plugin events only, through kb's share plugin
(`kb.render_parallel`, whose `skip` set names the pages no process renders):

- a kept page whose nav entry has its title and whose frontmatter shows nowhere else (no tags,
  no nav icon...) is not even read: MkDocs' dirty build asks its `File.is_modified()`;
- any other kept page is still read, so the nav, the titles and the tags plugin's index are
  the complete ones (a page whose title comes from its first heading is still converted); it
  gets an empty body, converted with no markdown extension, and the empty template
  `kb/empty.html`, so MkDocs writes nothing for it (the `kb/cache` plugin notes its URL);
- the kept pages' files come from the cache's copy of the last site, whose folders are moved
  into the staging folder before the render (`_recycle`: a few renames, where making the folders
  again cost one `mkdir` a page); the files of the pages rendered again or gone are removed from
  it first, so MkDocs writes new files and never into one the live site shares. Their search
  entries join the new index, in MkDocs' page order;
- once the new site is swapped in, the previous site, moved aside, becomes the cache's copy of
  the new one (`save`): its files of pages kept are already the new site's (the same hard
  links), the rest are removed and the pages rendered anew linked in. Neither tree is made
  folder by folder nor removed on a build that renders a few pages, where making and removing
  one folder a page took longer than the render (and a removal running behind kb slowed the
  next build's file system calls).

What is shared decides, not guesses: one digest of everything shared (`shared_digest`); when it
differs, the cache is missing, unreadable or from another kb, or a plugin might show one page on
another (anything but search and tags), the render is a clean one. The state file is removed
before a render starts and written after it succeeded, so a build that fails half-way leaves no
cache to trust. A property test (tests/test_render_cache.py) applies random edits and checks
that the cached site is byte for byte the clean one.
"""

from __future__ import annotations

import functools
import hashlib
import json
import marshal
import os
import re
import shutil
import stat
import sys
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mkdocs.plugins import BasePlugin, event_priority

from kb import __version__, render_parallel, searchindex
from kb.output import MARKER

if TYPE_CHECKING:
    from kb.findings import Finding
    from kb.pipeline import Checked
    from kb.settings import Settings

NAME = "kb/cache"
#: Bumped when what the cache holds changes shape: an old cache is then ignored.
FORMAT = 3
#: The state: marshal behind a digest of it (a JSON state of 10,000 pages took 0.15 s to read
#: and write; marshal 0.04 s), read only by the interpreter version that wrote it.
STATE = "state.bin"
SITE = "site"
SEARCH = "search.json"
#: Material's tags listing marker: a page holding it lists every page's tags.
LISTING = b"<!-- material/tags"
#: Configuration keys that do not reach a page: where the site is written (a staging folder).
NOT_SHARED = frozenset({"site_dir"})
#: An object's address in its repr: different in every process.
_ADDRESS = re.compile(r" at 0x[0-9a-fA-F]+")
#: Distributions whose code shapes the HTML of every page.
RENDERERS = ("mkdocs", "mkdocs-material", "markdown", "pymdown-extensions", "pygments", "jinja2")


@dataclass
class Plan:
    """What one cached render does: everything (`full`, with why), or every page but `keep`."""

    digest: str
    keys: dict[str, str]
    stats: dict[str, list[int]] = field(default_factory=dict)  # src_uri -> its emitted file's `_sig`
    spans: dict[str, Any] = field(default_factory=dict)  # the last index's page URL -> [start, end]
    heads: dict[str, Any] = field(default_factory=dict)  # src_uri -> a kept page's `_head` (as JSON)
    full: str = ""  # why the whole site is rendered; empty when the cache serves
    keep: dict[str, str] = field(default_factory=dict)  # src_uri -> dest_uri of pages reused
    cached: dict[str, str] = field(default_factory=dict)  # src_uri -> dest_uri in the cache before


class RenderCache:
    """The last rendered site and its keys, in `folder` (kb's cache: `.kb-cache/render`)."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.plan: Plan | None = None
        self.site_dir: Path | None = None  # where the last run rendered
        self.order: list[str] = []  # every page's URL in MkDocs' order, as the last run read them
        self.kept_urls: set[str] = set()  # the URLs of the pages it reused (as MkDocs writes them)
        self.recycled: Path | None = None  # the staging folder the cached site was moved into
        self.spans: searchindex.Spans | None = None  # where each page's entries are in the new index
        self.share: render_parallel.SharePlugin | None = None  # a cached render's (what it read)

    # -- the render -------------------------------------------------------------------------

    def runner(
        self,
        render: Callable[[Any, int], Any],
        jobs: int,
        nav: list[Any],
        usable: Callable[[Any], bool],
        clean: bool = False,
    ) -> Callable[[Any], Any]:
        """A `run(config)` for `kb.render_guard.guarded`: plan, render all or part, restore the rest.

        `render(config, jobs)` renders (kb.render.render); `usable(config)` says whether the site's
        plugins work page by page (kb.render_parallel.usable), without which nothing is reused."""

        def run(config: Any) -> Any:
            site_dir = self.site_dir = Path(config["site_dir"])
            if self.recycled is not None:  # a render kb.render_guard runs again: start empty, as
                _empty(self.recycled)  # a full render must not write into the live site's links
                self.recycled = None
            self.order.clear()
            self.kept_urls.clear()
            self.spans = None
            self.share = None
            plan = self.plan = self._plan(config, nav, usable(config))
            if clean:
                plan.full, plan.keep = "--clean", {}
            self.forget()  # from here on the cache is trusted again only once this render succeeded
            recycled = False
            if not plan.full and plan.keep and render_parallel.stock_theme(config):
                # only into a dirty build (the share plugin's `leaves_pages_unread`): a clean
                # one empties the staging folder first. It may give the cache up: plan.full
                recycled = self._recycle(plan, site_dir)
            if plan.full:
                rendered = render(config, jobs)
            else:
                config["plugins"][NAME] = KeepPlugin(self, plan, _tags_variable(config))
                share = render_parallel.add(config, 1, None)
                share.skip = frozenset(plan.keep)
                share.known_heads = _heads(plan)  # a kept page's bytes are the ones read last time
                self.share = share
                rendered = render(config, 1)
                self._restore(plan, site_dir, linked=recycled)
            rendered.pages, rendered.reused = len(plan.keys), len(plan.keep) if not plan.full else 0
            rendered.why_all = plan.full
            return rendered

        return run

    def _plan(self, config: Any, nav: list[Any], page_by_page: bool) -> Plan:
        docs = Path(config["docs_dir"])
        stats = _pages(docs)
        digest = shared_digest(config, nav)
        state = self._state()
        known = (state["stats"], state["keys"]) if state is not None else None
        keys = page_keys(docs, stats, _has_tags(config), known)
        plan = Plan(digest, keys, stats)
        if not page_by_page:
            plan.full = "a plugin may show one page on another"
        elif state is None:
            plan.full = "no cache"
        elif state["digest"] != digest:
            plan.full = "the configuration, templates, nav or versions changed"
        elif (search := _search_state(state)) is None or search.get("sig") != _file_sig(self.folder / SEARCH):
            plan.full = "the cache's search index is not the one it wrote"
        else:
            plan.spans = search.get("spans") or {}
            plan.heads = state["heads"] if isinstance(state.get("heads"), dict) else {}
            old_keys, dests, files = state["keys"], state["dests"], state["files"]
            plan.cached = dests
            site = os.fspath(self.folder / SITE) + os.sep
            # a cached file must be the one saved: a step that rewrote the published page in
            # place (its hard link) changed it, and a kept page is taken as it is
            plan.keep = {
                uri: dests[uri]
                for uri, key in keys.items()
                if old_keys.get(uri) == key
                and uri in dests
                and _file_sig(site + dests[uri]) == files.get(dests[uri])
            }
        return plan

    def _recycle(self, plan: Plan, site_dir: Path) -> bool:
        """Move the cached site (the last site's pages, nothing else) into the empty staging
        folder `site_dir`, then remove from it the pages that are not kept: MkDocs writes those
        anew. False, with the cache as it was, where it cannot (another file system, a staging
        folder that is not empty): `_restore` then links (or copies) the kept pages in one by
        one. Should what was moved not go back, the cache is given up: every page is rendered."""
        cached, moved = self.folder / SITE, []
        try:
            if not cached.is_dir() or any(n != MARKER for n in os.listdir(site_dir)):
                return False
            self.recycled = site_dir
            for entry in os.listdir(cached):
                os.rename(cached / entry, site_dir / entry)
                moved.append(entry)
            cached.rmdir()
        except OSError:
            self.recycled = None
            try:
                for entry in moved:
                    os.rename(site_dir / entry, cached / entry)
            except OSError:
                _empty(site_dir)
                plan.full, plan.keep = "the cache could not be moved into the staging folder", {}
            return False
        for uri, dest in plan.cached.items():
            if uri not in plan.keep:
                path = site_dir / dest
                path.unlink(missing_ok=True)  # never written into: the live site shares its bytes
                if uri not in plan.keys:  # gone: so are the folders only it needed
                    _prune(path, site_dir)
        return True

    def _restore(self, plan: Plan, site_dir: Path, linked: bool = False) -> None:
        """Put the kept pages' files into the new site (unless `_recycle` already did: `linked`)
        and their search entries into its index."""
        cached = self.folder / SITE
        made: set[Path] = set()
        for dest in () if linked else plan.keep.values():
            target = site_dir / dest
            _folder(target.parent, made)
            _link(cached / dest, target)
        data = searchindex.read(site_dir)  # the pages rendered now
        if data is None:
            return
        fragments = {
            url: searchindex.fragment(e) for url, e in searchindex.by_page(data.get("docs", [])).items()
        }
        fragments.update(self._kept_entries(plan))
        urls = searchindex.ordered(fragments, self.order)
        self.spans = searchindex.write_fragments(site_dir, data, ((url, fragments[url]) for url in urls))

    def _kept_entries(self, plan: Plan) -> dict[str, bytes]:
        """The kept pages' entries, as they stand in the last index (`searchindex.fragment`): cut
        from its bytes where the state says they lie, else (after a full render, which leaves
        no spans) from the index parsed."""
        try:
            raw = (self.folder / SEARCH).read_bytes()  # the last site's whole index (save links it)
        except OSError:
            return {}
        spans = plan.spans
        if spans:
            out = {}
            for url in self.kept_urls:
                span = spans.get(url)
                if isinstance(span, list | tuple) and len(span) == 2 and 0 <= span[0] <= span[1] <= len(raw):
                    out[url] = raw[span[0] : span[1]]
            return out
        try:
            index = json.loads(raw)
        except ValueError:
            return {}
        if not isinstance(index, dict) or not isinstance(index.get("docs"), list):
            return {}
        old = searchindex.by_page(index["docs"])
        return {url: searchindex.fragment(old[url]) for url in self.kept_urls if url in old}

    # -- the state ----------------------------------------------------------------------------

    def save(self, site: Path | None = None, old: Path | None = None) -> bool:
        """Keep the site just rendered as the cache for the next build: a tree of hard links to
        its pages (`_mirror`), its search index, then the state. `site`: where the site is now
        (after the swap; default where it was rendered). `old`: the previous site, moved aside,
        whose folders the cache takes over when it has none of its own left (the usual build,
        whose cached tree `_recycle` moved into the new site). True: `old` was taken over (or
        removed), so the caller must not remove it."""
        plan, site = self.plan, site or self.site_dir
        if plan is None or site is None:
            return False
        cached, base, taken = self.folder / SITE, self.folder / (SITE + ".new"), False
        pages = {uri: plan.keep.get(uri) or _dest(uri) for uri in plan.keys}
        files = _page_files(site, pages.values())
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            shutil.rmtree(base, ignore_errors=True)  # left by a build killed while saving
            if cached.is_dir():  # a full render's, or one `_recycle` could not move
                os.rename(cached, base)
            elif old is not None and old.is_dir():
                try:
                    os.rename(old, base)
                    taken = True
                except OSError:
                    pass  # on another file system: the tree is made afresh
            held = _mirror(base, site, files)
            os.rename(base, cached)
        except OSError:
            shutil.rmtree(base, ignore_errors=True)
            return taken
        index = site / searchindex.PATH
        if index.is_file():  # the site's search index itself, hard linked: no copy to write
            _link(index, self.folder / SEARCH)
        else:
            (self.folder / SEARCH).unlink(missing_ok=True)
        search = {"sig": _file_sig(self.folder / SEARCH), "spans": self.spans if not plan.full else None}
        state = {
            "format": FORMAT,
            "kb": __version__,
            "digest": plan.digest,
            "keys": plan.keys,
            "stats": plan.stats,
            "dests": {uri: dest for uri, dest in pages.items() if dest in files},
            "files": held,
            "search": search,
            "heads": {
                uri: [head.listing, sorted(k.decode("latin-1") for k in head.keys)]
                for uri, head in self._heads_read().items()
                if uri in plan.keys and head.keys is not None
            },
        }
        _write_state(self.folder / STATE, state)  # last: the cache counts only once it is whole
        return taken

    def _heads_read(self) -> dict[str, render_parallel.Head]:
        share = self.share
        return {**share.known_heads, **share.heads} if share is not None else {}

    def forget(self) -> None:
        (self.folder / STATE).unlink(missing_ok=True)

    def _state(self) -> dict[str, Any] | None:
        state = _read_state(self.folder / STATE)
        if not isinstance(state, dict) or state.get("format") != FORMAT or state.get("kb") != __version__:
            return None
        if (
            not all(isinstance(state.get(k), dict) for k in ("keys", "stats", "dests", "files"))
            or "digest" not in state
        ):
            return None
        return state


class KeepPlugin(BasePlugin):
    """Notes, once MkDocs has read the pages, their order and the URLs of those the cache serves
    (kb's share plugin, `kb.render_parallel`, leaves those unread, or, when another page shows
    something of them, gives them an empty body and template: `skip`), and spares the latter
    the tags plugin's references for their template (its `tags` variable), which would be
    computed for the empty template, which shows nothing: the variable is set empty first,
    which the tags plugin leaves as it is."""

    def __init__(self, cache: RenderCache, plan: Plan, tags_variable: str | None = None) -> None:
        super().__init__()
        self.keep = plan.keep
        self.order = cache.order
        self.kept_urls = cache.kept_urls
        self.tags_variable = tags_variable

    def on_env(self, env: Any, config: Any, files: Any) -> Any:
        for file in files.documentation_pages():  # every page, read or left unread
            if file.page is None:
                continue
            self.order.append(file.page.url)  # MkDocs' page order: the search index's
            if file.src_uri in self.keep:
                self.kept_urls.add(file.page.url)  # MkDocs' own (percent-encoded) URL: the index's key
        return env

    @event_priority(100)  # before the tags plugin's
    def on_page_context(self, context: Any, page: Any, config: Any, nav: Any) -> Any:
        if (
            self.tags_variable
            and page.file.src_uri in self.keep
            and page.meta.get("template") == render_parallel.EMPTY
        ):
            context.setdefault(self.tags_variable, [])
        return context

    @event_priority(-100)  # after every other plugin's
    def on_post_page(self, output: str, page: Any, config: Any) -> str:
        """A kept page is never written (MkDocs writes no empty page): its file in the new site
        is the live site's own, a hard link `_recycle` moved in, which a write would change."""
        return "" if page.file.src_uri in self.keep else output


def _tags_variable(config: Any) -> str | None:
    """The template variable Material's tags plugin fills for each page (None: no such plugin)."""
    for name, plugin in config["plugins"].items():
        variable = getattr(getattr(plugin, "config", None), "tags_name_variable", None)
        if name.endswith("tags") and isinstance(variable, str):
            return variable
    return None


# -- keys --------------------------------------------------------------------------------------


def shared_digest(config: Any, nav: list[Any]) -> str:
    """One digest of everything every page shows or is rendered with."""
    h = hashlib.sha256()
    h.update(f"{FORMAT} {__version__} {own_code()}\n".encode())
    for dist in RENDERERS:
        try:
            h.update(f"{dist} {metadata.version(dist)}\n".encode())
        except metadata.PackageNotFoundError:
            h.update(f"{dist} -\n".encode())
    shared = {k: v for k, v in config.items() if k not in NOT_SHARED}
    h.update(json.dumps(_stable(shared), sort_keys=True, default=str).encode())
    h.update(json.dumps(nav, sort_keys=True, ensure_ascii=False).encode())
    package_dirs = _package_dirs()
    for folder in config["theme"].dirs:
        if any(Path(folder).resolve().is_relative_to(p) for p in package_dirs):
            continue  # Material's own templates: its version says it all
        for path in sorted(Path(folder).rglob("*")):
            if path.is_file():
                h.update(f"{path.relative_to(folder)}\n".encode())
                h.update(hashlib.sha256(path.read_bytes()).digest())
    return h.hexdigest()


def page_keys(
    docs: Path,
    pages: Mapping[str, list[int]],
    tags: bool,
    known: tuple[Mapping[str, Any], Mapping[str, Any]] | None = None,
) -> dict[str, str]:
    """A key per page: its emitted bytes (and, for a tags listing when `tags`, every page's
    frontmatter and path: what a listing shows of the others). `pages`: each page's file's
    `_sig`; `known`: the last build's signatures and keys, whose key a page keeps when its
    file's signature is the same, unread (emit replaces a file it changes, never writes into
    it: a new inode). With `tags` every page is read: a listing's key needs them all."""
    keys, listings = {}, []
    listing = hashlib.sha256()
    sigs, old = known if known is not None and not tags else ({}, {})
    for uri in sorted(pages):
        if sigs.get(uri) == pages[uri] and isinstance(old.get(uri), str):
            keys[uri] = old[uri]
            continue
        data = (docs / uri).read_bytes()
        if tags:
            _listing_part(listing, uri, data)
            if LISTING in data:
                listings.append(uri)
        keys[uri] = hashlib.sha256(data).hexdigest()
    if listings:
        digest = listing.hexdigest()
        for uri in listings:
            keys[uri] = hashlib.sha256(f"{keys[uri]}{digest}".encode()).hexdigest()
    return keys


def _listing_part(h: Any, uri: str, data: bytes) -> None:
    """A page's frontmatter and path into `h`: what a tags listing shows of the others."""
    end = data.find(b"\n---", 3) if data.startswith(b"---") else -1
    h.update(uri.encode() + b"\0" + (data[: end + 4] if end >= 0 else b"") + b"\0")


def _stable(value: Any) -> Any:
    """The configuration as plain data that is the same from run to run (objects by type and
    their config, functions by qualified name: never by address)."""
    if isinstance(value, Mapping):
        return {str(k): _stable(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        items = [_stable(v) for v in value]
        return sorted(items, key=repr) if isinstance(value, set | frozenset) else items
    if value is None or isinstance(value, str | int | float | bool):
        return value
    if isinstance(value, functools.partial):
        return {"partial": _stable(value.func), "args": _stable(value.args), "kw": _stable(value.keywords)}
    if callable(value) and hasattr(value, "__qualname__"):
        return f"{getattr(value, '__module__', '')}.{value.__qualname__}"
    config = getattr(value, "config", None)
    if isinstance(config, Mapping):  # a plugin: its settings
        return {"type": type(value).__qualname__, "config": _stable(config)}
    if hasattr(value, "dirs") and hasattr(value, "name"):  # the theme
        return {"name": value.name, "dirs": list(value.dirs), "options": _stable(dict(value.items()))}
    return _ADDRESS.sub("", f"{type(value).__module__}.{type(value).__qualname__}:{value}")


def _has_tags(config: Any) -> bool:
    return any(name.endswith("tags") for name in config["plugins"])


def _pages(docs: Path) -> dict[str, list[int]]:
    """Every markdown page of the emitted tree (src_uri -> `_sig` of its file), in one walk."""
    out: dict[str, list[int]] = {}

    def visit(folder: str, prefix: str) -> None:
        with os.scandir(folder) as listing:
            for entry in listing:
                if entry.name.startswith("."):
                    continue
                if entry.is_dir(follow_symlinks=False):
                    visit(entry.path, prefix + entry.name + "/")
                elif entry.name.endswith(".md"):
                    out[prefix + entry.name] = _sig(entry.stat())

    visit(os.fspath(docs), "")
    return out


def _heads(plan: Plan) -> dict[str, render_parallel.Head]:
    """The kept pages' `render_parallel.Head`s the last build read (a page's head is a function
    of its bytes, which its key holds, and of the tags plugins' directive, which the shared
    digest does): one read less a page, 0.2 s at 10,000 pages."""
    out = {}
    for uri in plan.keep:
        head = plan.heads.get(uri)
        if isinstance(head, list | tuple) and len(head) == 2 and isinstance(head[1], list | tuple):
            out[uri] = render_parallel.Head(bool(head[0]), frozenset(k.encode("latin-1") for k in head[1]))
    return out


def _search_state(state: Mapping[str, Any]) -> dict[str, Any] | None:
    search = state.get("search")
    return search if isinstance(search, dict) and isinstance(search.get("spans") or {}, dict) else None


def _file_sig(path: str | Path) -> list[int] | None:
    """`_sig` of the file at `path`, None when there is none."""
    try:
        return _sig(os.stat(path))
    except OSError:
        return None


def _sig(st: os.stat_result) -> list[int]:
    """What says a file is the one last seen: inode, size, time of last write (a list: as JSON)."""
    return [st.st_ino, st.st_size, st.st_mtime_ns]


def _dest(uri: str) -> str:
    """Where MkDocs writes a page (use_directory_urls, which kb always sets): MkDocs' own rule."""
    from mkdocs.structure.files import File

    return File(uri, "/", "/", use_directory_urls=True).dest_uri


@functools.cache
def own_code() -> str:
    """A digest of kb's own modules: an installed kb keeps its version number from commit to
    commit, and its plugins shape the HTML too."""
    h = hashlib.sha256()
    for path in sorted(Path(__file__).parent.glob("*.py")):
        h.update(path.name.encode() + b"\0" + path.read_bytes())
    return h.hexdigest()


def _package_dirs() -> list[Path]:
    from importlib.util import find_spec

    spec = find_spec("material")
    return [Path(spec.origin).resolve().parent] if spec and spec.origin else []


def _link(source: Path, target: Path) -> None:
    """A hard link (the site and its cache share their bytes), else a copy."""
    target.unlink(missing_ok=True)
    try:
        os.link(source, target)
    except OSError:
        shutil.copy2(source, target)


def _page_files(site: Path, dests: Iterable[str]) -> dict[str, tuple[int, int]]:
    """The site's page files that are there (dest -> device and inode): what the cache links."""
    out = {}
    for dest in dests:
        try:
            st = os.stat(site / dest)
        except OSError:
            continue
        if stat.S_ISREG(st.st_mode):
            out[dest] = (st.st_dev, st.st_ino)
    return out


def _mirror(base: Path, site: Path, files: Mapping[str, tuple[int, int]]) -> dict[str, list[int]]:
    """Make `base` hold exactly `files` (dest -> device and inode in `site`), each a hard link
    of the site's file: a file already linked to it stays, every other file goes (the old
    site's assets and redirects, pages rendered anew or gone, anything else), a missing one is
    linked (copied across file systems); empty folders go. A symbolic link is removed, never
    followed. The tree it starts from (the last site, or the last cache) shares all but a few
    pages with the new site, so this is one `lstat` a file and a few links, where a tree made
    afresh is a `mkdir` a page. Returns each file's `_sig` as it is in `base`."""
    base.mkdir(parents=True, exist_ok=True)
    have: dict[str, list[int]] = {}
    needed = {""}  # the folders the files are in, and theirs: kept, not removed and made again
    for rel in files:
        cut = rel.rfind("/")
        while cut > 0 and rel[: cut + 1] not in needed:
            needed.add(rel[: cut + 1])
            cut = rel.rfind("/", 0, cut)

    def visit(folder: str, prefix: str) -> bool:
        """Prune `folder`; whether it was left empty."""
        empty = True
        with os.scandir(folder) as listing:
            entries = list(listing)
        for entry in entries:
            rel = prefix + entry.name
            if entry.is_dir(follow_symlinks=False):
                if visit(entry.path, rel + "/") and rel + "/" not in needed:
                    os.rmdir(entry.path)
                else:  # something stays in it, or will
                    empty = False
                continue
            st = entry.stat(follow_symlinks=False)
            if files.get(rel) == (st.st_dev, st.st_ino):
                have[rel] = _sig(st)
                empty = False
            else:
                os.unlink(entry.path)
        return empty

    visit(os.fspath(base), "")
    made: set[Path] = set()
    for rel in files.keys() - have.keys():
        target = base / rel
        _folder(target.parent, made)
        _link(site / rel, target)
        have[rel] = _sig(os.stat(target))
    return have


def _empty(folder: Path) -> None:
    """Remove everything in `folder` but kb's marker (a staging folder, emptied)."""
    for name in os.listdir(folder):
        path = folder / name
        if name == MARKER:
            continue
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path)
        else:
            path.unlink()


def _folder(folder: Path, made: set[Path]) -> None:
    """`folder` made once (with its parents): one mkdir a folder, not one a file."""
    if folder not in made:
        folder.mkdir(parents=True, exist_ok=True)
        made.add(folder)


def _prune(path: Path, top: Path) -> None:
    """Remove the empty folders above `path`, up to `top`."""
    folder = path.parent
    while folder != top and folder.is_relative_to(top):
        try:
            folder.rmdir()
        except OSError:
            return
        folder = folder.parent


def _read_state(path: Path) -> Any:
    """The state `_write_state` wrote, or None (none, damaged, or another Python's)."""
    try:
        data = path.read_bytes()
    except OSError:
        return None
    digest, payload = data[:_DIGEST], data[_DIGEST:]
    if hashlib.blake2b(_PYTHON + payload, digest_size=_DIGEST).digest() != digest:
        return None
    try:
        return marshal.loads(payload)
    except (ValueError, EOFError, TypeError):
        return None


def _write_state(path: Path, data: Any) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    payload = marshal.dumps(data)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_bytes(hashlib.blake2b(_PYTHON + payload, digest_size=_DIGEST).digest() + payload)
    os.replace(tmp, path)


_DIGEST = 16
#: marshal's format is the interpreter's: the digest covers its version too.
_PYTHON = sys.version.encode()


def render(
    settings: Settings,
    checked: Checked,
    nav: list[Any],
    load: Callable[[], Any],
    run: Callable[[Any, int], Any],
    jobs: int,
    clean: bool = False,
) -> tuple[Any, list[Finding]]:
    """`kb build`'s render: cached (`RenderCache`), guarded (`kb.render_guard`), in `jobs` processes
    when it renders everything. The cache is kept by `rendered.keep` (`RenderCache.save`), which
    the pipeline calls once the site is in place. A render where a page failed is not kept: its
    findings come from converting that page, which a cached render would not do."""
    from kb import render_guard

    cache = RenderCache(settings.cache / "render")
    rendered, new = render_guard.guarded(
        settings, checked, load, cache.runner(run, jobs, nav, render_parallel.usable, clean)
    )
    if any(f.code == "KB705" for f in new):
        cache.forget()
    else:
        rendered.keep = cache.save
    return rendered, new
