"""Stage 5 — emit: the docs tree MkDocs (or Zensical) renders, as plain markdown.

Every document is written with its frontmatter normalized and escaped (so MkDocs' own,
looser frontmatter parsing decides nothing, and Material's raw printing of `page.meta`
cannot inject markup), wikilinks rewritten to relative `.md` links, and a generated
header and footer. Generated pages (indexes, people, years) come from templates. The
whole tree is produced in memory, then synced: files whose bytes did not change are not
rewritten, so a rebuild with no change touches nothing and a live reload re-renders only
what changed.
"""

from __future__ import annotations

import datetime as dt
import functools
import html
import json
import posixpath
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote, unquote

import yaml
from markupsafe import Markup

from kb import cores, templating
from kb.emit_state import read_inputs, read_state, write_state
from kb.forge import Forge
from kb.forge import from_config as forge_from_config
from kb.history import History
from kb.link import EdgeKind, Graph, Resolved
from kb.model import Collection, Document, Stage
from kb.nav import NOT_IN_NAV, nav, titled
from kb.pipeline import Checked
from kb.settings import Settings
from kb.templating import url_of
from kb.tree import Tree, sync, write_changed
from kb.views import (
    LATEST,
    LoopView,
    Views,
    by_month,
    by_year,
    month_key,
    newest_first,
    stage_counts,
    subject_month_key,
    tag_key,
    tag_names,
    year_key,
)

MERMAID = "assets/kb/mermaid.min.js"
#: Backlinks a page lists per relation before it says how many more there are.
BACKLINKS_MAX = 30
_DUMPER = getattr(yaml, "CSafeDumper", yaml.SafeDumper)  # same bytes as safe_dump, 5x faster
#: A `forge` argument left out: the site's own is read (`site_forge`); emit passes the one it read.
FIND: Any = object()
EMPTY_SITEMAP = (
    '<?xml version="1.0" encoding="UTF-8"?>\n'
    '<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9"></urlset>\n'
)


@dataclass(frozen=True)
class Emitted:
    """What emit wrote: where, the nav, and which files changed (for a dirty re-render)."""

    docs_dir: Path
    nav: list[Any]
    not_in_nav: str
    changed: tuple[str, ...]
    removed: tuple[str, ...]
    pages: int
    site_name: str


def emit(
    checked: Checked,
    history: History | None,
    settings: Settings,
    docs_dir: Path,
    stages: Mapping[str, list[tuple[int, str]]] | None = None,
) -> Emitted:
    """Write the docs tree for `checked` into `docs_dir`, touching only changed files.

    `stages` (path → [(time, stage)] from git) dates the loop feeds' "reached" entries.

    The state file beside the tree (`<docs_dir>-state.json`) says which inputs the tree on disk
    was emitted from (`Inputs`) and which documents each page shows: when the inputs are all
    the same, nothing is rendered; when only documents changed, only the pages that show them
    (kb.emit_partial); when what all pages share changed, the whole tree. The state is removed
    before any file changes and written after they all did, so it never describes a tree that
    is not on disk.
    """
    stages = stages or {}
    forge = site_forge(settings)  # read once: parsing the site's configuration takes milliseconds
    inputs = read_inputs(checked, history, settings, stages, docs_dir, forge)
    state_file = docs_dir.with_name(docs_dir.name + "-state.json")  # beside the tree it describes
    previous = read_state(state_file)
    on_disk = (docs_dir / "kb.json").is_file()
    if previous.get("fingerprint") == inputs.fingerprint and on_disk:
        # Nothing that emit reads has changed: the tree on disk is already this one.
        return Emitted(
            docs_dir, previous["nav"], NOT_IN_NAV, (), (), previous["pages"], previous["site_name"]
        )
    edits = inputs.edits(previous) if on_disk else None
    if edits is not None:
        from kb.emit_partial import emit_partial

        done = emit_partial(checked, history, settings, docs_dir, stages, edits, previous, inputs, forge)
        if done is not None:
            return done
    state_file.unlink(missing_ok=True)  # the tree is about to change: no state claims it meanwhile
    tree = render_tree(checked.graph, history, settings, stages, checked.today, forge)
    for asset in checked.corpus.assets:
        tree.copies[asset.rel] = settings.content / asset.rel
    changed, removed = sync(tree, docs_dir)
    entries = _published_nav(nav(checked.graph, Views(checked.graph, history)), checked.graph)
    result = Emitted(
        docs_dir,
        titled(entries, tree),
        NOT_IN_NAV,
        tuple(changed),
        tuple(removed),
        sum(1 for r in tree.files if r.endswith(".md")),
        site_name(checked.graph),
    )
    marker = MERMAID.encode()
    mermaid = {rel for rel, data in tree.files.items() if marker in data}
    write_state(
        state_file,
        inputs.state(
            result,
            mermaid,
            set(tree.files) | set(tree.copies),
            shown_now(checked, history, settings, forge),
            tree.kb_json,
        ),
    )
    return result


