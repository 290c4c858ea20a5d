"""Stage 3 — link: resolve every reference into a `Graph` of forward and reverse edges.

Frontmatter references become typed edges (practices, improves, follows, depends on, …);
body links (wikilinks, relative links, images) become `link` edges, and their anchors are
checked against the target's headings. Pure: no git, no MkDocs, no Jinja2.
"""

from __future__ import annotations

import difflib
import heapq
import os
import posixpath
import re
from collections import defaultdict
from collections.abc import Callable, Container, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from enum import Enum
from functools import cache, partial
from operator import attrgetter, itemgetter
from pathlib import Path
from typing import NamedTuple, cast
from urllib.parse import unquote

from kb import generated
from kb.findings import Finding, Severity, finding
from kb.markdown import Link, LinkKind, slugify
from kb.model import INDEX_NAMES, Asset, Collection, Document, Pos, fast_init
from kb.schema import ID_RE
from kb.values import shown

#: Generated pages a link may point at although no content file backs them.
GENERATED = (
    "index",
    "principles/index",
    "principles/coverage",
    "products/index",
    "loops/index",
    "people/index",
)
#: Loops of a year or a month, `loops/2026/index` and `loops/2026/12/index`; a principle's or a
#: product's loops of a year or a month, `principles/ownership/2026` and `.../2026/12`
#: (kb.views.month_key, year_key and subject_month_key).
_YEAR_INDEX = re.compile(r"loops/\d{4}(/\d{2})?/index\Z")
_SUBJECT_YEAR = re.compile(r"(principles|products)/.+/\d{4}(/\d{2})?\Z")
_SCHEME = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*:")


class EdgeKind(str, Enum):
    """Why one document points at another. Frontmatter gives typed kinds; bodies give LINK."""

    PRACTICES = "practices"  # loop → principle   (reverse: practiced in)
    IMPROVES = "improves"  # loop → product      (reverse: loop history)
    FOLLOWS = "follows"  # loop → loop           (reverse: followed by)
    DEPENDS_ON = "depends_on"  # product → product (reverse: used by)
    GUIDED_BY = "guided_by"  # product → principle (reverse: guides products)
    ALTERNATIVE = "alternative"  # product → product
    RELATED = "related"  # principle → principle
    LINK = "link"  # any body link          (reverse: linked from)


@fast_init
@dataclass(frozen=True, slots=True)
class Edge:
    source: str  # document key (content-relative path without .md)
    target: str
    kind: EdgeKind


@fast_init
@dataclass(frozen=True, slots=True)
class Resolved:
    """A body link that resolved to a document (or generated page): what emit rewrites."""

    link: Link
    target: str  # document key, or a generated page's key (an asset's path in `Graph.asset_links`)
    anchor: str | None


@dataclass
class Graph:
    """The linked handbook: documents by key and by (collection, id), with all edges."""

    docs: dict[str, Document]
    by_id: dict[Collection, dict[str, Document]]
    assets: set[str]
    edges: list[Edge] = field(default_factory=list)
    incoming: dict[str, list[Edge]] = field(default_factory=lambda: defaultdict(list))
    outgoing: dict[str, list[Edge]] = field(default_factory=lambda: defaultdict(list))
    resolved: dict[str, list[Resolved]] = field(default_factory=lambda: defaultdict(list))
    #: Site-root links to assets (`/img/x.png`), which emit rewrites as relative links.
    asset_links: dict[str, list[Resolved]] = field(default_factory=lambda: defaultdict(list))
    #: Documents published under another name: a folder's only index `x/_index.md` (Hugo's)
    #: is the folder's page, `x/index`. Key -> the key of its page in the docs tree.
    site: dict[str, str] = field(default_factory=dict)

    def site_key(self, key: str) -> str:
        """Where a document's page is in the emitted docs tree (its key, unless renamed)."""
        return self.site.get(key, key)

    def add(self, edge: Edge) -> None:
        self.edges.append(edge)
        self.outgoing[edge.source].append(edge)
        self.incoming[edge.target].append(edge)

    def get(self, collection: Collection, ident: str) -> Document | None:
        return self.by_id[collection].get(ident)

    def sources(self, key: str, kind: EdgeKind) -> list[Document]:
        """Documents with an edge of `kind` into `key`, deduplicated, in key order."""
        keys = sorted({e.source for e in self.incoming.get(key, ()) if e.kind is kind})
        return [self.docs[k] for k in keys]

    def targets(self, key: str, kind: EdgeKind) -> list[Document]:
        seen: dict[str, None] = {}
        for e in self.outgoing.get(key, ()):
            if e.kind is kind:
                seen.setdefault(e.target)
        return [self.docs[k] for k in seen if k in self.docs]


def link(
    docs: Iterable[Document], assets: Iterable[Asset], content: Path | None = None
) -> tuple[Graph, list[Finding]]:
    """Build the graph and report every reference that does not resolve.

    `content` (the content folder) lets a link into a hidden folder, which the walk skips,
    be told from a link to a missing file: only such links look at the disk.
    """
    graph = _index(docs, assets)
    listed = graph.docs.values()
    index = Index(
        [(key, doc.collection, doc.id) for key, doc in graph.docs.items()],
        graph.assets,
        listed,
        _years(listed),
    )
    linker = _GraphLinker(graph, index, content)
    nodes = [Node(doc.key, doc.path, doc.collection, doc.id, doc.readable) for doc in listed]
    principles = {key: doc for key, doc in graph.docs.items() if doc.collection is _PRINCIPLE}
    found = _duplicates(nodes, index, graph.by_id[Collection.PRINCIPLE].values(), principles)
    for key, doc in graph.docs.items():
        found.extend(cast("list[Finding]", linker.document(key, doc)))  # all docs are here: nothing waits
    by_key = {node.key: node for node in nodes}
    for kind in _CHAINS:
        nexts: dict[str, list[str]] = defaultdict(list)
        for e in graph.edges:
            if e.kind is kind:
                nexts[e.source].append(e.target)
        found.extend(_cycles(kind, nexts, by_key, partial(_value_pos, graph.docs, kind.value)))
    practiced = {e.target for e in graph.edges if e.kind is EdgeKind.PRACTICES}
    found.extend(_orphans(nodes, practiced, graph.incoming))
    return graph, found


