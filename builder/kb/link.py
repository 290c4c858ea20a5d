"""Stage 3 — link: resolve every reference into a `Graph` of forward and reverse edges.

Frontmatter references become typed edges (practices, improves, follows, depends on, …);
body links (wikilinks, relative links, images) become `link` edges, and their anchors are
checked against the target's headings. Pure: no git, no MkDocs, no Jinja2.
"""

from __future__ import annotations

import difflib
import os
import posixpath
import re
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from enum import Enum
from functools import cache
from pathlib import Path
from urllib.parse import unquote

from kb import generated
from kb.findings import Finding, Severity, finding
from kb.markdown import Link, LinkKind, slugify
from kb.model import INDEX_NAMES, Asset, Collection, Document, fast_init
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
_YEAR_INDEX = re.compile(r"loops/\d{4}/index\Z")
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
    linker = _Linker(graph, content)
    found = linker.duplicates()
    for key, doc in graph.docs.items():
        linker.here = key
        if doc.readable:
            found.extend(linker.frontmatter(doc))
        if doc.scan.links:
            found.extend(linker.body(doc))
    found.extend(linker.cycles(EdgeKind.FOLLOWS))
    found.extend(linker.cycles(EdgeKind.DEPENDS_ON))
    found.extend(linker.orphans())
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