def emit_documents(
    checked: Checked, history: History | None, settings: Settings, docs_dir: Path, keys: list[str]
) -> tuple[str, ...]:
    """Re-render only the pages of these documents (for `kb serve`, when an edit changed
    nothing another page shows) and write those whose bytes changed."""
    (docs_dir.with_name(docs_dir.name + "-state.json")).unlink(missing_ok=True)  # the tree moves on
    tree = Tree()
    for rel, text in _document_texts(checked, history, settings, keys).items():
        tree.text(rel, text)
    return tuple(write_changed(tree, docs_dir))


def _document_texts(
    checked: Checked, history: History | None, settings: Settings, keys: list[str]
) -> dict[str, str]:
    """The emitted markdown of these documents' pages (emitted path → text), rendered as
    `render_tree` renders them."""
    from kb import feeds

    views = Views(checked.graph, history)
    all_feeds = feeds.feeds(views, [])  # only which page has which feed matters to a page
    pages = _Pages(
        templating.environment(settings.root, settings.cache / templating.COMPILED),
        views,
        settings,
        {f.page: f for f in all_feeds},
        checked.today,
    )
    graph = checked.graph
    return {graph.site_key(key) + ".md": pages.document(graph.docs[key]) for key in keys}


def render_tree(
    graph: Graph,
    history: History | None,
    settings: Settings,
    stages: Mapping[str, list[tuple[int, str]]],
    today: dt.date,
    forge: Forge | None = FIND,
) -> EmittedTree:
    from kb import feeds

    env = templating.environment(settings.root, settings.cache / templating.COMPILED)
    views = Views(graph, history)
    all_feeds = feeds.feeds(views, feeds.entries(views, dict(stages)))
    pages = _Pages(env, views, settings, {f.page: f for f in all_feeds}, today, forge)
    tree = EmittedTree()
    site_url = _site_url(settings)
    for feed in all_feeds:
        tree.text(feed.key + ".xml", xml_safe(feeds.atom(feed, views, site_url)))
        tree.text(feed.key + ".json", feeds.json_feed(feed, views, site_url))
        # Material reads every <link rel="alternate"> as another language of the site and
        # fetches the sitemap.xml beside it: without one, every page logs a 404 error.
        tree.text(posixpath.dirname(feed.key) + "/sitemap.xml", EMPTY_SITEMAP)
    docs = [doc for doc in graph.docs.values() if doc.readable]
    # Each page is a pure function of the graph: on a large handbook, forked processes share them.
    # The generated pages (indexes, years, people, coverage) and kb.json (seconds at 10,000
    # loops) are two items, first, so that a worker takes them while this process renders
    # documents from the end.
    jobs = cores.jobs("emit", len(docs))  # from 500 documents: kb.cores.PLANS
    items: list[Document | str] = [_GENERATED, _KB_JSON, *docs]
    done = cores.fork_map(functools.partial(_page, pages), items, jobs)
    for doc, text in zip(docs, done[2:], strict=True):
        assert isinstance(text, str)
        tree.text(graph.site_key(doc.key) + ".md", text)
    generated, data = done[0], done[1]
    assert isinstance(generated, dict) and isinstance(data, tuple)
    for rel, content in generated.items():
        tree.text(rel, content)
    tree.files["kb.json"], tree.kb_json = data
    if any(
        MERMAID.encode() in data for data in tree.files.values()
    ):  # 2.75 MB: only for a page that loads it
        tree.copies[MERMAID] = templating.default_templates() / MERMAID
    return tree


_GENERATED, _KB_JSON = "generated pages", "kb.json"


@dataclass
class EmittedTree(Tree):
    """The whole tree, and where each document's entry lies in its kb.json (`kb_json`)."""

    kb_json: dict[str, tuple[int, int]] = field(default_factory=dict)


def shown_now(
    checked: Checked, history: History | None, settings: Settings, forge: Forge | None = FIND
) -> dict[str, frozenset[str]]:
    """Page → the documents whose shape it shows, for the pages that do not show any
    document's (kb.emit_partial.shows, `Spec.shows`)."""
    from kb import feeds
    from kb.emit_partial import feed_shows, shows

    graph = checked.graph
    views = Views(graph, history)
    pages = _Pages(None, views, settings, {f.page: f for f in feeds.feeds(views, [])}, checked.today, forge)
    actions = pages.forge is not None
    out = {
        graph.site_key(d.key) + ".md": shows(graph, views, d, actions)
        for d in graph.docs.values()
        if d.readable
    }
    out.update((spec.rel, spec.shows) for spec in pages.specs() if spec.shows is not None)
    out.update((feed.key + ".xml", feed_shows(views, feed)) for feed in pages.feeds.values())
    return out


def _page(
    pages: _Pages, item: Document | str
) -> str | dict[str, str] | tuple[bytes, dict[str, tuple[int, int]]]:
    """`render_tree`'s items: a document's page, every generated page, or kb.json."""
    if isinstance(item, Document):
        return pages.document(item)
    return pages.generated() if item == _GENERATED else kb_json(pages.graph, pages.views)