def _index(docs: Iterable[Document], assets: Iterable[Asset]) -> Graph:
    by_key: dict[str, Document] = {}
    by_id: dict[Collection, dict[str, Document]] = {c: {} for c in Collection}
    for doc in docs:
        by_key[doc.key] = doc
        by_id[doc.collection].setdefault(doc.id, doc)
    graph = Graph(by_key, by_id, {a.rel for a in assets})
    generated = set(GENERATED[1:]) | _year_pages(by_key.values())  # emit writes no home page
    for key in by_key:
        if key == "_index" or key.endswith("/_index"):
            folder = key[: -len("_index")]
            if (
                folder + "index" not in by_key
                and folder + "README" not in by_key
                and folder + "index" not in generated
            ):
                graph.site[key] = folder + "index"
    return graph


_REFS: dict[Collection, tuple[tuple[str, Collection, EdgeKind, str], ...]] = {
    Collection.LOOP: (
        ("principles", Collection.PRINCIPLE, EdgeKind.PRACTICES, "KB401"),
        ("product", Collection.PRODUCT, EdgeKind.IMPROVES, "KB402"),
        ("follows", Collection.LOOP, EdgeKind.FOLLOWS, "KB403"),
    ),
    Collection.PRODUCT: (
        ("depends_on", Collection.PRODUCT, EdgeKind.DEPENDS_ON, "KB402"),
        ("principles", Collection.PRINCIPLE, EdgeKind.GUIDED_BY, "KB401"),
    ),
    Collection.PRINCIPLE: (("related", Collection.PRINCIPLE, EdgeKind.RELATED, "KB401"),),
}
_NOUN = {Collection.PRINCIPLE: "principle", Collection.PRODUCT: "product", Collection.LOOP: "loop"}
#: Enum members read in hot loops, bound once: on Python 3.11 `Kind.X` costs ~0.1 µs a read
#: (the enum metaclass's attribute lookup), as much as the check it serves.
_PRINCIPLE, _PRODUCT, _LOOP, _PAGE = (
    Collection.PRINCIPLE,
    Collection.PRODUCT,
    Collection.LOOP,
    Collection.PAGE,
)
_WIKI_KIND, _HTML_KIND, _LINK_EDGE = LinkKind.WIKI, LinkKind.HTML, EdgeKind.LINK
_PRACTICES_EDGE, _CHAINS = EdgeKind.PRACTICES, (EdgeKind.FOLLOWS, EdgeKind.DEPENDS_ON)


class Index:
    """What linking one document needs to know of the whole handbook: every document's key,
    collection and id (in file order), the assets, the pages kb generates, and the names a
    wikilink may use (ids, keys, principles' aliases). `link` makes it from the documents;
    lint's `Plan` from the walk, the principles and the loops' years, before the rest is read."""

    def __init__(
        self,
        docs: Iterable[tuple[str, Collection, str]],
        assets: Iterable[str],
        principles: Iterable[Document],
        years: Iterable[int],
    ) -> None:
        self.collections: dict[str, Collection] = {}
        self.by_id: dict[Collection, dict[str, str]] = {c: {} for c in Collection}  # id -> first key
        #: name -> the keys it may mean, sorted; built as lists (most names mean one key): a
        #: document's key goes under its id and its key, once each.
        self.names: dict[str, list[str]] = {}
        collections, by_id, names, known = self.collections, self.by_id, self.names, self.names.get
        for key, coll, ident in docs:
            collections[key] = coll
            by_id[coll].setdefault(ident, key)
            keys = known(ident)
            if keys is None:
                names[ident] = [key]
            else:
                keys.append(key)
            if key != ident:
                keys = known(key)
                if keys is None:
                    names[key] = [key]
                else:
                    keys.append(key)
        self.rels = {key + ".md" for key in collections}
        self.assets = set(assets)
        self.generated = set(GENERATED) | {f"loops/{year}/index" for year in years}
        for doc in principles:
            if doc.collection is _PRINCIPLE and doc.readable:
                for alias in doc.principle.aliases:
                    keys = names.setdefault(alias.casefold(), [])
                    if doc.key not in keys:
                        keys.append(doc.key)
        for key in self.generated:
            names.setdefault(key, [key])
        for keys in names.values():
            if len(keys) > 1:
                keys.sort()


class _Ask(NamedTuple):
    """A "did you mean" still to be decided: for `word`, among the names of `kind`, worded as
    `form` says (relative to the folder `base`, for a file)."""

    kind: str
    word: str
    form: str
    base: str


class _Unseen(NamedTuple):
    """An anchor in a document whose headings are not known where the link was read."""

    key: str
    anchor: str
    wiki: bool


class Pending(NamedTuple):
    """A finding whose "did you mean" lint's main process decides: each kind of reference
    gets suggestions for its first SUGGEST_BUDGET different misses in document order, an
    order only the main process sees."""

    path: str
    line: int
    col: int
    code: str
    message: str
    kind: str
    word: str
    form: str
    base: str


class Deferred(NamedTuple):
    """A link to a heading of a document read in another chunk: checked by lint's main
    process against that document's anchors (`Part.anchors`)."""

    path: str
    line: int
    col: int
    key: str
    anchor: str
    wiki: bool


