"""Material's nav rendered once per group of pages, not once per page: the same HTML, cheaper.

With `navigation.prune` every page still renders the top level of the nav and its own path
through it: a third of Material's template time. Pages that show the same nav but for their own
entry form a group:

- pages left out of the nav (kb's loop cycles) that sit in the same URL folder show exactly the
  same nav: no entry of theirs is in it, nothing is active, and every link in it is relative to
  the same folder;
- pages listed in the same nav section and URL folder show the same nav except their own
  entry, which is active (with the page's table of contents) where the others' are not.

`templates/overrides/kb/nav-cache.html` renders the theme's nav partial for a group's first
page, and for every other page swaps two entries, each rendered by Material's own nav-item
macro in the page's context: the first page's active entry for its plain one, and this page's
plain entry (rendered while the group was first seen) for its active one. A swap is made only
where each entry occurs exactly once; otherwise, and for pages whose links the group could not
share (a section's index page, a page whose URL folder holds other files), the theme's partial
renders as usual. kb's plugin serves that template as "partials/nav.html" through a loader
around the theme's (`KbLoader`, public Jinja API, in `on_env`); without the plugin the theme's own partial
renders, so kb's emitted tree needs no plugin: the cache only makes it faster.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from jinja2 import BaseLoader, Environment
from markupsafe import Markup

if TYPE_CHECKING:
    from kb.render_partials import Partials

#: The template that serves "partials/nav.html" (in kb's theme overrides), and the name under
#: which the theme's own nav partial stays reachable from it.
DISPATCH = "kb/nav-cache.html"
THEME_NAV = "kb/theme-nav.html"
NAV = "partials/nav.html"
#: `KB_NAV_CACHE=0` renders every page's nav with the theme's partial (to measure, or to rule it out).
SWITCH = "KB_NAV_CACHE"

Key = tuple[bool, int, str]


def enabled() -> bool:
    return os.environ.get(SWITCH, "").strip() != "0"


class KbLoader(BaseLoader):
    """The theme's loader, plus kb's own templates (`kb/...`: the empty page, the nav dispatch)
    from kb's built-in overrides when the theme's folders lack them (a config kb did not load);
    with `nav`, "partials/nav.html" is served by kb's dispatch template; with `partials`, the
    partials that read nothing of the page by kb's partial cache (`kb.render_partials`)."""

    def __init__(self, inner: BaseLoader, nav: bool) -> None:
        from jinja2 import FileSystemLoader

        from kb.templating import default_templates

        self.inner = inner
        self.own = FileSystemLoader(str(default_templates() / "overrides"))
        self.nav = nav
        self.partials: Partials | None = None

    def get_source(self, environment: Environment, template: str) -> Any:
        from jinja2 import TemplateNotFound

        name = {NAV: DISPATCH, THEME_NAV: NAV}.get(template, template) if self.nav else template
        if self.partials is not None and name == template:
            served = self.partials.source(environment, template)
            if served is not None:
                return served
        try:
            found = self.inner.get_source(environment, name)
        except TemplateNotFound:
            if not name.startswith("kb/"):
                raise
            found = self.own.get_source(environment, name)
        if self.partials is not None:
            self.partials.loaded(environment, name, found)
        return found

    def list_templates(self) -> list[str]:
        return self.inner.list_templates()


def install(env: Environment, nav: bool) -> bool:
    """Put `KbLoader` around the theme's loader; True when it serves the nav dispatch (`nav`
    asked for, and the theme has a nav partial). Already in place (kb's partial cache puts it
    there first), it is asked to serve the nav too."""
    from jinja2 import TemplateNotFound

    loader = env.loader
    if loader is None:
        return False
    inner = loader.inner if isinstance(loader, KbLoader) else loader
    try:
        inner.get_source(env, NAV)
        inner.get_source(env, "partials/nav-item.html")  # the macro the dispatch renders entries with
    except TemplateNotFound:
        nav = False
    if isinstance(loader, KbLoader):
        loader.nav = loader.nav or nav
        return loader.nav
    env.loader = KbLoader(loader, nav)
    return nav


@dataclass
class _Group:
    html: str
    first: Any  # the page it was rendered for; None for pages left out of the nav
    active: str  # the first page's entry as it shows in `html`
    plain: dict[str, str] = field(default_factory=dict)  # page URL -> its entry, not active
    #: The first page's entry, not active: the same for every other page of the group (their
    #: links share a URL folder, and only the page being rendered is active), so rendered once.
    was: str | None = None


class NavCache:
    """What kb/nav-cache.html asks: a page's group, the group's nav, and the swap."""

    def __init__(self, nav: Any, files: Any) -> None:
        self.in_nav = {id(page) for page in nav.pages}
        self.items = nav.items
        self.busy: set[str] = set()  # URL folders that hold other files: links from them differ
        for file in files:
            parts = file.url.strip("/").split("/")[:-1]
            for end in range(1, len(parts) + 1):
                self.busy.add("/".join(parts[:end]) + "/")
        self.groups: dict[Key, _Group] = {}
        self.hits = 0

    def key(self, page: Any) -> Key | None:
        url = page.url
        if page.is_index or not url.endswith("/") or url in self.busy:
            return None
        listed = id(page) in self.in_nav
        parent = page.parent if listed else None
        return (listed, id(parent), url[:-1].rpartition("/")[0])

    def has(self, key: Key) -> bool:
        return key in self.groups

    def first(self, key: Key) -> Any:
        return self.groups[key].first

    def html(self, key: Key) -> Markup:
        self.hits += 1
        return Markup(self.groups[key].html)

    def siblings(self, key: Key, page: Any) -> list[Any]:
        """The other pages of `page`'s group that its nav shows as entries."""
        if not key[0]:
            return []
        around = page.parent.children if page.parent is not None else self.items
        return [x for x in around if x.is_page and x is not page and self.key(x) == key]

    def note(self, key: Key, page: Any, plain: str) -> str:
        self.groups.setdefault(key, _Group("", None, "")).plain[page.url] = str(plain)
        return ""

    def was(self, key: Key) -> Markup | None:
        was = self.groups[key].was
        return None if was is None else Markup(was)

    def keep_was(self, key: Key, was: str) -> str:
        self.groups[key].was = str(was)
        return ""

    def put(self, key: Key, page: Any, html: str, active: str) -> Markup:
        group = self.groups.setdefault(key, _Group("", None, ""))
        group.html, group.active = str(html), str(active)
        group.first = page if key[0] else None
        return Markup(html)

    def swap(self, key: Key, page: Any, active: str, was: str) -> Markup | None:
        """The group's nav with the first page's entry made plain (`was`) and this page's made
        active (`active`), or None when either entry is not found exactly once."""
        group = self.groups[key]
        plain = group.plain.get(page.url)
        html = group.html
        if not plain or not group.active or html.count(group.active) != 1 or html.count(plain) != 1:
            return None
        at_first, at_page = html.index(group.active), html.index(plain)
        if at_first < at_page:
            if at_first + len(group.active) > at_page:
                return None
            out = html[:at_first] + str(was) + html[at_first + len(group.active) : at_page] + str(active)
            out += html[at_page + len(plain) :]
        else:
            if at_page + len(plain) > at_first:
                return None
            out = html[:at_page] + str(active) + html[at_page + len(plain) : at_first] + str(was)
            out += html[at_first + len(group.active) :]
        self.hits += 1
        return Markup(out)
