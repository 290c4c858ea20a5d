"""`kb serve`: build, serve on localhost with live reload, and rebuild only what changed.

After an edit, the pure stages run again (they are fast), emit rewrites only the files
whose bytes changed, and MkDocs' dirty build re-renders only those pages. A change to the
nav (a title, a new or deleted file) takes a full render. MkDocs' dirty build writes a search
index of only the pages it re-rendered, so the full index is kept here and merged.

An edit that makes a page unreadable (broken frontmatter) does not take it off the site: the
last good build stays served, the finding is printed, and the browser reloads once it is fixed.
A page that does not exist gets the site's own 404 page, with the live-reload script.
"""

from __future__ import annotations

import dataclasses
import errno
import socket
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kb import render, render_guard, render_parallel, searchindex
from kb.emit import emit, emit_documents
from kb.errors import KbError
from kb.findings import Finding, Severity
from kb.pipeline import check
from kb.settings import Settings

SEARCH_INDEX = searchindex.PATH


@dataclass
class Rebuild:
    """What one rebuild did, for the terminal and the benchmark."""

    seconds: float
    changed: tuple[str, ...]
    full: bool
    findings: list[Finding] = field(default_factory=list)
    processes: int = 1  # that rendered the site (kb.render_parallel); 0 when nothing needed it
    kept: tuple[str, ...] = ()  # files that became unreadable: the last good site is kept


class Session:
    """The state kept between rebuilds: nav, git history, and the full search index."""

    def __init__(self, settings: Settings, site_dir: Path) -> None:
        self.settings = settings
        self.site_dir = site_dir
        self.layout: Any = None  # nav (with titles), site name, site config: all pages show them
        self.history: Any = None
        self.search: dict[str, list[dict[str, Any]]] = {}
        self.search_config: Any = None
        self.emitted: Any = None
        self.snapshot: dict[str, tuple[Any, ...]] = {}

    def rebuild(self) -> Rebuild:
        """Re-run the pipeline; render everything the first time or when the nav changed."""
        started = time.perf_counter()
        checked = check(self.settings)
        if self.history is None:
            from kb.history import read_history

            self.history = read_history(self.settings.root, [d.path for d in checked.corpus.documents])
        snapshot = _snapshot(checked, self.settings)
        broken = _broken(self.snapshot, snapshot)
        if broken:  # an edit made a page unreadable: keep serving its last good version
            errors = [f for f in checked.findings if f.severity is Severity.ERROR]
            paths = tuple(d.path for d in checked.corpus.documents if d.key in broken)
            return Rebuild(time.perf_counter() - started, (), False, errors, 0, kept=paths)
        prose = _prose_edits(self.snapshot, snapshot) if self.emitted is not None else None
        if prose is not None:  # only body text changed: no other page shows it
            changed = emit_documents(checked, self.history, self.settings, self.emitted.docs_dir, prose)
            emitted = dataclasses.replace(self.emitted, changed=changed, removed=())
        else:
            emitted = emit(checked, self.history, self.settings, self.settings.cache / "serve-docs")
        self.emitted, self.snapshot = emitted, snapshot
        # A new loop renders fine in a dirty build (it is not in the nav); a removed page,
        # a changed nav or a changed title shown in it (every page prints the whole nav, and
        # its neighbours' titles in the footer) changes other pages' HTML: a full render.
        layout = (emitted.nav, emitted.site_name, _site_config(self.settings.root))
        full = self.layout is None or layout != self.layout or bool(emitted.removed)
        processes = 0  # nothing to render
        failed: list[Finding] = []  # KB705: pages the renderer failed on show a notice
        if full or emitted.changed:
            jobs = render_parallel.jobs(emitted.pages) if full else 1
            rendered, failed = render_guard.guarded(
                self.settings,
                checked,
                lambda: render.load(self.settings.root, emitted, self.site_dir, strict=False)[0],
                lambda config: render.render(config, dirty=not full, jobs=jobs),
            )
            processes = rendered.processes
            self._merge_search(full)
        self.layout = layout
        errors = [f for f in [*checked.findings, *failed] if f.severity is Severity.ERROR]
        return Rebuild(time.perf_counter() - started, emitted.changed, full, errors, processes)

    def _merge_search(self, full: bool) -> None:
        data = searchindex.read(self.site_dir)
        if data is None:
            return
        pages = searchindex.by_page(data.get("docs", []))
        if full:
            self.search = pages
        else:  # re-rendered pages keep their place, new ones come last
            self.search.update(pages)
            searchindex.write(self.site_dir, data, self.search)
        self.search_config = data.get("config")


def _broken(before: dict[str, tuple[Any, ...]], after: dict[str, tuple[Any, ...]]) -> set[str]:
    """Documents readable in the last good build whose frontmatter can no longer be read."""
    return {
        key
        for key, entry in after.items()
        if not key.startswith(" ") and not entry[0] and key in before and before[key][0]
    }


def check_port(host: str, port: int) -> None:
    """Refuse, before any build, a port another program listens on (exit 2 with a free one)."""
    problem = _bind_error(host, port)
    if problem is None:
        return
    if problem.errno == errno.EADDRINUSE:
        free = next(
            (p for p in range(port + 1, min(port + 50, 65536)) if _bind_error(host, p) is None), port + 1
        )
        raise KbError(f"port {port} is in use; try --port {free}")
    raise KbError(f"cannot listen on {host}:{port}: {problem.strerror or problem}")