#: What linking a document reports: findings, and in lint's chunks also what waits for the
#: main process.
Item = Finding | Pending | Deferred
#: Forms of a "did you mean" hint (a reference's is its collection's noun).
_WIKI_HINT, _ROOTED_HINT, _FILE_HINT = "wiki", "rooted", "file"


def _hint_text(form: str, close: str | None, base: str) -> str:
    if form == _WIKI_HINT:
        return f"did you mean '{close}'?" if close else "link an id, an alias or a path like products/kb"
    if form == _ROOTED_HINT:
        hint = "a link starting with '/' is read from the content folder's root, as the site's root"
        return f"{hint}; did you mean '/{close}'?" if close else hint
    if form == _FILE_HINT:
        return f"did you mean '{posixpath.relpath(close, base)}'?" if close else ""
    return f"did you mean '{close}'?" if close else f"no {form} has that id"


#: Fragments that land at a page's top whatever the page holds.
_TOP = frozenset({"top", "readme"})


def _anchor_set(doc: Document) -> set[str]:
    """The anchors a link to `doc` may name: its headings', kb's own sections' and the other ids
    its body gives an element (`<a name>`, an HTML `id`, attr_list's `{#id}`), which a browser
    scrolls to as well."""
    anchors = {h.anchor for h in doc.scan.headings}
    anchors.update(slugify(text) for text in generated.headings(doc))
    anchors.update(doc.scan.ids)
    return anchors