#: Characters XML 1.0 cannot hold at all, not even escaped; a frontmatter string can smuggle them
#: in through YAML escapes ("\a", "\x1b"), which validate reports (KB204).
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff\ud800-\udfff]")


def xml_safe(text: str) -> str:
    """An XML document with the characters XML forbids replaced by U+FFFD, so it stays well-formed."""
    return _NOT_XML.sub("\ufffd", text)


def _published_nav(entries: list[Any], graph: Graph) -> list[Any]:
    """The nav with each page under the name emit writes it as (`x/_index.md` as
    `x/index.md`), and a folder's index page first in its section (README.md too, which
    MkDocs publishes as the folder's page): Material makes the first page the section's."""
    renamed = {key + ".md": site + ".md" for key, site in graph.site.items()}
    out: list[Any] = []
    for entry in entries:
        if isinstance(entry, str):
            out.append(renamed.get(entry, entry))
        elif isinstance(entry, dict):
            out.append(
                {
                    k: _published_nav(v, graph) if isinstance(v, list) else renamed.get(v, v)
                    for k, v in entry.items()
                }
            )
        else:
            out.append(entry)
    index = next((i for i, e in enumerate(out) if isinstance(e, str) and _is_index_page(e, graph)), None)
    if index:
        out.insert(0, out.pop(index))
    return out


def _is_index_page(rel: str, graph: Graph) -> bool:
    folder, _, name = rel.rpartition("/")
    if name == "index.md":
        return True
    return name == "README.md" and (f"{folder}/index" if folder else "index") not in graph.docs


def site_name(graph: Graph) -> str:
    """The home page's title, HTML-escaped: Material prints `config.site_name` raw."""
    home = graph.docs.get("index") or graph.docs.get("README") or graph.docs.get("_index")
    return html.escape(home.title, quote=True) if home is not None and home.readable else "Handbook"


def site_forge(settings: Settings) -> Forge | None:
    """The forge of the site configuration kb renders with (the repository's mkdocs.yml, else
    the handbook's own or the built-in one): None without a `repo_url`."""
    from kb.mdconfig import config_path
    from kb.siteconfig import read_config

    path = config_path(settings.root)  # the file render.config_file renders with
    return forge_from_config(read_config(path), settings.content_prefix) if path is not None else None


#: The write actions a page may offer: id → label.
ACTIONS = {"continue": "Continue this loop", "start": "Start a loop cycle", "propose": "Propose a product"}


