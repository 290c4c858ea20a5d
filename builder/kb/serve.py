"""`kb serve`: build, serve on localhost with live reload, and rebuild only what changed.

After an edit, the pure stages run again (they are fast), emit rewrites only the files
whose bytes changed, and MkDocs' dirty build re-renders only those pages. A change to the
nav (a title, a new or deleted file) takes a full render. MkDocs' dirty build writes a search
index of only the pages it re-rendered, so the full index is kept here and merged.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kb import render
from kb.emit import emit
from kb.findings import Finding, Severity
from kb.pipeline import check
from kb.settings import Settings

SEARCH_INDEX = Path("search") / "search_index.json"


@dataclass
class Rebuild:
    """What one rebuild did, for the terminal and the benchmark."""

    seconds: float
    changed: tuple[str, ...]
    full: bool
    findings: list[Finding] = field(default_factory=list)


class Session:
    """The state kept between rebuilds: nav, git history, and the full search index."""

    def __init__(self, settings: Settings, site_dir: Path) -> None:
        self.settings = settings
        self.site_dir = site_dir
        self.layout: Any = None  # nav (with titles), site name, site config: all pages show them
        self.history: Any = None
        self.search: dict[str, list[dict[str, Any]]] = {}
        self.search_config: Any = None

    def rebuild(self) -> Rebuild:
        """Re-run the pipeline; render everything the first time or when the nav changed."""
        started = time.perf_counter()
        checked = check(self.settings)
        if self.history is None:
            from kb.history import read_history

            self.history = read_history(self.settings.root, [d.path for d in checked.corpus.documents])
        emitted = emit(checked, self.history, self.settings, self.settings.cache / "serve-docs")
        # A new loop renders fine in a dirty build (it is not in the nav); a removed page,
        # a changed nav or a changed title shown in it (every page prints the whole nav, and
        # its neighbours' titles in the footer) changes other pages' HTML: a full render.
        layout = (emitted.nav, emitted.site_name, _site_config(self.settings.root))
        full = self.layout is None or layout != self.layout or bool(emitted.removed)
        if full or emitted.changed:
            config, _ = render.load(self.settings.root, emitted, self.site_dir, strict=False)
            render.render(config, dirty=not full)
            self._merge_search(full)
        self.layout = layout
        errors = [f for f in checked.findings if f.severity is Severity.ERROR]
        return Rebuild(time.perf_counter() - started, emitted.changed, full, errors)

    def _merge_search(self, full: bool) -> None:
        path = self.site_dir / SEARCH_INDEX
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return
        pages = _by_page(data.get("docs", []))
        if full:
            self.search = pages
        else:
            self.search.update(pages)
            data["docs"] = [entry for page in sorted(self.search) for entry in self.search[page]]
            path.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
        self.search_config = data.get("config")


def _site_config(root: Path) -> tuple[Any, ...]:
    """What changes every page's HTML without changing its markdown: mkdocs.yml, theme overrides."""
    config = render.config_file(root)
    stamps = [(str(p), p.stat().st_mtime_ns) for p in sorted((root / "templates").rglob("*")) if p.is_file()]
    return (config.read_bytes(), tuple(stamps))


def _by_page(entries: list[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    pages: dict[str, list[dict[str, Any]]] = {}
    for entry in entries:
        pages.setdefault(str(entry.get("location", "")).split("#")[0], []).append(entry)
    return pages


def serve(settings: Settings, host: str, port: int, echo: Any) -> None:
    """Serve until interrupted, rebuilding on every change under the watched paths."""
    from mkdocs.livereload import LiveReloadServer

    site_dir = settings.cache / "serve-site"
    session = Session(settings, site_dir)
    first = session.rebuild()
    echo(f"kb: built in {first.seconds:.2f} s; {len(first.findings)} errors")

    def builder() -> None:
        result = session.rebuild()
        kind = "full" if result.full else "incremental"
        echo(f"kb: {kind} rebuild in {result.seconds:.2f} s ({len(result.changed)} files changed, "
             f"{len(result.findings)} errors)")
        for f in result.findings[:20]:
            echo(f.text())

    server = LiveReloadServer(builder=builder, host=host, port=port, root=str(site_dir))
    for path in (settings.content, settings.root / "templates", settings.root / "mkdocs.yml"):
        if path.exists():
            server.watch(str(path))
    echo(f"kb: serving on {server.url} (Ctrl+C to stop)")
    try:
        server.serve()
    except KeyboardInterrupt:
        echo("kb: stopped")
    finally:
        server.shutdown()