class _Linker:
    """Link's pass over one document: its frontmatter references and body links, resolved
    against the `Index`. What it finds is kept by a subclass: `_GraphLinker` builds the whole
    `Graph` (`link`), `_PartLinker` keeps what lint needs of one chunk (`Plan`)."""

    def __init__(self, index: Index, content: Path | None = None) -> None:
        self.index = index
        self.content = content
        self._suggesters: dict[str, Suggestions] = {}
        #: The key of the document being linked (`doc.key` slices a string on every call).
        self.here = ""
        self._anchors: dict[str, set[str]] = {}  # document key -> its heading anchors
        self._lower: dict[str, dict[str, str]] = {}  # document key -> lowercased anchor -> anchor
        self._joined: dict[tuple[str, str], str] = {}  # (folder, url) -> normalized path

    # -- what a subclass keeps -----------------------------------------------------------
    def _edge(self, target: str, kind: EdgeKind) -> None:
        raise NotImplementedError

    def _resolved(self, item: Link, target: str, anchor: str | None) -> None:
        """A body link resolved to a document or generated page."""

    def _asset_link(self, item: Link, rel: str) -> None:
        """A site-root link to an asset."""

    def _anchors_of(self, key: str) -> set[str] | None:
        """The anchors of document `key`, or None where its headings are not known."""
        raise NotImplementedError

    def _hint(self, kind: str, word: str, form: str, base: str = "") -> str | _Ask:
        """The "did you mean" for a miss, or what to ask the main process (`Pending`)."""
        raise NotImplementedError

    # -- one document --------------------------------------------------------------------
    def document(self, key: str, doc: Document) -> list[Item]:
        self.here = key
        found: list[Item] = []
        if doc.readable:
            found.extend(self.frontmatter(doc))
        if doc.scan.links:
            found.extend(self.body(doc))
        return found

    def _found(self, path: str, line: int, col: int, code: str, message: str, hint: str | _Ask) -> Item:
        if isinstance(hint, str):
            return finding(path, line, col, code, message, hint)
        return Pending(path, line, col, code, message, *hint)

    # -- frontmatter ---------------------------------------------------------------------
    def frontmatter(self, doc: Document) -> list[Item]:
        found = []
        meta = doc.front.data
        by_id = self.index.by_id
        for name, coll, kind, code in _REFS.get(doc.collection, ()):
            value = meta.get(name)
            if isinstance(value, str):
                if ID_RE.match(value):  # else validate said KB204
                    found.extend(self._reference(doc, value, (name,), coll, kind, code))
            elif isinstance(value, list):
                known = by_id[coll]
                for i, ident in enumerate(value):
                    if not isinstance(ident, str):
                        continue
                    target = known.get(ident)  # found, as nearly always: no path tuple needed
                    if target is not None:
                        self._edge(target, kind)
                    else:
                        found.extend(self._reference(doc, ident, (name, i), coll, kind, code))
        if doc.collection is _PRODUCT:
            products = by_id[_PRODUCT]
            for alt in doc.product.alternatives:
                target = products.get(alt)
                if target is not None and target != self.here:
                    self._edge(target, EdgeKind.ALTERNATIVE)
        return found

    def _reference(
        self, doc: Document, ident: str, path: tuple, coll: Collection, kind: EdgeKind, code: str
    ) -> list[Item]:
        target = self.index.by_id[coll].get(ident)
        if target is not None:
            self._edge(target, kind)
            return []
        line, col = doc.front.value_pos(*path)
        message = f"unknown {_NOUN[coll]} '{shown(ident)}'"
        return [self._found(doc.path, line, col, code, message, self._reference_hint(ident, coll))]

    def _reference_hint(self, ident: str, coll: Collection) -> str | _Ask:
        if coll is _PRINCIPLE:
            keys = self.index.names.get(ident.casefold(), [])
            if len(keys) == 1 and self.index.collections.get(keys[0]) is coll:
                ident_there = keys[0].rsplit("/", 1)[-1]
                return f"did you mean '{ident_there}'? (use the id, not an alias)"
        return self._hint(coll.value, ident, _NOUN[coll])

    # -- body ----------------------------------------------------------------------------
    def body(self, doc: Document) -> list[Item]:
        found: list[Item] = []
        for item in doc.scan.links:
            problem = self._body_link(doc, item)
            if problem is not None:
                line, col = doc.file_pos(item.line, item.col)
                if isinstance(problem, _Unseen):
                    found.append(Deferred(doc.path, line, col, *problem))
                else:
                    code, message, hint = problem
                    found.append(self._found(doc.path, line, col, code, message, hint))
        return found

    def _body_link(self, doc: Document, item: Link) -> Problem:
        if item.kind is _WIKI_KIND:
            return self._wikilink(doc, item)
        return self._relative(doc, item)

    def _wikilink(self, doc: Document, item: Link) -> Problem:
        target = item.target.strip()
        if not target:
            if item.anchor:
                return self._resolve(doc, item, self.here, item.anchor, wiki=True)
            return ("KB404", "empty wikilink", "write the target inside the brackets: [[ownership]]")
        names = self.index.names
        keys = names.get(target) or names.get(target.casefold()) or []
        if not keys:
            hint = self._hint("wiki", target, _WIKI_HINT)
            return ("KB404", f"wikilink target '{shown(target)}' not found", hint)
        if len(keys) > 1:
            return (
                "KB405",
                f"wikilink '{shown(target)}' matches {', '.join(keys)}",
                f"use the path form, e.g. [[{keys[0]}]]",
            )
        return self._resolve(doc, item, keys[0], item.anchor, wiki=True)

    def _suggester(self, kind: str) -> Suggestions:
        """One index of names per kind of reference, built on the first miss."""
        suggester = self._suggesters.get(kind)
        if suggester is None:
            names: Iterable[str]
            if kind == "wiki":
                names = self.index.names
            elif kind == "file":
                names = [*self.index.rels, *self.index.assets]
            else:
                names = self.index.by_id[Collection(kind)]
            suggester = self._suggesters[kind] = Suggestions(names)
        return suggester

    def _resolve(self, doc: Document, item: Link, key: str, anchor: str | None, wiki: bool) -> Problem:
        here = self.here
        self._resolved(item, key, anchor)
        if key != here:
            self._edge(key, _LINK_EDGE)
        if not anchor or key not in self.index.collections:
            return None
        anchors = self._anchors.get(key)
        if anchors is None:
            anchors = self._anchors_of(key)
            if anchors is None:
                return _Unseen(key, anchor, wiki)
            self._anchors[key] = anchors
        return self.anchor(key, anchors, anchor, wiki)

    def anchor(self, key: str, anchors: set[str], anchor: str, wiki: bool) -> tuple[str, str, str] | None:
        """KB407 unless document `key`, whose anchors are `anchors`, has `anchor`, or the anchor
        lands at the page's top anyway: HTML's `#top`, and GitHub's `#readme` (its anchor for a
        rendered file, which handbooks moved from GitHub keep in their links)."""
        if anchor in anchors or (wiki and slugify(anchor) in anchors) or anchor.lower() in _TOP:
            return None
        lower = self._lower.get(key)
        if lower is None:
            lower = self._lower[key] = {a.lower(): a for a in sorted(anchors, reverse=True)}
        close = lower.get(anchor.lower()) or next(iter(difflib.get_close_matches(anchor, anchors, n=1)), None)
        hint = (
            f"did you mean '#{close}'?"
            if close
            else "headings there: " + (", ".join(sorted(anchors)[:8]) or "none")
        )
        return ("KB407", f"no heading '#{shown(anchor)}' in {key}.md", hint)

    def _relative(self, doc: Document, item: Link) -> Problem:
        url = item.target.strip()
        if url.lower().startswith(("file:", "\\")) or _WINDOWS_PATH.match(url):
            return (
                "KB408",
                f"link '{shown(url)}' is an absolute path",
                "link relative to this file, e.g. ../principles/ownership.md",
            )
        if url.startswith("//") or _SCHEME.match(url):
            return None  # external (unsafe schemes were reported by validate)
        if item.kind is _HTML_KIND and not url.startswith("/") and not _looks_like_file(url):
            return None  # relative HTML links point at built URLs we cannot map back; files and
            # site-root URLs (`/team/`, tried as a web server would) we can
        url = url.split("?", 1)[0]
        if not url:
            return self._resolve(doc, item, self.here, item.anchor, wiki=False) if item.anchor else None
        return self._file_link(doc, item, unquote(url))

    def _file_link(self, doc: Document, item: Link, url: str) -> Problem:
        """A link to a file: relative to this document, or (`/team/`) to the content root, the
        site's root when it was served at a domain root; tried as a web server would."""
        rooted = url.startswith("/")
        folder = "" if rooted else doc.rel.rpartition("/")[0]  # posixpath.dirname
        joined = self._joined.get((folder, url))
        if joined is None:  # the same links recur from the documents of one folder
            path = url.lstrip("/") if rooted else posixpath.join(folder, url)
            joined = self._joined[(folder, url)] = posixpath.normpath(path) if path else "."
        if joined == ".." or joined.startswith("../"):
            return (
                "KB408",
                f"link '{shown(item.target)}' leaves the content folder",
                "link only to files under content/",
            )
        candidates = _candidates(joined, url.endswith("/"))
        index = self.index
        for rel in candidates:
            if rel in index.rels:
                return self._resolve(doc, item, rel[:-3], item.anchor, wiki=False)
            if rel in index.assets:
                if rooted:  # emit writes it relative, so it works wherever the site is served
                    self._asset_link(item, rel)
                return None
        for rel in candidates:
            if rel[:-3] in index.generated:
                return self._resolve(doc, item, rel[:-3], None, wiki=False)
        hidden = self._hidden(joined)
        if hidden:
            return hidden
        message = f"link to missing file '{shown(item.target)}'"
        if rooted:
            return ("KB406", message, self._hint("file", joined, _ROOTED_HINT))
        return ("KB406", message, self._hint("file", joined, _FILE_HINT, posixpath.dirname(doc.rel) or "."))

    def _hidden(self, joined: str) -> tuple[str, str, str] | None:
        """KB415 for a file that exists under a hidden folder (`.gitbook/assets/x.png`): the
        walk skips such folders and the site does not publish them, so the link is broken
        on the site although the file is there. Only these links look at the disk."""
        if not joined.startswith(".") and "/." not in joined:  # most misses: no hidden part
            return None
        parts = joined.split("/")
        at = next((i for i, part in enumerate(parts) if part.startswith(".")), None)
        if at is None or self.content is None or not os.path.lexists(self.content / joined):
            return None
        name = "/".join(parts[: at + 1])
        what = "folder" if at < len(parts) - 1 else "file"
        return (
            "KB415",
            f"'{shown(joined)}' is in a hidden {what} the site does not publish",
            f"rename '{shown(name)}' to a name without the leading '.', or move the file out of it, "
            "and update the links",
        )