def _bind_error(host: str, port: int) -> OSError | None:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    try:
        with socket.socket(family, socket.SOCK_STREAM) as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as the server binds
            probe.bind((host, port))
    except OSError as exc:
        return exc
    return None


def _site_config(root: Path) -> tuple[Any, ...]:
    """What changes every page's HTML without changing its markdown: mkdocs.yml, theme overrides."""
    config = render.config_file(root)
    stamps = [(str(p), p.stat().st_mtime_ns) for p in sorted((root / "templates").rglob("*")) if p.is_file()]
    return (config.read_bytes(), tuple(stamps))


def serve(settings: Settings, host: str, port: int, echo: Any) -> None:
    """Serve until interrupted, rebuilding on every change under the watched paths."""
    from mkdocs.livereload import LiveReloadServer

    check_port(host, port)
    site_dir = settings.cache / "serve-site"
    session = Session(settings, site_dir)
    first = session.rebuild()
    echo(f"kb: built in {first.seconds:.2f} s; {len(first.findings)} errors")
    for f in first.findings[:20]:
        echo(f.text())

    def builder() -> None:
        result = session.rebuild()
        if result.kept:
            echo(
                f"kb: {', '.join(result.kept)} cannot be read; still serving the last good version "
                "(the browser reloads when it is fixed)"
            )
            for f in sorted(result.findings, key=lambda f: f.path not in result.kept)[:20]:
                echo(f.text())
            return
        kind = "full" if result.full else "incremental"
        echo(
            f"kb: {kind} rebuild in {result.seconds:.2f} s ({len(result.changed)} files changed, "
            f"{len(result.findings)} errors)"
        )
        for f in result.findings[:20]:
            echo(f.text())

    server = LiveReloadServer(builder=builder, host=host, port=port, root=str(site_dir))

    def error_page(code: int) -> bytes | None:
        """The site's own 404 page, with the live-reload script: a page that is gone for now
        comes back by itself when the content is fixed."""
        try:
            page = (site_dir / "404.html").read_bytes() if code == 404 else None
        except OSError:
            return None
        return None if page is None else server._inject_js_into_html(page, server._visible_epoch)

    server.error_handler = error_page
    for path, recursive in watched(settings):
        server.watch(str(path), recursive=recursive)
    echo(f"kb: serving on {server.url} (Ctrl+C to stop)")
    try:
        server.serve()
    except KeyboardInterrupt:
        echo("kb: stopped")
    except OSError as exc:  # the port was taken between the check and the bind
        if exc.errno != errno.EADDRINUSE:
            raise
        raise KbError(f"port {port} is in use; try --port {port + 1}") from None
    finally:
        server.shutdown()


def watched(settings: Settings) -> list[tuple[Path, bool]]:
    """What `kb serve` watches (path, recursively?): the content folder, templates/, mkdocs.yml.
    A handbook at the repository root is watched folder by folder, leaving out what the walk
    leaves out: the site, the cache (where serve itself writes) and the rest of `kb.layout`."""
    from kb.layout import Layout
    from kb.siteconfig import config_path

    paths: list[tuple[Path, bool]] = []
    if settings.at_root:
        layout = Layout.of(settings)
        paths.append((settings.root, False))  # files at the root
        for entry in sorted(settings.root.iterdir()):
            if entry.is_dir() and not layout.skips_folder(entry.name, entry.name, str(entry)):
                paths.append((entry, True))
    else:
        paths.append((settings.content, True))
    paths.append((settings.root / "templates", True))
    config = config_path(settings.root)
    if config is not None:
        paths.append((config, False))
    return [(p, r) for p, r in paths if p.exists()]


def _snapshot(checked: Any, settings: Settings) -> dict[str, tuple[Any, ...]]:
    """Per document: what other pages may show of it (frontmatter, links, headings), then its body;
    and the templates, whose change re-emits everything."""
    from kb.emit import template_files

    out: dict[str, tuple[Any, ...]] = {
        " templates": tuple((str(p), p.stat().st_mtime_ns) for p in template_files(settings))
    }
    for doc in checked.corpus.documents:
        links = tuple((x.kind, x.target, x.anchor, x.label) for x in doc.scan.links)
        headings = tuple((h.level, h.text, h.anchor) for h in doc.scan.headings)
        out[doc.key] = (doc.readable, repr(doc.meta), links, headings, doc.body)
    out[" assets"] = (tuple(a.rel for a in checked.corpus.assets),)
    return out


def _prose_edits(before: dict[str, tuple[Any, ...]], after: dict[str, tuple[Any, ...]]) -> list[str] | None:
    """The documents whose body text alone changed, or None when anything else did (then the
    whole tree is emitted again): a new, removed or renamed file, frontmatter, links, headings."""
    if before.keys() != after.keys():
        return None
    changed = [key for key in after if after[key] != before[key]]
    if any(after[key][:-1] != before[key][:-1] for key in changed):
        return None
    return changed