class _Linker:
    def __init__(self, graph: Graph, content: Path | None = None) -> None:
        self.graph = graph
        self.content = content
        self.generated = set(GENERATED) | _year_pages(graph.docs.values())
        self.names = self._names()
        self.rels = {d.rel: d for d in graph.docs.values()}
        self._close_cache: dict[tuple[str, str], str] = {}
        self._suggesters: dict[str, Suggestions] = {}
        #: The key of the document being linked (`doc.key` slices a string on every call).
        self.here = ""
        self._anchors: dict[str, set[str]] = {}  # document key -> its heading anchors
        self._lower: dict[str, dict[str, str]] = {}  # document key -> lowercased anchor -> anchor
        self._joined: dict[tuple[str, str], str] = {}  # (folder, url) -> normalized path

    def _names(self) -> dict[str, list[str]]:
        """Every name a wikilink may use → the keys it could mean."""
        names: dict[str, set[str]] = defaultdict(set)
        for key, doc in self.graph.docs.items():
            names[doc.id].add(key)
            names[key].add(key)
            if doc.collection is _PRINCIPLE and doc.readable:
                for alias in doc.principle.aliases:
                    names[alias.casefold()].add(key)
        for key in self.generated:
            names.setdefault(key, {key})
        return {name: sorted(keys) for name, keys in names.items()}

    # -- frontmatter ---------------------------------------------------------------------
    def frontmatter(self, doc: Document) -> list[Finding]:
        found = []
        meta = doc.front.data
        for name, coll, kind, code in _REFS.get(doc.collection, ()):
            value = meta.get(name)
            if isinstance(value, str):
                if ID_RE.match(value):  # else validate said KB204
                    found.extend(self._reference(doc, value, (name,), coll, kind, code))
            elif isinstance(value, list):
                known = self.graph.by_id[coll]
                for i, ident in enumerate(value):
                    if not isinstance(ident, str):
                        continue
                    target = known.get(ident)  # found, as nearly always: no path tuple needed
                    if target is not None:
                        self.graph.add(Edge(self.here, target.key, kind))
                    else:
                        found.extend(self._reference(doc, ident, (name, i), coll, kind, code))
        if doc.collection is _PRODUCT:
            for alt in doc.product.alternatives:
                target = self.graph.get(Collection.PRODUCT, alt)
                if target is not None and target is not doc:
                    self.graph.add(Edge(self.here, target.key, EdgeKind.ALTERNATIVE))
        return found

    def _reference(
        self, doc: Document, ident: str, path: tuple, coll: Collection, kind: EdgeKind, code: str
    ) -> list[Finding]:
        target = self.graph.by_id[coll].get(ident)
        if target is not None:
            self.graph.add(Edge(self.here, target.key, kind))
            return []
        line, col = doc.front.value_pos(*path)
        noun = _NOUN[coll]
        hint = self._suggest(ident, coll)
        return [finding(doc.path, line, col, code, f"unknown {noun} '{shown(ident)}'", hint)]

    def _suggest(self, ident: str, coll: Collection) -> str:
        cache_key = (ident, coll.value)
        if cache_key not in self._close_cache:
            self._close_cache[cache_key] = self._compute_suggestion(ident, coll)
        return self._close_cache[cache_key]

    def _compute_suggestion(self, ident: str, coll: Collection) -> str:
        if coll is Collection.PRINCIPLE:
            keys = self.names.get(ident.casefold(), [])
            if len(keys) == 1 and self.graph.docs[keys[0]].collection is coll:
                return f"did you mean '{self.graph.docs[keys[0]].id}'? (use the id, not an alias)"
        close = self._suggester(coll.value, self.graph.by_id[coll]).closest(ident)
        return f"did you mean '{close}'?" if close else f"no {_NOUN[coll]} has that id"

    # -- body ----------------------------------------------------------------------------
    def body(self, doc: Document) -> list[Finding]:
        found = []
        for item in doc.scan.links:
            problem = self._body_link(doc, item)
            if problem is not None:
                line, col = doc.file_pos(item.line, item.col)
                code, message, hint = problem
                found.append(finding(doc.path, line, col, code, message, hint))
        return found

    def _body_link(self, doc: Document, item: Link) -> tuple[str, str, str] | None:
        if item.kind is _WIKI_KIND:
            return self._wikilink(doc, item)
        return self._relative(doc, item)

    def _wikilink(self, doc: Document, item: Link) -> tuple[str, str, str] | None:
        target = item.target.strip()
        if not target:
            if item.anchor:
                return self._resolve(doc, item, self.here, item.anchor, wiki=True)
            return ("KB404", "empty wikilink", "write the target inside the brackets: [[ownership]]")
        keys = self.names.get(target) or self.names.get(target.casefold()) or []
        if not keys:
            close = self._suggester("wiki", self.names).closest(target)
            hint = f"did you mean '{close}'?" if close else "link an id, an alias or a path like products/kb"
            return ("KB404", f"wikilink target '{shown(target)}' not found", hint)
        if len(keys) > 1:
            return (
                "KB405",
                f"wikilink '{shown(target)}' matches {', '.join(keys)}",
                f"use the path form, e.g. [[{keys[0]}]]",
            )
        return self._resolve(doc, item, keys[0], item.anchor, wiki=True)

    def _suggester(self, what: str, names: Iterable[str]) -> Suggestions:
        """One index of names per kind of reference, built on the first miss."""
        if what not in self._suggesters:
            self._suggesters[what] = Suggestions(names)
        return self._suggesters[what]

    def _resolve(
        self, doc: Document, item: Link, key: str, anchor: str | None, wiki: bool
    ) -> tuple[str, str, str] | None:
        here = self.here
        self.graph.resolved[here].append(Resolved(item, key, anchor))
        if key != here:
            self.graph.add(Edge(here, key, _LINK_EDGE))
        if not anchor or key not in self.graph.docs:
            return None
        return self._anchor(self.graph.docs[key], key, anchor, wiki)

    def _anchor(self, target: Document, key: str, anchor: str, wiki: bool) -> tuple[str, str, str] | None:
        anchors = self._anchors.get(key)
        if anchors is None:
            anchors = self._anchors[key] = {h.anchor for h in target.scan.headings}
            anchors.update(slugify(text) for text in generated.headings(target))  # kb's own sections
        if anchor in anchors or (wiki and slugify(anchor) in anchors):
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
        return ("KB407", f"no heading '#{shown(anchor)}' in {target.rel}", hint)

    def _relative(self, doc: Document, item: Link) -> tuple[str, str, str] | None:
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

    def _file_link(self, doc: Document, item: Link, url: str) -> tuple[str, str, str] | None:
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
        for rel in candidates:
            if rel in self.rels:
                return self._resolve(doc, item, rel[:-3], item.anchor, wiki=False)
            if rel in self.graph.assets:
                if rooted:  # emit writes it relative, so it works wherever the site is served
                    self.graph.asset_links[self.here].append(Resolved(item, rel, item.anchor))
                return None
        for rel in candidates:
            if rel[:-3] in self.generated:
                return self._resolve(doc, item, rel[:-3], None, wiki=False)
        hidden = self._hidden(joined)
        if hidden:
            return hidden
        files = self._suggesters.get("file") or self._suggester("file", [*self.rels, *self.graph.assets])
        close = files.closest(joined)
        if rooted:
            hint = "a link starting with '/' is read from the content folder's root, as the site's root"
            return (
                "KB406",
                f"link to missing file '{shown(item.target)}'",
                f"{hint}; did you mean '/{close}'?" if close else hint,
            )
        hint = (
            f"did you mean '{posixpath.relpath(close, posixpath.dirname(doc.rel) or '.')}'?" if close else ""
        )
        return ("KB406", f"link to missing file '{shown(item.target)}'", hint)

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

    # -- whole-graph checks --------------------------------------------------------------
    def duplicates(self) -> list[Finding]:
        seen: dict[tuple[Collection, str], Document] = {}
        found = []
        for doc in sorted(self.graph.docs.values(), key=lambda d: d.path):
            if _reserved(doc):
                found.append(
                    finding(
                        doc.path,
                        1,
                        1,
                        "KB302",
                        f"'{doc.rel}' is a name kb generates a page for",
                        "rename the file; kb writes this page itself",
                    )
                )
                continue
            if doc.collection is _PAGE:
                continue
            first = seen.setdefault((doc.collection, doc.id), doc)
            if first is not doc:
                found.append(
                    finding(
                        doc.path,
                        1,
                        1,
                        "KB302",
                        f"duplicate {_NOUN[doc.collection]} id '{doc.id}' (also {first.path})",
                        "ids must be unique within a collection: rename one file",
                    )
                )
        return found + self._alias_clashes()

    def _alias_clashes(self) -> list[Finding]:
        found = []
        for doc in self.graph.by_id[Collection.PRINCIPLE].values():
            if not doc.readable:
                continue
            for i, alias in enumerate(doc.principle.aliases):
                keys = self.names.get(alias.casefold(), [])
                others = [k for k in keys if k != doc.key and not self._reported_there(k, doc, alias)]
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

    def _reported_there(self, key: str, doc: Document, alias: str) -> bool:
        """Two principles sharing an alias: the clash is reported once, on the later file."""
        other = self.graph.docs[key]
        if other.collection is not Collection.PRINCIPLE or not other.readable or other.path < doc.path:
            return False
        return alias.casefold() in {a.casefold() for a in other.principle.aliases}

    def cycles(self, kind: EdgeKind) -> list[Finding]:
        """KB411 once per cycle, on its first file (sorted by path)."""
        nexts: dict[str, list[str]] = defaultdict(list)
        for e in self.graph.edges:
            if e.kind is kind:
                nexts[e.source].append(e.target)
        found = []
        for cycle in _find_cycles(nexts):
            docs = [self.graph.docs[k] for k in cycle]
            first = min(docs, key=lambda d: d.path)
            at = docs.index(first)
            docs = docs[at:] + docs[:at]
            chain = " → ".join(d.id for d in docs + docs[:1])
            line, col = first.front.value_pos(kind.value)
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

    def orphans(self) -> list[Finding]:
        """KB603 principles no loop practices; KB601 plain pages nothing links to."""
        found = []
        for key, doc in self.graph.docs.items():
            if not doc.readable or _reserved(doc):
                continue
            if doc.collection is _PRINCIPLE and not self.graph.sources(key, EdgeKind.PRACTICES):
                found.append(
                    finding(
                        doc.path,
                        1,
                        1,
                        "KB603",
                        f"no loop practices '{doc.id}'",
                        "write a loop cycle that practices it, or retire it",
                    )
                )
            elif doc.collection is _PAGE and key not in self.graph.incoming and not _never_orphan(key):
                found.append(
                    finding(
                        doc.path,
                        1,
                        1,
                        "KB601",
                        "nothing links to this page",
                        f"link it from a related page, e.g. [[{key}]]",
                    )
                )
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
    dates = (d.loop.date for d in docs if d.collection is _LOOP and d.readable)
    return {f"loops/{started.year}/index" for started in dates if started is not None}


def _reserved(doc: Document) -> bool:
    key = doc.key
    return (
        key in GENERATED[1:]
        or key == "tags"
        or bool(_YEAR_INDEX.match(key))
        or key.startswith(("people/", "feeds/"))
    )


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