class _Pages:
    """Renders each kind of page; one instance per build."""

    def __init__(
        self,
        env: Any,
        views: Views,
        settings: Settings,
        feeds: Mapping[str, Any],
        today: dt.date,
        forge: Forge | None = FIND,
    ) -> None:
        self.feeds = feeds  # page key -> its loop feed
        self.today = today  # the run's day: new cycles start on it, coverage runs up to it
        self.settings = settings
        self.env = env
        self.views = views
        self.graph = views.graph
        self.forge = site_forge(settings) if forge is FIND else forge
        self._known: Any = None

    def _render(self, template: str, key: str, **context: Any) -> str:
        return self.env.get_template(template).render(
            here=key,
            lk=self._linker(key),
            gk=functools.partial(_generated_link, key),
            views=self.views,
            Stage=Stage,
            latest=LATEST,
            month_name=month_name,
            stage_counts=stage_counts,
            feed_href=lambda path: templating.relative(key, path),
            **context,
        )

    def _linker(self, here: str) -> Callable[..., Markup]:
        site = self.graph.site_key

        def lk(key: str, label: str | None = None, anchor: str | None = None) -> Markup:
            return templating.link(
                here, site(key), label if label is not None else self.views.title(key), anchor
            )

        return lk

    # -- documents -------------------------------------------------------------------------
    def document(self, doc: Document) -> str:
        context: dict[str, Any] = {
            "doc": doc,
            "history": self.views.file_history(doc),
            "tags": [(name, tag_key(name)) for name in tag_names(doc.tags)],
        }
        if doc.collection is Collection.LOOP:
            context["loop"] = self.views.loops[doc.key]
        elif doc.collection is Collection.PRODUCT:
            from kb.contracts import swaps

            context["row"] = self.views.product_row(doc)
            context["swaps"] = swaps(self.graph, doc)
            context["years"] = year_links(doc.key, context["row"].loops)
        elif doc.collection is Collection.PRINCIPLE:
            context["row"] = self.views.principle_row(doc)
            context["years"] = year_links(doc.key, context["row"].loops)
        header = self._render(f"header_{doc.collection.value}.md.j2", doc.key, **context)
        feed = self.feeds.get(doc.key)
        footer = self._render("footer.md.j2", doc.key, backlinks=self._backlinks(doc), feed=feed, **context)
        body = self._body(doc)
        if header and doc.collection is Collection.PAGE and not body.startswith("\n"):
            header += "\n"  # a page's tags line, then a blank line before the author's first block
        return frontmatter(doc, feed, self._site_meta(doc)) + header + body + "\n" + footer

    # -- edit and write actions (kb's theme override shows them) ----------------------------
    def _site_meta(self, doc: Document) -> dict[str, Any]:
        """`kb_edit`: the edit link of the page's own source file (MkDocs' page.edit_url is
        built from the emitted path, wrong for renamed folder pages); `kb_actions`: the links
        that open the forge's new-file page with what `kb new` / `kb next` would write."""
        if self.forge is None:
            return {}
        meta: dict[str, Any] = {}
        edit = self.forge.edit_url(doc.rel)
        if edit:
            meta["kb_edit"] = edit
        action = None
        if doc.collection is Collection.LOOP:
            action = self._continue(doc)
        elif doc.collection is Collection.PRODUCT:
            action = self._start(product=doc)
        elif doc.collection is Collection.PRINCIPLE:
            action = self._start(principle=doc)
        if action:
            meta["kb_actions"] = [action]
        return meta

    def known(self) -> Any:
        from kb.scaffold import Known

        if self._known is None:
            self._known = Known(self.graph.docs.values())
        return self._known

    def _action(self, action: str, drafts: list[Any]) -> dict[str, str] | None:
        """The new-file link for the first draft, prefilled with the longest of the drafts' texts
        that fits the forge's URL limit (then the same text without comments, then none)."""
        assert self.forge is not None
        rel = drafts[0].path.relative_to(self.settings.root).as_posix()
        folder, name = _existing_folder(self.settings.root, rel)
        texts = list(dict.fromkeys([d.text for d in drafts] + [_without_comments(d.text) for d in drafts]))
        url = self.forge.new_file(folder, name, texts)
        if url is None:
            return None
        return {"id": action, "label": ACTIONS[action], "url": url, "path": rel}

    def _continue(self, doc: Document) -> dict[str, str] | None:
        from dataclasses import replace

        from kb.scaffold import ScaffoldError, draft, next_cycle

        try:
            new, _note = next_cycle(self.settings, doc.id, None, self.today, self.known())
            drafts = [draft(self.settings, new, self.known(), placeholders=True)]
            if new.observe_notes:
                drafts.append(
                    draft(self.settings, replace(new, observe_notes=""), self.known(), placeholders=True)
                )
        except ScaffoldError:
            return None  # a broken reference in the loop: lint reports it; no broken link
        return self._action("continue", drafts)

    def _start(
        self, product: Document | None = None, principle: Document | None = None
    ) -> dict[str, str] | None:
        """ "Start a loop cycle": a new loop with the product (and the principles its card names,
        else those of its latest loop) or the principle filled in."""
        from kb.scaffold import NewDoc, ScaffoldError, draft

        values: dict[str, Any] = {"date": self.today}
        known_principles = self.known().of(Collection.PRINCIPLE)
        if product is not None:
            values["product"] = product.id
            principles = [p for p in product.product.principles if p in known_principles]
            if not principles:
                latest = self.views.loops_into(product.key, EdgeKind.IMPROVES)
                principles = [self.graph.docs[k].id for k in latest[0].principles] if latest else []
            if principles:
                values["principles"] = tuple(principles)
        if principle is not None:
            values["principles"] = (principle.id,)
        try:
            new = draft(
                self.settings,
                NewDoc(Collection.LOOP, "New loop cycle", values),
                self.known(),
                placeholders=True,
            )
        except ScaffoldError:
            return None
        return self._action("start", [new])

    def _propose(self) -> dict[str, str] | None:
        from kb.scaffold import NewDoc, ScaffoldError, draft

        try:
            new = draft(
                self.settings, NewDoc(Collection.PRODUCT, "New product"), self.known(), placeholders=True
            )
        except ScaffoldError:
            return None
        return self._action("propose", [new])

    def _with_actions(self, text: str, action: dict[str, str] | None) -> str:
        """A generated page's text with `kb_actions` added to its frontmatter."""
        if action is None:
            return text
        block = yaml.dump(
            _escape({"kb_actions": [action]}), Dumper=_DUMPER, allow_unicode=True, sort_keys=False, width=1000
        )
        if text.startswith("---\n"):
            return "---\n" + block + text[4:]
        return f"---\n{block}---\n\n" + text

    def _body(self, doc: Document) -> str:
        """The author's body with resolved wikilinks rewritten to relative markdown links, and
        other links rewritten where MkDocs would leave them broken (`_url_edit`)."""
        body, out, pos = doc.body, [], 0
        edits: list[tuple[int, int, str]] = []
        for item in self.graph.resolved.get(doc.key, ()):
            if item.link.kind.value == "wiki":
                label = item.link.label or self.views.title(item.target)
                target = self.graph.site_key(item.target)
                text = templating.link(doc.key, target, label, _anchor(self.graph, item))
                edits.append((item.link.start, item.link.end, text))
            else:
                edits.extend(_url_edit(self.graph, doc, item, body, asset=False))
        for item in self.graph.asset_links.get(doc.key, ()):
            edits.extend(_url_edit(self.graph, doc, item, body, asset=True))
        for start, end, replacement in sorted(edits):
            if start < pos:
                continue  # inside an edit already made (cannot happen for scanned links)
            out.append(body[pos:start])
            out.append(replacement)
            pos = end
        out.append(body[pos:])
        return "".join(out)

    def _backlinks(self, doc: Document) -> list[tuple[str, list[str], int]]:
        """Incoming edges grouped by relation (typed relations have their own sections): the
        first `BACKLINKS_MAX` of each group and how many more there are. A principle that 700
        loop cycles link to would otherwise end in 120 kB of links, rendered again whenever one
        of those loops is retitled; its "Practiced in" section and kb.json list them all."""
        groups = {
            EdgeKind.LINK: "Linked from",
            EdgeKind.FOLLOWS: "Followed by",
            EdgeKind.DEPENDS_ON: "Used by",
            EdgeKind.ALTERNATIVE: "Listed as an alternative by",
        }
        out = []
        for kind, name in groups.items():
            if kind is EdgeKind.DEPENDS_ON and doc.collection is Collection.PRODUCT:
                continue  # the product card shows it
            keys = [d.key for d in self.graph.sources(doc.key, kind) if d.readable]
            if keys:
                out.append((name, keys[:BACKLINKS_MAX], max(0, len(keys) - BACKLINKS_MAX)))
        return out

    # -- generated pages -------------------------------------------------------------------
    def generated(self) -> dict[str, str]:
        """Every generated page: path → markdown."""
        return {spec.rel: spec.render() for spec in self.specs()}

    def specs(self) -> list[Spec]:
        """The generated pages, each with the documents it shows (`Spec.shows`): the indexes,
        the loops of each year and month, people, coverage, the tags and each tag's page, and the
        loops of each year of a principle, product, person or tag that has more than `LATEST`
        (its page lists the latest)."""
        views, out = self.views, list[Spec]()
        loops = views.all_loops()
        out.append(Spec("principles/index.md", self._principles_index, None))
        out.append(Spec("products/index.md", self._products_index, None))
        out.append(Spec("loops/index.md", functools.partial(self._loops_index, loops), None))
        for year, year_loops in by_year(loops).items():
            out.append(Spec(f"loops/{year}/index.md", functools.partial(self._year, year, year_loops), None))
            for month, month_loops in by_month(year_loops).items():
                render = functools.partial(self._month, year, month, month_loops)
                out.append(Spec(month_key(year, month) + ".md", render, listed(month_loops)))
        for row in views.principles():
            out.extend(self._years_of(row.key, row.title, row.loops, "that practice", True))
        for prow in views.products():
            out.extend(self._years_of(prow.key, prow.title, prow.loops, "that improve", False))
        people = views.people()
        if people:
            out.append(Spec("people/index.md", functools.partial(self._people_index, people), None))
            for name, person_loops in people.items():
                key = person_key(name)
                out.append(Spec(key + ".md", functools.partial(self._person, name, person_loops), None))
                out.extend(self._years_of(key, name, person_loops, "by", True))
        out.append(Spec("principles/coverage.md", self._coverage, None))
        out.extend(self._tag_specs())
        return out

    def _tag_specs(self) -> list[Spec]:
        """The list of tags (a count per tag: emitted again on any change of shape, like the
        other indexes) and each tag's page with the loops of its years past `LATEST`. A tag's
        page shows every document it counts and the products of the loops it lists."""
        tagged = self.views.tagged()
        if not tagged:
            return []
        index = [(name, tag_key(name), len(docs)) for name, docs in tagged.items()]
        out = [
            Spec(
                "tags/index.md", functools.partial(self._render, "tags.md.j2", "tags/index", tags=index), None
            )
        ]
        for name, docs in tagged.items():
            key = tag_key(name)
            loops = newest_first(self.views.loops[d.key] for d in docs if d.key in self.views.loops)
            pages = sorted(
                (d for d in docs if d.key not in self.views.loops), key=lambda d: (d.title.casefold(), d.key)
            )
            render = functools.partial(
                self._render,
                "tag.md.j2",
                key,
                name=name,
                total=len(docs),
                pages=pages,
                loops=loops,
                years=year_links(key, loops),
            )
            out.append(Spec(key + ".md", render, frozenset(d.key for d in docs) | listed(loops[:LATEST])))
            out.extend(self._years_of(key, name, loops, "tagged", True))
        return out

    def _principles_index(self) -> str:
        rows = self.views.principles()
        return self._render("principles_index.md.j2", "principles/index", rows=rows)

    def _products_index(self) -> str:
        rows = self.views.products()
        text = self._render("products_index.md.j2", "products/index", rows=rows, mermaid=MERMAID)
        return self._with_actions(text, self._propose()) if self.forge is not None else text

    def _loops_index(self, loops: list[LoopView]) -> str:
        """The loops index: counts, the latest loops, the latest open ones of each stage and a
        row per year; its size grows with the years, never with the loops."""
        open_loops = [lv for lv in loops if lv.stage is not Stage.REPEAT]
        by_stage = [
            (stage, [lv for lv in open_loops if lv.stage is stage])
            for stage in Stage
            if stage is not Stage.REPEAT
        ]
        text = self._render(
            "loops_index.md.j2",
            "loops/index",
            total=len(loops),
            open_count=len(open_loops),
            newest=loops[:LATEST],
            open=[(stage, len(items), items[:OPEN_LATEST]) for stage, items in by_stage if items],
            years=[(year, items, f"loops/{year}/index") for year, items in by_year(loops).items()],
            undated=[lv for lv in loops if lv.date is None],
            feed=self.feeds.get("loops/index"),
        )
        return self._with_actions(text, self._start()) if self.forge is not None else text

    def _year(self, year: int, loops: list[LoopView]) -> str:
        months = [(month, items, month_key(year, month)) for month, items in by_month(loops).items()]
        return self._render("loops_year.md.j2", f"loops/{year}/index", year=year, loops=loops, months=months)

    def _month(self, year: int, month: int, loops: list[LoopView]) -> str:
        key = month_key(year, month)
        year_page = f"loops/{year}/index"
        return self._render(
            "loops_month.md.j2", key, year=year, month=month, loops=loops, year_page=year_page
        )

    def _years_of(self, subject: str, name: str, loops: Any, what: str, with_product: bool) -> list[Spec]:
        """The pages of a subject's loops, one per year, once it has more than its page lists;
        a year of more than `YEAR_MOST` loops lists its months, each with a page of its loops."""
        out: list[Spec] = []
        if len(loops) <= LATEST:
            return out
        page = functools.partial(
            self._render, "loops_of.md.j2", subject=subject, name=name, what=what, with_product=with_product
        )
        for year, items in by_year(loops).items():
            key = year_key(subject, year)
            months = []
            if len(items) > YEAR_MOST:
                for month, month_loops in by_month(items).items():
                    mkey = subject_month_key(subject, year, month)
                    months.append((month, month_loops, mkey))
                    render = functools.partial(
                        page, mkey, year=year, month=month, months=[], loops=month_loops, year_page=key
                    )
                    out.append(Spec(mkey + ".md", render, listed(month_loops) | {subject}))
            render = functools.partial(
                page, key, year=year, month=None, months=months, loops=items, year_page=key
            )
            out.append(Spec(key + ".md", render, listed(items) | {subject}))
        return out

    def _people_index(self, people: dict[str, list[LoopView]]) -> str:
        return self._render(
            "people_index.md.j2",
            "people/index",
            people=people,
            person_key=person_key,
            counts=self.views.principle_counts,
        )

    def _person(self, name: str, loops: list[LoopView]) -> str:
        key = person_key(name)
        return self._render(
            "person.md.j2",
            key,
            name=name,
            loops=loops,
            years=year_links(key, loops),
            counts=self.views.principle_counts(loops),
        )

    def _coverage(self) -> str:
        from kb import coverage

        cov = coverage.compute(self.views, self.settings.coverage_window_days, self.today)
        by_product: dict[str, list[Any]] = {}
        for lv in self.views.all_loops():
            if lv.product:
                by_product.setdefault(lv.product, []).append(lv)
        products = coverage.table(dict(sorted(by_product.items())), self.views, "product")
        people = coverage.table(self.views.people(), self.views, "person")
        return self._render(
            "coverage.md.j2",
            "principles/coverage",
            cov=cov,
            svg=Markup(coverage.svg(cov)),
            products=products,
            people=people,
            person_key=person_key,
        )


