"""Emit only what an edit touches: the pages that show a document whose shape changed.

A page is a function of the documents it shows and of what all pages share (kb.emit_state).
Every emit records, per page, the documents whose shape it shows (`shows`: a document's page
shows itself, its neighbours in the graph and, for a product, more; a month's page its loops
and their products); the next emit, when only some documents changed and nothing shared did,
renders again:

- every page that showed a changed document last time, or shows one now (a loop moved from one
  product to another leaves the first and joins the second);
- every page that is new, and the pages of documents whose prose alone changed;
- when any shape changed, the pages that may show any document (`Spec.shows` None: the
  indexes, years, people, coverage and the list of tags, each bounded by the number of
  principles, products, people, months or tags, never by the loops) and kb.json; and the feeds
  that may list a changed loop or name a changed principle or product (`feed_shows`). A tag's
  page, like a month's or a subject's year page, names what it shows: every document it counts
  and the products of the loops it lists (tags are many, so not every tag page is rendered on
  every change).

kb.json is written again on a change of shape, but only the entries of changed documents are
made again: the others are cut from the last kb.json where the state says they lie.

The files no longer emitted are removed. The result is the clean emit's tree, byte for byte
(tests/test_emit_incremental.py, tests/test_render_cache.py).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from kb.emit import FIND
from kb.emit_state import Edits, Inputs, json_spans, shown, write_state
from kb.link import EdgeKind, Graph
from kb.model import Collection, Document

if TYPE_CHECKING:
    from kb.emit import Emitted, Spec
    from kb.forge import Forge
    from kb.history import History
    from kb.pipeline import Checked
    from kb.settings import Settings
    from kb.views import Views


def shows(graph: Graph, views: Views, doc: Document, actions: bool) -> frozenset[str]:
    """The documents whose shape `doc`'s page shows: itself and every document an edge joins
    it to, either way (its header's references, body links, backlinks, a principle's loops and
    products). A product's card also shows every product (consumers of its interfaces,
    alternatives named by id) and its loops' principles and predecessors (its loop history and
    principle counts); a principle's table, its loops' products. `actions`: with a forge, a
    page's new-file link also shows every principle and product (their ids are resolved and
    listed) and a loop's chain of predecessors (the next cycle's number)."""
    key = doc.key
    out = {key}
    out.update(e.target for e in graph.outgoing.get(key, ()))
    out.update(e.source for e in graph.incoming.get(key, ()))
    if doc.collection is Collection.PRODUCT:
        out.update(graph.by_id[Collection.PRODUCT][i].key for i in graph.by_id[Collection.PRODUCT])
        for lv in views.loops_into(key, EdgeKind.IMPROVES):
            out.update(lv.principles)
            if lv.follows:
                out.add(lv.follows)
    elif doc.collection is Collection.PRINCIPLE:
        out.update(lv.product for lv in views.loops_into(key, EdgeKind.PRACTICES) if lv.product)
    if actions and doc.collection is not Collection.PAGE:
        out.update(d.key for c in (Collection.PRINCIPLE, Collection.PRODUCT) for d in graph.by_id[c].values())
        current = views.loops.get(key)
        while current is not None and current.follows and current.follows not in out:
            out.add(current.follows)
            current = views.loops.get(current.follows)
    return frozenset(out)


def emit_partial(
    checked: Checked,
    history: History | None,
    settings: Settings,
    docs_dir: Path,
    stages: Mapping[str, list[tuple[int, str]]],
    edits: Edits,
    previous: Mapping[str, Any],
    inputs: Inputs,
    forge: Forge | None = FIND,
) -> Emitted | None:
    """Render again what `edits` touch (see the module's doc) and write what changed; None
    when the whole tree must be emitted after all (Mermaid's script comes or goes)."""
    from kb import emit, feeds, templating
    from kb.nav import NOT_IN_NAV, nav, titled
    from kb.tree import Tree
    from kb.views import Views

    graph = checked.graph
    views = Views(graph, history)
    changed = edits.shapes
    entries = feeds.entries(views, dict(stages)) if changed else []
    all_feeds = feeds.feeds(views, entries)
    pages = emit._Pages(
        templating.environment(settings.root, settings.cache / templating.COMPILED),
        views,
        settings,
        {f.page: f for f in all_feeds},
        checked.today,
        forge,
    )
    actions = pages.forge is not None
    docs = {graph.site_key(d.key) + ".md": d for d in graph.docs.values() if d.readable}
    specs: dict[str, Spec] = {spec.rel: spec for spec in pages.specs()}
    now: dict[str, frozenset[str]] = {rel: shows(graph, views, d, actions) for rel, d in docs.items()}
    now.update((rel, spec.shows) for rel, spec in specs.items() if spec.shows is not None)
    before = shown(previous)
    old_files = set(previous["files"])
    todo = {rel for rel, keys in now.items() if rel not in old_files or not keys.isdisjoint(changed)}
    todo.update(rel for rel, keys in before.items() if rel in now and not keys.isdisjoint(changed))
    todo.update(graph.site_key(k) + ".md" for k in edits.prose if k in graph.docs and graph.docs[k].readable)
    if changed:
        todo.update(rel for rel, spec in specs.items() if spec.shows is None)
    tree = Tree()
    for rel in sorted(todo):
        tree.text(rel, pages.document(docs[rel]) if rel in docs else specs[rel].render())
    fed = {feed.key + ".xml": feed_shows(views, feed) for feed in all_feeds}
    now.update(fed)
    stale = {rel for rel, keys in fed.items() if rel not in old_files or not keys.isdisjoint(changed)}
    stale.update(rel for rel, keys in before.items() if rel in fed and not keys.isdisjoint(changed))
    feed_files = _feed_files(tree, all_feeds, views, settings, stale)
    spans = json_spans(previous)
    if changed:
        try:
            last = (docs_dir / "kb.json").read_bytes()
        except OSError:
            last = b""
        kept = emit.kept_entries(last, spans, lambda key: key not in changed)
        tree.files["kb.json"], spans = emit.kb_json(graph, views, kept)
    files = set(docs) | set(specs) | feed_files | {"kb.json"} | {a.rel for a in checked.corpus.assets}
    mermaid = _mermaid(previous, tree, files)
    if mermaid is None:
        return None
    if mermaid:
        files.add(emit.MERMAID)
    state_file = docs_dir.with_name(docs_dir.name + "-state.json")
    state_file.unlink(missing_ok=True)  # the tree is about to change: no state claims it meanwhile
    written = emit.write_changed(tree, docs_dir)  # through emit: tests replace it there
    removed = sorted(old_files - files)
    for rel in removed:
        (docs_dir / rel).unlink(missing_ok=True)
    entries_nav = emit._published_nav(nav(graph, views), graph)
    result = emit.Emitted(
        docs_dir,
        titled(entries_nav, _with_nav_pages(tree, entries_nav, docs_dir)),
        NOT_IN_NAV,
        tuple(sorted(written)),
        tuple(removed),
        sum(1 for rel in files if rel.endswith(".md")),
        emit.site_name(graph),
    )
    write_state(state_file, inputs.state(result, mermaid, files, now, spans))
    return result


def feed_shows(views: Views, feed: Any) -> frozenset[str]:
    """The documents whose shape a feed shows: the loops it may list (all of its product's or
    principle's, every loop for the handbook's), every principle and product (entries name
    them) and the home page (the handbook feed's title)."""
    graph = views.graph
    if _is(graph, feed.page, Collection.PRODUCT):
        loops = [lv.key for lv in views.loops_into(feed.page, EdgeKind.IMPROVES)]
    elif _is(graph, feed.page, Collection.PRINCIPLE):
        loops = [lv.key for lv in views.loops_into(feed.page, EdgeKind.PRACTICES)]
    else:
        loops = list(views.loops)
    named = (d.key for c in (Collection.PRINCIPLE, Collection.PRODUCT) for d in graph.by_id[c].values())
    return frozenset((*loops, *named, feed.page, "index"))


def _is(graph: Graph, key: str, collection: Collection) -> bool:
    doc = graph.docs.get(key)
    return doc is not None and doc.collection is collection


def _feed_files(
    tree: Any, all_feeds: list[Any], views: Views, settings: Settings, stale: set[str]
) -> set[str]:
    """The feeds' files; those of the `stale` feeds (by their Atom file) rendered into `tree`."""
    import posixpath

    from kb import emit, feeds

    site_url = emit._site_url(settings) if stale else ""
    out: set[str] = set()
    for feed in all_feeds:
        sitemap = posixpath.dirname(feed.key) + "/sitemap.xml"
        out.update((feed.key + ".xml", feed.key + ".json", sitemap))
        if feed.key + ".xml" in stale:
            tree.text(feed.key + ".xml", emit.xml_safe(feeds.atom(feed, views, site_url)))
            tree.text(feed.key + ".json", feeds.json_feed(feed, views, site_url))
            tree.text(sitemap, emit.EMPTY_SITEMAP)
    return out


def _mermaid(previous: Mapping[str, Any], tree: Any, files: set[str]) -> set[str] | None:
    """The emitted files that name Mermaid's script after this emit (`files`: all of them),
    or None when the script must be copied in or removed (the whole tree is emitted then)."""
    from kb.emit import MERMAID

    mermaid = {rel for rel in previous.get("mermaid", ()) if rel in files and rel not in tree.files}
    marker = MERMAID.encode()
    mermaid.update(rel for rel, data in tree.files.items() if marker in data)
    if bool(mermaid) != bool(previous.get("mermaid")):
        return None
    return mermaid


def _with_nav_pages(tree: Any, entries: list[Any], docs_dir: Path) -> Any:
    """`tree` plus, read from disk, the pages the nav names that were not emitted again: the
    nav's titles come from the emitted frontmatter (kb.nav.titled)."""
    from kb.tree import Tree

    out = Tree(dict(tree.files))
    for rel in _nav_files(entries):
        if rel not in out.files:
            try:
                out.files[rel] = (docs_dir / rel).read_bytes()
            except OSError:
                continue
    return out


def _nav_files(entries: list[Any]) -> list[str]:
    out: list[str] = []
    for entry in entries:
        if isinstance(entry, str):
            out.append(entry)
        elif isinstance(entry, dict):
            for value in entry.values():
                out.extend(_nav_files(value) if isinstance(value, list) else [value])
    return out