#: What a body link's check says: nothing, (code, message, hint), or that it waits (`_Unseen`).
Problem = tuple[str, str, str | _Ask] | _Unseen | None


class _GraphLinker(_Linker):
    """Links every document into the `Graph`, which holds them all: nothing waits."""

    def __init__(self, graph: Graph, index: Index, content: Path | None) -> None:
        super().__init__(index, content)
        self.graph = graph

    def _edge(self, target: str, kind: EdgeKind) -> None:
        self.graph.add(Edge(self.here, target, kind))

    def _resolved(self, item: Link, target: str, anchor: str | None) -> None:
        self.graph.resolved[self.here].append(Resolved(item, target, anchor))

    def _asset_link(self, item: Link, rel: str) -> None:
        self.graph.asset_links[self.here].append(Resolved(item, rel, item.anchor))

    def _anchors_of(self, key: str) -> set[str]:
        return _anchor_set(self.graph.docs[key])

    def _hint(self, kind: str, word: str, form: str, base: str = "") -> str:
        return _hint_text(form, self._suggester(kind).closest(word), base)


# -- whole-graph checks --------------------------------------------------------------------
class Node(NamedTuple):
    """A document as the whole-graph checks see it."""

    key: str
    path: str
    collection: Collection
    id: str
    readable: bool

    @property
    def rel(self) -> str:
        return self.key + ".md"


_PATH = attrgetter("path")


def _value_pos(docs: Mapping[str, Document], name: str, key: str) -> Pos:
    return docs[key].front.value_pos(name)


def _duplicates(
    nodes: Iterable[Node], index: Index, firsts: Iterable[Document], principles: Mapping[str, Document]
) -> list[Finding]:
    """KB302: names kb generates a page for, ids used twice in a collection, and aliases that
    clash (`firsts`: the first principle of each id; `principles`: all, by key)."""
    seen: dict[tuple[Collection, str], Node] = {}
    found: list[Finding] = []
    for node in sorted(nodes, key=_PATH):
        if _reserved(node.key):
            found.append(
                finding(
                    node.path,
                    1,
                    1,
                    "KB302",
                    f"'{node.rel}' is a name kb generates a page for",
                    "rename the file; kb writes this page itself",
                )
            )
            continue
        if node.collection is _PAGE:
            continue
        first = seen.setdefault((node.collection, node.id), node)
        if first.key != node.key:
            found.append(
                finding(
                    node.path,
                    1,
                    1,
                    "KB302",
                    f"duplicate {_NOUN[node.collection]} id '{node.id}' (also {first.path})",
                    "ids must be unique within a collection: rename one file",
                )
            )
    return found + _alias_clashes(index, firsts, principles)


def _alias_clashes(
    index: Index, firsts: Iterable[Document], principles: Mapping[str, Document]
) -> list[Finding]:
    found: list[Finding] = []
    for doc in firsts:
        if not doc.readable:
            continue
        for i, alias in enumerate(doc.principle.aliases):
            keys = index.names.get(alias.casefold(), [])
            others = [k for k in keys if k != doc.key and not _reported_there(principles.get(k), doc, alias)]
            if others:
                line, col = doc.front.item_pos("aliases", alias, doc.principle.aliases[:i].count(alias))
                found.append(
                    finding(
                        doc.path,
                        line,
                        col,
                        "KB302",
                        f"alias '{shown(alias)}' clashes with {', '.join(others)}",
                        "choose an alias no other document uses",
                    )
                )
    return found


def _reported_there(other: Document | None, doc: Document, alias: str) -> bool:
    """Two principles sharing an alias: the clash is reported once, on the later file."""
    if other is None or not other.readable or other.path < doc.path:
        return False
    return alias.casefold() in {a.casefold() for a in other.principle.aliases}


def _cycles(
    kind: EdgeKind, nexts: dict[str, list[str]], nodes: Mapping[str, Node], pos: Callable[[str], Pos]
) -> list[Finding]:
    """KB411 once per cycle, on its first file (sorted by path); `pos(key)` is where that
    document's reference is written."""
    found: list[Finding] = []
    for cycle in _find_cycles(nexts):
        docs = [nodes[k] for k in cycle]
        first = min(docs, key=lambda d: d.path)
        at = docs.index(first)
        docs = docs[at:] + docs[:at]
        chain = " → ".join(d.id for d in docs + docs[:1])
        line, col = pos(first.key)
        item = finding(
            first.path,
            line,
            col,
            "KB411",
            f"{kind.value} cycle: {chain}",
            "break the cycle: one of them must not point back",
        )
        if kind is EdgeKind.DEPENDS_ON:
            item = replace(item, severity=Severity.WARNING)
        found.append(item)
    return found