def _url_edit(
    graph: Graph, doc: Document, item: Resolved, body: str, asset: bool
) -> list[tuple[int, int, str]]:
    """The rewrite of one resolved link's URL, if the site needs one.

    MkDocs turns a link to a `.md` file or an asset into the right URL, but leaves others as
    written: a site-root link (`/team/`) then works only at a domain root, and a folder link
    (`team/`) or one without `.md` only from an index page. kb writes such links as relative
    links to the file they resolved to, so they work wherever the site is served; links to a
    page published under another name (`_index.md`) too. Raw HTML is not rewritten by
    MkDocs at all, so its links get the page's final URL.
    """
    link = item.link
    written = link.target + ("#" + link.anchor if link.anchor is not None else "")
    path = unquote_path(link.target.strip())
    html_link = link.kind.value == "html"
    if not path:
        return []  # `#anchor` or `?query` only: the page itself
    renamed = not asset and item.target in graph.site
    if not (path.startswith("/") or renamed or html_link or (not asset and not path.endswith(".md"))):
        return []
    segment = body[link.start : link.end]
    at = segment.rfind(written)
    if at < 0 or not written:
        return []
    here = doc.key
    anchor = link.anchor if link.anchor else None
    if asset:
        if html_link:
            url = _from_page(graph, here, item.target)
        else:
            url = quote(posixpath.relpath(item.target, posixpath.dirname(doc.rel) or "."))
        url += f"#{anchor}" if anchor else ""
    elif html_link:
        url = _from_page(graph, here, page_url(graph, item.target) or "./")
        url += f"#{anchor}" if anchor else ""
    else:
        url = templating.href(here, graph.site_key(item.target), anchor)
    start = link.start + at
    return [(start, start + len(written), url)]


