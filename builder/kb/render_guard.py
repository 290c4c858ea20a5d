"""One page must not take the whole site down: a page the renderer fails on becomes a notice.

Registered by `kb.build` on its renders as the MkDocs plugin `kb/guard`, public plugin events
only. `on_pre_page` notes which page MkDocs is converting and `on_page_content` (the last
event of a page's conversion) clears it, so when `build()` raises, the page it was converting
is known. `render` then loads the configuration afresh and renders again with that page's
markdown replaced, in `on_page_markdown` (before any other plugin sees it), by a short
notice; the failure becomes a KB705 finding at the page's source file. Pages the scanner
already found nested too deep for the renderer (KB416) get the notice from the start, so the
common hostile page costs no second render. Works in the two-process render too: every
process has the plugin, and a share that fails is rendered again in the main process
(`kb.render_parallel`), where the plugin notes the page.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from mkdocs.plugins import BasePlugin, event_priority

from kb.findings import Finding, apply_severities, finding

if TYPE_CHECKING:
    from kb.pipeline import Checked
    from kb.settings import Settings

NAME = "kb/guard"
#: Renders tried before giving up: each failing page costs one more.
MOST_FAILURES = 20

NOTICE = (
    "*This page could not be built.* The site's markdown renderer failed on it, so the rest of "
    "the handbook was published without its text. `kb build` reports why (KB705 or KB416) at "
    "its source file: fix it there and build again.\n"
)


class GuardPlugin(BasePlugin):
    def __init__(self, notices: dict[str, str]) -> None:
        super().__init__()
        self.notices = notices  # src_uri -> why its text is replaced
        self.current: str | None = None  # the page being converted

    @event_priority(100)
    def on_pre_page(self, page: Any, config: Any, files: Any) -> Any:
        self.current = page.file.src_uri
        return page

    @event_priority(100)
    def on_page_markdown(self, markdown: str, page: Any, config: Any, files: Any) -> str:
        self.current = page.file.src_uri
        return NOTICE if self.current in self.notices else markdown

    @event_priority(-100)
    def on_page_content(self, html: str, page: Any, config: Any, files: Any) -> str:
        self.current = None
        return html


def render(
    load: Callable[[], Any], run: Callable[[Any], Any], notices: dict[str, str], failed: list[tuple[str, str]]
) -> Any:
    """`run(config)` on a config from `load()` with the guard in it; a page that makes the
    render raise is appended to `failed` as (src_uri, why) and gets the notice in a fresh render.
    An error outside any page's conversion is raised as it is."""
    notices = dict(notices)
    while True:
        config = load()
        guard = GuardPlugin(notices)
        config["plugins"][NAME] = guard
        try:
            return run(config)
        except Exception as exc:  # noqa: BLE001 - whatever a markdown extension raises
            page = guard.current
            if page is None or page in notices or len(failed) >= MOST_FAILURES:
                raise
            why = _why(exc)
            failed.append((page, why))
            notices[page] = why


def _why(exc: BaseException) -> str:
    """What failed, in one line: `RecursionError: maximum recursion depth exceeded`."""
    while exc.__cause__ is not None and type(exc).__module__.startswith("kb"):
        exc = exc.__cause__  # KbError wrapping MkDocs' own: the original says more
    text = " ".join(str(exc).split())[:200]
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def guarded(
    settings: Settings, checked: Checked, load: Callable[[], Any], run: Callable[[Any], Any]
) -> tuple[Any, list[Finding]]:
    """`render` for `kb build` and `kb serve` alike: pages KB416 found too deep get the notice
    from the start, and each page the renderer failed on is a KB705 finding at its source."""
    sources: dict[str, str] = {}  # emitted file -> its source file
    notices: dict[str, str] = {}
    for doc in checked.corpus.documents:
        if doc.readable:
            uri = checked.graph.site_key(doc.key) + ".md"
            sources[uri] = doc.path
            if doc.scan.deep is not None:
                notices[uri] = "KB416"
    failed: list[tuple[str, str]] = []
    rendered = render(load, run, notices, failed)
    new = []
    for uri, why in failed:
        path = sources.get(uri) or settings.repo_path(uri)
        what = "page" if uri in sources else "generated page"
        new.append(
            finding(
                path,
                1,
                1,
                "KB705",
                f"the site's renderer failed on this {what}: {why}",
                "the site shows a short notice in its place; find what the renderer cannot take "
                "(a markdown extension's error, nesting) and fix it",
            )
        )
    return rendered, apply_severities(new, settings.severity)