def _orphans(nodes: Iterable[Node], practiced: Container[str], linked: Container[str]) -> list[Finding]:
    """KB603 principles no loop practices; KB601 plain pages nothing links to."""
    found: list[Finding] = []
    for node in nodes:
        if not node.readable or _reserved(node.key):
            continue
        if node.collection is _PRINCIPLE and node.key not in practiced:
            found.append(
                finding(
                    node.path,
                    1,
                    1,
                    "KB603",
                    f"no loop practices '{node.id}'",
                    "write a loop cycle that practices it, or retire it",
                )
            )
        elif node.collection is _PAGE and node.key not in linked and not _never_orphan(node.key):
            found.append(
                finding(
                    node.path,
                    1,
                    1,
                    "KB601",
                    "nothing links to this page",
                    f"link it from a related page, e.g. [[{node.key}]]",
                )
            )
    return found


# -- link for lint, chunk by chunk ---------------------------------------------------------
@dataclass
class Part:
    """What linking one chunk of documents found, as lint needs it: small enough to send from
    the worker process that read the chunk, so its documents need not travel.

    `items` holds each document's findings (those with a hint still `Pending`, links to
    headings of documents read elsewhere `Deferred`), by file. The rest feeds the checks of
    the whole graph and what the main process decides: anchors by document, principles
    practiced, pages linked to, follows and depends_on references with where each document
    wrote them, documents unreadable, loops' years, and "did you mean" computed ahead.
    """

    items: list[tuple[str, list[Item]]] = field(default_factory=list)  # (rel, its items)
    anchors: dict[str, tuple[str, ...]] = field(default_factory=dict)
    practiced: set[str] = field(default_factory=set)
    linked: set[str] = field(default_factory=set)
    chains: list[tuple[str, str, str]] = field(default_factory=list)  # (kind, source, target)
    positions: dict[tuple[str, str], Pos] = field(default_factory=dict)  # (kind, source) -> where
    unreadable: list[str] = field(default_factory=list)
    years: set[int] = field(default_factory=set)
    close: dict[tuple[str, str], str | None] = field(default_factory=dict)  # (kind, word) -> closest


class _PartLinker(_Linker):
    """Links one chunk at a time where it was read. It knows the headings of the context (the
    principles and products, read before the chunks) and of the chunk; a link to a heading of
    any other document is `Deferred`, and every "did you mean" is `Pending` (computed ahead,
    in a worker, within that worker's own budget)."""

    def __init__(self, index: Index, content: Path | None, context: Mapping[str, Document]) -> None:
        super().__init__(index, content)
        self.context = context
        self.chunk: dict[str, Document] = {}
        self.part = Part()
        self.doc: Document | None = None
        self.speculate = False  # compute "did you mean" ahead (in a worker; the main process asks once)

    def link_part(self, docs: Sequence[Document]) -> Part:
        self.part = part = Part()
        self.chunk = {doc.key: doc for doc in docs}
        for doc in docs:
            key = doc.key
            if not doc.readable:
                part.unreadable.append(key)
            elif doc.collection is _LOOP:
                started = doc.loop.date
                if started is not None:
                    part.years.add(started.year)
            anchors = self._anchors.get(key)
            if anchors is None:
                anchors = self._anchors[key] = _anchor_set(doc)
            if anchors:
                part.anchors[key] = tuple(anchors)
            self.doc = doc
            items = self.document(key, doc)
            if items:
                part.items.append((doc.rel, items))
        self.chunk, self.doc = {}, None
        return part

    def _edge(self, target: str, kind: EdgeKind) -> None:
        part = self.part
        if kind is _PRACTICES_EDGE:
            part.practiced.add(target)
        elif kind in _CHAINS:
            part.chains.append((kind.value, self.here, target))
            where = (kind.value, self.here)
            if where not in part.positions and self.doc is not None:
                part.positions[where] = self.doc.front.value_pos(kind.value)
        if self.index.collections.get(target) is _PAGE:
            part.linked.add(target)

    def _anchors_of(self, key: str) -> set[str] | None:
        doc = self.context.get(key) or self.chunk.get(key)
        return None if doc is None else _anchor_set(doc)

    def _hint(self, kind: str, word: str, form: str, base: str = "") -> _Ask:
        if self.speculate:
            suggester = self._suggester(kind)
            if word not in suggester.cache and len(suggester.cache) < SUGGEST_BUDGET:
                self.part.close[(kind, word)] = suggester.closest(word)
        return _Ask(kind, word, form, base)