def unquote_path(url: str) -> str:
    return unquote(url.split("?", 1)[0])


def _from_page(graph: Graph, here: str, target: str) -> str:
    """`target` (a path of the built site) relative to the URL of the page `here`."""
    page = page_url(graph, here)
    rel = posixpath.relpath(target or ".", page.rstrip("/") or ".")
    if target.endswith("/") and not rel.endswith("/"):
        rel += "/"
    return quote(rel)


def _anchor(graph: Graph, item: Any) -> str | None:
    if not item.anchor:
        return None
    target = graph.docs.get(item.target)
    if target is None:
        return item.anchor
    anchors = {h.anchor for h in target.scan.headings}
    if item.anchor in anchors:
        return item.anchor
    from kb.markdown import slugify

    return slugify(item.anchor)


@dataclass(frozen=True)
class Spec:
    """A generated page: where it goes, how to render it, and the documents whose shape it
    shows (None: it may show any document's; it is emitted again whenever one changed)."""

    rel: str
    render: Callable[[], str]
    shows: frozenset[str] | None


#: How many open loops of each stage the loops index lists (the latest; it counts them all).
OPEN_LATEST = 10

_MONTHS = ("January February March April May June July August September October November December").split()


def month_name(year: int, month: int) -> str:
    """ "December 2026": the same in every locale."""
    return f"{_MONTHS[month - 1]} {year}"


