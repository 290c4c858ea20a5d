"""`kb serve`: build, serve on localhost with live reload, and rebuild only what changed.

Every rebuild runs the pipeline (`kb.pipeline`) as `kb build` does, history and feeds
included, with a `kb.incremental.Memory` that makes it redo only what changed: emit rewrites
only the files whose bytes changed, MkDocs' dirty build re-renders only those pages, a change
to the nav (a title, a new or deleted file) takes a full render, and git history is read again
when HEAD moves (a commit or a checkout while serving: the git log is watched too).

An edit that makes a page unreadable (broken frontmatter) does not take it off the site: the
last good build stays served, the finding is printed, and the browser reloads once it is fixed.
A page that does not exist gets the site's own 404 page, with the live-reload script.
"""

from __future__ import annotations

import errno
import socket
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kb import searchindex
from kb.errors import KbError
from kb.findings import Finding, Severity
from kb.incremental import Memory
from kb.pipeline import Options, Step, run
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
    """A serving session: the site folder and what the pipeline remembers between rebuilds."""

    def __init__(self, settings: Settings, site_dir: Path) -> None:
        self.settings = settings
        self.site_dir = site_dir
        self.memory = Memory()

    def rebuild(self) -> Rebuild:
        """Run every stage again: the pipeline redoes what changed since the last rebuild
        (everything the first time)."""
        started = time.perf_counter()
        options = Options(
            until=Step.RENDER,
            out=self.site_dir,
            atomic=False,
            docs_dir=self.settings.cache / "serve-docs",
            memory=self.memory,
        )
        done = run(self.settings, options)
        errors = [f for f in done.findings if f.severity is Severity.ERROR]
        processes = done.rendered.processes if done.rendered is not None else 0
        seconds = time.perf_counter() - started
        return Rebuild(seconds, done.changed, done.full and not done.kept, errors, processes, done.kept)


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
    """What `kb serve` watches (path, recursively?): the content folder, templates/, mkdocs.yml,
    and git's log of HEAD (so a commit made while serving brings its dates and authors).
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
    log = _head_log(settings.root)
    if log is not None:  # a commit or checkout that changes no watched file still moves HEAD
        paths.append((log, False))
    return [(p, r) for p, r in paths if p.exists()]


def _head_log(root: Path) -> Path | None:
    """The repository's HEAD reflog, which git appends to whenever HEAD moves; None outside git."""
    from kb import git

    try:
        repo = git.find_repo(root)
        return git.head_log(repo) if repo is not None else None
    except git.GitError:
        return None