class Plan:
    """Link for `kb lint`, chunk by chunk in the processes that read the chunks.

    Made before the chunks are read, from the walk (`nodes`: every markdown file, taken as a
    readable document), the assets, the `context` (the principles and products, read first:
    aliases, contracts, headings every chunk may link to) and the loops' `years` as their
    file names say. `part` links one chunk where it was read; `finish`, in the main process,
    puts the parts together in file order: the same findings, in the same order, as `link`
    over all the documents, provided the walk's files all became documents and the years were
    right (`holds`; if not, lint links the classic way).
    """

    def __init__(
        self,
        nodes: Sequence[Node],
        assets: Iterable[str],
        context: Sequence[Document],
        years: Iterable[int],
        content: Path | None = None,
    ) -> None:
        self.nodes = nodes
        self.years = set(years)
        self.context = {doc.key: doc for doc in context}
        self.index = Index(((n.key, n.collection, n.id) for n in nodes), assets, context, self.years)
        self.linker = _PartLinker(self.index, content, self.context)

    def part(self, docs: Sequence[Document]) -> Part:
        return self.linker.link_part(docs)

    def speculate(self) -> None:
        """In a worker process: compute "did you mean" ahead, for the main process."""
        self.linker.speculate = True

    def holds(self, parts: Iterable[Part]) -> bool:
        """Whether the loops' years were those the plan was made with."""
        years: set[int] = set()
        for part in parts:
            years |= part.years
        return years == self.years

    def graph(self) -> Graph:
        """The graph of the context documents (principles and products): all the contracts read."""
        return _index(self.context.values(), ())

    def finish(self, parts: Sequence[Part]) -> list[Finding]:
        """The findings `link` gives: duplicates, each document's (in file order), cycles, orphans."""
        unreadable = {key for part in parts for key in part.unreadable}
        nodes = [node._replace(readable=False) if node.key in unreadable else node for node in self.nodes]
        principles = {key: doc for key, doc in self.context.items() if doc.collection is _PRINCIPLE}
        found = _duplicates(nodes, self.index, self.graph().by_id[_PRINCIPLE].values(), principles)
        anchors: dict[str, tuple[str, ...]] = {}
        close: dict[tuple[str, str], str | None] = {}
        for part in parts:
            anchors.update(part.anchors)
            close.update(part.close)
        asked: dict[str, dict[str, str | None]] = defaultdict(dict)  # kind -> word -> closest
        linker = self.linker
        for _, items in heapq.merge(*(part.items for part in parts), key=itemgetter(0)):
            for item in items:
                if isinstance(item, Pending):
                    known = asked[item.kind]
                    if item.word in known:
                        best = known[item.word]
                    elif len(known) < SUGGEST_BUDGET:
                        at = (item.kind, item.word)
                        best = close[at] if at in close else linker._suggester(item.kind).closest(item.word)
                        known[item.word] = best
                    else:  # thousands of different misses: as `Suggestions.closest` says
                        best = None
                    hint = _hint_text(item.form, best, item.base)
                    found.append(finding(item.path, item.line, item.col, item.code, item.message, hint))
                elif isinstance(item, Deferred):
                    there = linker._anchors.get(item.key)
                    if there is None:
                        there = linker._anchors[item.key] = set(anchors.get(item.key, ()))
                    problem = linker.anchor(item.key, there, item.anchor, item.wiki)
                    if problem is not None:
                        found.append(finding(item.path, item.line, item.col, *problem))
                else:
                    found.append(item)
        by_key = {node.key: node for node in nodes}
        for kind in _CHAINS:
            name = kind.value
            nexts: dict[str, list[str]] = defaultdict(list)
            positions: dict[str, Pos] = {}
            for part in parts:
                for chain_kind, source, target in part.chains:
                    if chain_kind == name:
                        nexts[source].append(target)
                for (chain_kind, source), pos in part.positions.items():
                    if chain_kind == name:
                        positions[source] = pos
            found.extend(_cycles(kind, nexts, by_key, positions.__getitem__))
        practiced = {key for part in parts for key in part.practiced}
        linked = {key for part in parts for key in part.linked}
        found.extend(_orphans(nodes, practiced, linked))
        return found


def _find_cycles(nexts: dict[str, list[str]]) -> list[list[str]]:
    """Each elementary cycle reachable in the graph, found once (iterative DFS, no recursion)."""
    state: dict[str, int] = {}  # 1 = on stack, 2 = done
    cycles = []
    for start in sorted(nexts):
        if start in state:
            continue
        stack = [(start, iter(sorted(nexts.get(start, ()))))]
        path = [start]
        state[start] = 1
        while stack:
            node, children = stack[-1]
            child = next(children, None)
            if child is None:
                state[node] = 2
                stack.pop()
                path.pop()
            elif state.get(child) == 1:
                cycles.append(path[path.index(child) :])
            elif child not in state:
                state[child] = 1
                path.append(child)
                stack.append((child, iter(sorted(nexts.get(child, ())))))
    return cycles


def _year_pages(docs: Iterable[Document]) -> set[str]:
    """`loops/<year>/index` for each year a loop started in (emit writes exactly those)."""
    return {f"loops/{year}/index" for year in _years(docs)}


def _years(docs: Iterable[Document]) -> set[int]:
    """The years loops started in (readable ones, with a valid date)."""
    dates = (d.loop.date for d in docs if d.collection is _LOOP and d.readable)
    return {started.year for started in dates if started is not None}


def years_named(rels: Iterable[str]) -> set[int]:
    """The years the loops among `rels` started in, as their names say: a file name that starts
    with a date (`loops/2026/2026-11-23-x.md`), else a year folder (`loops/2026/x.md`). Lint's
    `Plan` is made with them before the loops are read; `Plan.holds` checks them after."""
    years = set()
    for rel in rels:
        if rel.startswith("loops/"):
            slash = rel.rfind("/")
            year = rel[slash + 1 : slash + 5]
            if rel[slash + 5 : slash + 6] != "-" or not _is_year(year):
                year = rel[rel.rfind("/", 0, slash) + 1 : slash]  # the folder's name
            if _is_year(year):
                years.add(int(year))
    return years


def _is_year(text: str) -> bool:
    return len(text) == 4 and text.isascii() and text.isdigit()


def _reserved(key: str) -> bool:
    """Names kb generates a page for (KB302), and people's, feeds' and tags' folders (a tag's
    page is `tags/<slug>`, whatever the slug: kb.views.tag_key)."""
    return (
        key in _RESERVED
        or key.startswith(("people/", "feeds/", "tags/"))
        or (key.endswith("/index") and bool(_YEAR_INDEX.match(key)))
        or ("/" in (key[-5:-4], key[-3:-2]) and bool(_SUBJECT_YEAR.match(key)))
    )


_RESERVED = frozenset((*GENERATED[1:], "tags"))


def _never_orphan(key: str) -> bool:
    """The home page (`index.md`, or `README.md` / `_index.md` standing for it) and GitBook's
    `SUMMARY.md`, a navigation file, are reached without links."""
    return key in _HOME_KEYS or key == "SUMMARY" or key.endswith("/SUMMARY")


_HOME_KEYS = frozenset(name[:-3] for name in INDEX_NAMES)
#: `C:\x` or `C:/x`: a Windows path, which `_SCHEME` would take for a URL scheme.
_WINDOWS_PATH = re.compile(r"[A-Za-z]:[\\/]")