def listed(loops: Any) -> frozenset[str]:
    """The documents a loop table of `loops` shows: the loops and their products."""
    return frozenset(lv.key for lv in loops) | {lv.product for lv in loops if lv.product}


#: The most loops a subject's page of one year lists; a year with more lists its months, each
#: with a page (`kb.views.subject_month_key`). At 10,000 loops a principle's year held 600 and a
#: person's 500 (100 kB of table), and every retitled loop rendered several such pages again.
YEAR_MOST = 100


def year_links(subject: str, loops: Any) -> list[tuple[int, int, str]]:
    """(year, loops, page) for a subject page's "by year" line; none while it lists them all."""
    if len(loops) <= LATEST:
        return []
    return [(year, len(items), year_key(subject, year)) for year, items in by_year(loops).items()]


def _generated_link(here: str, key: str, label: str) -> Markup:
    """A link from page `here` to a generated page (which has no document, hence no title)."""
    return templating.link(here, key, label)


def person_key(name: str) -> str:
    """`people/<slug>`; a name with no ASCII letters (李雷) gets a stable hash instead of a shared slug."""
    import hashlib

    from kb.validate import slug

    ascii_slug = slug(name)
    if ascii_slug == "untitled" and name.strip().casefold() != "untitled":
        return f"people/person-{hashlib.sha1(name.encode('utf-8')).hexdigest()[:8]}"
    return f"people/{ascii_slug}"


def _escape(value: Any) -> Any:
    """Escape every string (recursively): Material prints page.meta raw into the HTML."""
    if isinstance(value, str):
        return html.escape(value, quote=True)
    if isinstance(value, list):
        return [_escape(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _escape(v) for k, v in value.items()}
    return value


def frontmatter(doc: Document, feed: Any = None, site: Mapping[str, Any] | None = None) -> str:
    """The document's frontmatter written anew from its record: title, description, the
    renderer's keys whose values validate accepted (a plain page's), tags, and a page's own keys.

    Principles, products and loops pass only tags (their other fields are kb's own, shown in
    the header — a product's `status` is not Material's). `kb_feeds` names the page's loop
    feed for the theme override's `<link rel="alternate">`; `site` adds kb's own keys for the
    theme override (`kb_edit`, `kb_actions`).
    """
    meta: dict[str, Any] = {"title": doc.title}
    render: Mapping[str, Any] = doc.page.render if doc.collection is Collection.PAGE else {}
    summary = doc.summary
    if summary.strip() and "description" not in render:
        meta["description"] = summary
    meta.update(render)
    if doc.tags:
        meta["tags"] = list(doc.tags)
    if doc.collection is Collection.PAGE:
        meta.update(doc.page.own)
    if feed is not None:
        meta["kb_feeds"] = feed_meta(feed)
    meta.update(site or {})
    dumped = yaml.dump(_escape(meta), Dumper=_DUMPER, allow_unicode=True, sort_keys=False, width=1000)
    return f"---\n{dumped}---\n\n"


@functools.lru_cache(maxsize=1024)
def _is_dir(path: Path) -> bool:
    return path.is_dir()


def _existing_folder(root: Path, rel: str) -> tuple[str, str]:
    """(folder, name) for a new file's repository path: the deepest folder of it that exists,
    and the rest as the file name (`2027/x.md` in a year with no loops yet). Forges open their
    new-file page only in a folder that exists; a '/' in the name creates folders."""
    folder, _, name = rel.rpartition("/")
    while folder and not _is_dir(root / folder):
        folder, _, parent = folder.rpartition("/")
        name = f"{parent}/{name}"
    return folder, name


_COMMENT = re.compile(r"[ \t]*<!--.*?-->[ \t]*\n?", re.S)


def _without_comments(text: str) -> str:
    """A scaffold without its HTML-comment prompts (and carried notes): the shorter form."""
    return _COMMENT.sub("", text)


def feed_meta(feed: Any) -> list[dict[str, str]]:
    return [
        {"title": feed.title, "href": feed.key + ".xml", "type": "application/atom+xml"},
        {"title": feed.title, "href": feed.key + ".json", "type": "application/feed+json"},
    ]


def _site_url(settings: Settings) -> str:
    """The public URL: [tool.kb] site_url, else mkdocs.yml's site_url, else unknown ("")."""
    from kb.siteconfig import config_path

    if settings.site_url:
        return settings.site_url
    path = config_path(settings.root)
    if path is not None:
        for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
            if line.startswith("site_url:"):
                return line.split(":", 1)[1].strip().strip("'\"")
    return ""


def kb_json(
    graph: Graph, views: Views, kept: Mapping[str, bytes] | None = None
) -> tuple[bytes, dict[str, tuple[int, int]]]:
    """The whole graph for other tools, in the shape DESIGN.md §5 gives (compact JSON: the C
    encoder), and where each document's entry lies in it (key → byte offsets).

    `kept`: the entries of the last kb.json, by document key, of documents whose shape did
    not change (their entry is a function of it: kb.emit_state), taken as they are. Writing
    every entry again cost most of a second for 10,000 documents (17 MB) on every title edit;
    the entries are the bytes `json.dumps` gives the whole, one by one."""
    from json.encoder import encode_basestring as quoted  # a string as dumps writes it here

    dumps = functools.partial(json.dumps, ensure_ascii=False, separators=(",", ":"))
    head = b'{"documents":['
    parts, spans, at = [head], dict[str, tuple[int, int]](), len(head)
    for doc in sorted(graph.docs.values(), key=lambda d: d.path):
        if not doc.readable:
            continue
        entry = kept.get(doc.key) if kept else None
        if entry is None or not entry.startswith(b'{"path":' + quoted(doc.path).encode() + b","):
            entry = dumps(_kb_json_document(graph, views, doc)).encode("utf-8")
        if len(parts) > 1:
            parts.append(b",")
            at += 1
        parts.append(entry)
        spans[doc.key] = (at, at + len(entry))
        at += len(entry)
    paths = {k: d.path for k, d in graph.docs.items()}
    kinds = {kind: kind.value for kind in EdgeKind}  # an enum's `.value` is a slow property
    edges = sorted({(paths[e.source], paths.get(e.target, e.target), kinds[e.kind]) for e in graph.edges})
    # What `dumps` writes for each edge's object, without making the objects (60,000 edges).
    listed = ",".join([f'{{"from":{quoted(a)},"to":{quoted(b)},"kind":{quoted(k)}}}' for a, b, k in edges])
    parts.append(f'],"edges":[{listed}]}}\n'.encode())
    return b"".join(parts), spans


def _kb_json_document(graph: Graph, views: Views, doc: Document) -> dict[str, Any]:
    hist = views.file_history(doc)
    return {
        "path": doc.path,
        "collection": doc.collection.value,
        "id": doc.id,
        "title": doc.title,
        "url": page_url(graph, doc.key),
        "frontmatter": _jsonable(dict(doc.meta)),
        "history": None
        if hist is None
        else {
            "created": _iso(hist.created),
            "updated": _iso(hist.updated),
            "authors": list(hist.authors),
            "commits": hist.commits,
        },
    }


def kept_entries(
    data: bytes, spans: Mapping[str, tuple[int, int]], keep: Callable[[str], bool]
) -> dict[str, bytes]:
    """The entries of the last kb.json (`data`, `spans` from the state) of the documents
    `keep` accepts, for `kb_json`'s `kept`; none whose span does not fit `data`."""
    out: dict[str, bytes] = {}
    for key, (start, end) in spans.items():
        if keep(key) and 0 <= start < end <= len(data) and data[end - 1 : end] == b"}":
            out[key] = data[start:end]
    return out


def page_url(graph: Graph, key: str) -> str:
    """The URL MkDocs gives a document's page: a `README.md` without an `index.md` beside it is
    its folder's page, as is an `_index.md` published as `index.md`."""
    site = graph.site_key(key)
    folder, _, name = site.rpartition("/")
    if name == "README" and (f"{folder}/index" if folder else "index") not in graph.docs:
        return f"{folder}/" if folder else ""
    return url_of(site)


def _iso(value: Any) -> str | None:
    return value.isoformat() if value else None


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_jsonable(v) for v in value]
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return value