def _candidates(joined: str, is_dir: bool) -> list[str]:
    """The files a link may mean, in the order MkDocs (and a web server) tries them: a folder
    means its `index.md`, else its `README.md`, else Hugo's `_index.md`."""
    if joined == ".":
        return list(INDEX_NAMES)
    if joined.endswith(".md"):
        return [joined]
    if is_dir or "." not in posixpath.basename(joined):
        return [f"{joined}/{name}" for name in INDEX_NAMES] + [f"{joined}.md", joined]
    return [joined]


def _looks_like_file(url: str) -> bool:
    name = posixpath.basename(url.split("?")[0].split("#")[0])
    return "." in name and not name.endswith((".html", ".htm"))


#: "Did you mean" compares a word with all candidates only up to this many; beyond, with a
#: bounded pool (`closest`: names whose last part starts alike; `Suggestions`: near neighbours),
#: since comparing with all of 10,000 files made lint quadratic.
SUGGEST_POOL = 300
#: Otherwise difflib chooses among at most this many candidates (see `Suggestions`).
NEIGHBOURS = 20
#: `Suggestions` compares a word with a whole set only up to this many names and this many
#: characters: difflib's cost grows with both (246 files and 60-character paths: 35 ms a miss).
SMALL_SET = 50
SHORT_WORD = 60
#: A token shared by more names than this does not pick candidates.
COMMON_TOKEN = 200
#: Each kind of reference gets "did you mean" for this many different misses (in document
#: order, so the same tree gets the same hints); a handbook migrated from another generator
#: brings tens of thousands, which need a migration rather than a hint each.
SUGGEST_BUDGET = 5000


def closest(word: str, candidates: Iterable[str]) -> str | None:
    """The closest candidate, if any is close; bounded work on huge candidate sets."""
    pool = list(candidates)
    if len(pool) > SUGGEST_POOL:
        key = _prefix(word)
        pool = [c for c in pool if _prefix(c) == key][:SUGGEST_POOL]
    close = difflib.get_close_matches(word, pool, n=1, cutoff=0.6)
    return close[0] if close else None


class Suggestions:
    """`closest` over a fixed set of names, indexed once, so each miss costs the same on any handbook.

    difflib compares a word with every name of a small set (principles, products) while the
    word is short (SMALL_SET, SHORT_WORD). Otherwise that costs milliseconds a miss (long paths, 10,000 files), and a
    handbook migrated from another generator brings 50,000 misses; there difflib chooses only
    among a few candidates: names whose last part is within one deletion of the word's (a
    typo, a letter too many or too few; SymSpell's index), and names sharing the word's
    rarer path tokens (a file that moved: `leading-projects` under another folder).
    """

    def __init__(self, names: Iterable[str]) -> None:
        self.names = sorted(set(names))
        self.cache: dict[str, str | None] = {}
        self.near: dict[str, list[str]] = defaultdict(list)
        self.tokens: dict[str, list[str]] = defaultdict(list)
        for name in self.names:
            for key in set(_deletions(_last(name))):
                self.near[key].append(name)
            for token in set(_tokens(name)):
                self.tokens[token].append(name)

    def closest(self, word: str) -> str | None:
        if word not in self.cache:
            if len(self.cache) >= SUGGEST_BUDGET:
                return None  # thousands of different misses: a migration, not typos to hint at
            if len(self.names) <= SMALL_SET and len(word) <= SHORT_WORD:
                close = difflib.get_close_matches(word, self.names, n=1, cutoff=0.6)
            else:  # the ends of long paths, where they differ, compared: cost bounded
                tails = {name[-SHORT_WORD:]: name for name in reversed(self._candidates(word))}
                close = [
                    tails[t] for t in difflib.get_close_matches(word[-SHORT_WORD:], tails, n=1, cutoff=0.6)
                ]
            self.cache[word] = close[0] if close else None
        return self.cache[word]

    def _candidates(self, word: str) -> list[str]:
        found: dict[str, None] = {}
        for key in _deletions(_last(word)):
            for name in self.near.get(key, ()):
                found[name] = None
                if len(found) >= NEIGHBOURS:
                    return list(found)
        shared: dict[str, int] = defaultdict(int)
        for token in dict.fromkeys(_tokens(word)):  # in the word's order: ties rank the same every run
            names = self.tokens.get(token, ())
            if len(names) <= COMMON_TOKEN:  # a token half the handbook has says nothing
                for name in names:
                    shared[name] += 1
        best = sorted(shared, key=lambda name: -shared[name])[: NEIGHBOURS - len(found)]
        return [*found, *best]


def _tokens(name: str) -> list[str]:
    """Words of a path or name (`{% page "/a/leading-projects/" %}` -> a, leading, projects)."""
    return [t for t in _token_split().split(name.casefold()) if len(t) > 1 and t != "md"]


@cache
def _token_split() -> re.Pattern[str]:
    """Compiled on the first miss, not at import: its Unicode class costs ~4 ms to compile,
    more than a clean handbook's whole link stage spends on suggestions (none)."""
    return re.compile(r"[^a-z0-9\u00c0-\uffff]+")


def _last(name: str) -> str:
    """A name's last part, without `.md` and case: what a typo or a move leaves recognisable."""
    last = name.rsplit("/", 1)[-1].casefold()
    return last[:-3] if last.endswith(".md") else last


def _deletions(word: str) -> list[str]:
    """The word and every string one character shorter (SymSpell's index, distance 1)."""
    word = word[:64]  # bounded work on absurd names
    return [word, *[word[:i] + word[i + 1 :] for i in range(len(word))]]


def _prefix(name: str) -> str:
    return name.rsplit("/", 1)[-1][:2].casefold()
