"""Read-only views of the linked graph: what indexes, pages and `kb index` show.

Fields come from each document's record (`Document.loop`, `.product`, `.principle`), which
validate made from what it accepted: a build without `--strict` also renders documents with
findings, and a value of the wrong type reads there as absent. Relations (a loop's product
and principles, a product's dependencies) come from the graph's edges, which link resolved.
"""

from __future__ import annotations

import datetime as dt
import re
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from kb.link import EdgeKind, Graph
from kb.model import Collection, Document, Stage, Status

if TYPE_CHECKING:  # history imports git; views must not
    from kb.history import FileHistory, History


@dataclass(frozen=True, slots=True)
class LoopView:
    key: str
    id: str
    title: str
    date: dt.date | None
    stage: Stage | None
    authors: tuple[str, ...]
    product: str | None  # document key
    principles: tuple[str, ...]  # document keys
    follows: str | None  # document key
    tags: tuple[str, ...]

    @property
    def open(self) -> bool:
        return self.stage is not Stage.REPEAT

    @property
    def month(self) -> str:
        return self.date.strftime("%Y-%m") if self.date else "undated"


@dataclass(frozen=True, slots=True)
class PrincipleRow:
    key: str
    id: str
    title: str
    summary: str
    order: int | None
    loops: tuple[LoopView, ...]  # newest first
    products: tuple[str, ...]  # keys of products it guides
    related: tuple[str, ...]

    @property
    def last_practiced(self) -> dt.date | None:
        return self.loops[0].date if self.loops else None


@dataclass(frozen=True, slots=True)
class ProductRow:
    key: str
    id: str
    title: str
    summary: str
    status: Status | None
    owner: str
    loops: tuple[LoopView, ...]  # newest first
    depends_on: tuple[str, ...]
    used_by: tuple[str, ...]
    alternatives: tuple[tuple[str, str | None], ...]  # (name, key if it is a kb product)

    @property
    def last_loop(self) -> dt.date | None:
        return self.loops[0].date if self.loops else None


class Views:
    """Views over one graph (and, when a build has it, git history), computed once: the graph
    does not change under a `Views`, so each listing (the loops into a document, the rows of
    the principles and products, the loops newest first, people, tags) is made on first use
    and kept. Emit asks for them once per page that shows them: at 10,000 loops, sorting them
    again each time cost a second of a one-edit build."""

    def __init__(self, graph: Graph, history: History | None = None) -> None:
        self.graph = graph
        # A shallow clone's history is wrong (every file "created" by the one commit it has):
        # show no dates rather than wrong ones; history warned KB702 with the fix.
        self.history = history if history is not None and not history.shallow else None
        self.loops: dict[str, LoopView] = {
            d.key: self._loop(d) for d in graph.by_id[Collection.LOOP].values() if d.readable
        }
        self._into: dict[tuple[str, EdgeKind], tuple[LoopView, ...]] | None = None
        self._newest: tuple[LoopView, ...] | None = None
        self._principles: tuple[PrincipleRow, ...] | None = None
        self._products: tuple[ProductRow, ...] | None = None
        self._people: dict[str, list[LoopView]] | None = None
        self._tagged: dict[str, list[Document]] | None = None

    def docs(self, collection: Collection) -> list[Document]:
        return [d for d in self.graph.by_id[collection].values() if d.readable]

    def file_history(self, doc: Document) -> FileHistory | None:
        if self.history is None:
            return None
        return self.history.files.get(doc.path)

    def _loop(self, doc: Document) -> LoopView:
        info = doc.loop
        authors = info.authors
        hist = self.file_history(doc)
        if not authors and hist is not None:
            authors = hist.authors
        # Graph.targets of the three kinds, in one pass over its edges: each target once, in
        # the edges' order, a document.
        docs, product, follows = self.graph.docs, None, None
        principles: dict[str, None] = {}
        for edge in self.graph.outgoing.get(doc.key, ()):
            kind, target = edge.kind, edge.target
            if kind is EdgeKind.PRACTICES:
                if target in docs:
                    principles[target] = None
            elif kind is EdgeKind.IMPROVES:
                if product is None and target in docs:
                    product = target
            elif kind is EdgeKind.FOLLOWS and follows is None and target in docs:
                follows = target
        return LoopView(
            key=doc.key,
            id=doc.id,
            title=doc.title,
            date=info.date,
            stage=info.stage,
            authors=authors,
            product=product,
            principles=tuple(principles),
            follows=follows,
            tags=info.tags,
        )

    def loops_into(self, key: str, kind: EdgeKind) -> tuple[LoopView, ...]:
        """Loops with an edge of `kind` into `key`, newest first (each once)."""
        if self._into is None:
            # One pass over the loops, newest first, for every document and kind at once.
            into: dict[tuple[str, EdgeKind], list[LoopView]] = {}
            outgoing = self.graph.outgoing
            for loop in self._all_loops():
                for edge in dict.fromkeys((e.target, e.kind) for e in outgoing.get(loop.key, ())):
                    into.setdefault(edge, []).append(loop)
            self._into = {edge: tuple(loops) for edge, loops in into.items()}
        return self._into.get((key, kind), ())

    def _all_loops(self) -> tuple[LoopView, ...]:
        if self._newest is None:
            self._newest = tuple(newest_first(self.loops.values()))
        return self._newest

    def all_loops(self) -> list[LoopView]:
        return list(self._all_loops())

    def principles(self) -> list[PrincipleRow]:
        if self._principles is None:
            rows = [self.principle_row(d) for d in self.docs(Collection.PRINCIPLE)]
            rows.sort(key=lambda r: (r.order is None, r.order or 0, r.title.casefold()))
            self._principles = tuple(rows)
        return list(self._principles)

    def principle_row(self, doc: Document) -> PrincipleRow:
        info = doc.principle
        return PrincipleRow(
            key=doc.key,
            id=doc.id,
            title=doc.title,
            summary=info.summary.strip(),
            order=info.order,
            loops=self.loops_into(doc.key, EdgeKind.PRACTICES),
            products=tuple(d.key for d in self.graph.sources(doc.key, EdgeKind.GUIDED_BY)),
            related=tuple(d.key for d in self.graph.targets(doc.key, EdgeKind.RELATED)),
        )

    def products(self) -> list[ProductRow]:
        if self._products is None:
            rows = [self.product_row(d) for d in self.docs(Collection.PRODUCT)]
            self._products = tuple(sorted(rows, key=lambda r: r.title.casefold()))
        return list(self._products)

    def product_row(self, doc: Document) -> ProductRow:
        info = doc.product
        alternatives = []
        for name in info.alternatives:
            target = self.graph.get(Collection.PRODUCT, name)
            alternatives.append((target.title if target else name, target.key if target else None))
        return ProductRow(
            key=doc.key,
            id=doc.id,
            title=doc.title,
            summary=info.summary.strip(),
            status=info.status,
            owner=info.owner.strip(),
            loops=self.loops_into(doc.key, EdgeKind.IMPROVES),
            depends_on=tuple(d.key for d in self.graph.targets(doc.key, EdgeKind.DEPENDS_ON)),
            used_by=tuple(d.key for d in self.graph.sources(doc.key, EdgeKind.DEPENDS_ON)),
            alternatives=tuple(alternatives),
        )

    def principle_counts(self, loops: list[LoopView] | tuple[LoopView, ...]) -> list[tuple[str, int]]:
        """(principle key, number of loops practicing it), most practiced first."""
        counts = Counter(p for loop in loops for p in loop.principles)
        return sorted(counts.items(), key=lambda kv: (-kv[1], self.title(kv[0]).casefold()))

    def people(self) -> dict[str, list[LoopView]]:
        """Every loop author → their loops, newest first (the lists are shared: read only)."""
        if self._people is None:
            out: dict[str, list[LoopView]] = {}
            for loop in self._all_loops():
                for name in loop.authors:
                    out.setdefault(name, []).append(loop)
            self._people = dict(sorted(out.items(), key=lambda kv: kv[0].casefold()))
        return dict(self._people)

    def title(self, key: str) -> str:
        doc = self.graph.docs.get(key)
        return doc.title if doc is not None else key

    def tagged(self) -> dict[str, list[Document]]:
        """Every tag (`tag_name`) → the readable documents that carry it, in the graph's
        order; tags sorted as a reader looks them up (case aside, then as written). The lists
        are shared: read only."""
        if self._tagged is None:
            out: dict[str, list[Document]] = {}
            for doc in self.graph.docs.values():
                if doc.readable:
                    for name in tag_names(doc.tags):
                        out.setdefault(name, []).append(doc)
            self._tagged = dict(sorted(out.items(), key=lambda kv: (kv[0].casefold(), kv[0])))
        return dict(self._tagged)


@dataclass(frozen=True, slots=True)
class StageCounts:
    """How many of some loops there are, are open (not at Repeat) and are at each stage
    (`by[stage]`, 0 for a stage none is at): a year's or month's row, counted in Python once
    (the templates' `selectattr` filters cost a second per build at 10,000 loops)."""

    total: int
    open: int
    by: Mapping[Stage | None, int]


def stage_counts(loops: Any) -> StageCounts:
    """The `StageCounts` of `loops`."""
    by: Counter[Stage | None] = Counter(loop.stage for loop in loops)
    total = sum(by.values())
    return StageCounts(total, total - by[Stage.REPEAT], by)


def newest_first(loops: Any) -> list[LoopView]:
    return sorted(loops, key=lambda v: (v.date or dt.date.min, v.id), reverse=True)


#: How many loop cycles a page lists before it links to pages of its years (or months) instead:
#: a listing page must not grow with the handbook, or every new loop re-renders megabytes.
LATEST = 25


def by_year(loops: Any) -> dict[int, list[LoopView]]:
    """Dated loops by the year they started, newest year first (each list keeps its order)."""
    return _dated_by(loops, lambda day: day.year)


def by_month(loops: Any) -> dict[int, list[LoopView]]:
    """Dated loops by month number, newest month first (each list keeps its order)."""
    return _dated_by(loops, lambda day: day.month)


def _dated_by(loops: Any, part: Callable[[dt.date], int]) -> dict[int, list[LoopView]]:
    out: dict[int, list[LoopView]] = {}
    for loop in loops:
        if loop.date:
            out.setdefault(part(loop.date), []).append(loop)
    return dict(sorted(out.items(), reverse=True))


def month_key(year: int, month: int) -> str:
    """The page of one month's loops: `loops/<year>/<MM>/index` (reserved, kb.link)."""
    return f"loops/{year}/{month:02d}/index"


def year_key(subject: str, year: int) -> str:
    """The page of a principle's, product's or person's loops of one year, beside its page."""
    return f"{subject}/{year}"


def subject_month_key(subject: str, year: int, month: int) -> str:
    """The page of a subject's loops of one month, under its year's page: `principles/x/2026/11`
    (a year past `kb.emit.YEAR_MOST` loops lists months, not loops)."""
    return f"{subject}/{year}/{month:02d}"


def tag_name(tag: str) -> str:
    """A tag as pages show it and as it is told apart: its words, whitespace collapsed (what
    `|md` prints). Case counts: `Speed` and `speed` are two tags, each with its page."""
    return " ".join(tag.split())


def tag_names(tags: tuple[str, ...]) -> list[str]:
    """A document's tags (`tag_name`), each once, in its order; blank ones have no name to show."""
    return list(dict.fromkeys(name for name in map(tag_name, tags) if name))


#: The longest readable part of a tag's slug: a file name holds at most 255 bytes.
TAG_SLUG_MAX = 60


def tag_key(tag: str) -> str:
    """The page of one tag, `tags/<slug>` (reserved, kb.link), a function of the tag alone, so
    its URL never moves when other tags come or go and a page's tag links show only its own
    tags. A tag written as its slug (`speed`, `user-research`) is its slug; any other tag
    (`Speed`, `data science`, `a/b`, `日本語`, `index`, one too long) gets its readable ASCII part,
    `--` and 8 hex digits of its SHA-1: a plain slug never holds `--`, so no two tags share a
    page, whatever their case or characters."""
    import hashlib
    import unicodedata

    name = tag_name(tag)
    ascii_text = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode().lower()
    readable = re.sub(r"[^a-z0-9]+", "-", ascii_text).strip("-")[:TAG_SLUG_MAX].strip("-")
    if readable == name and readable != "index":  # tags/index is the list of tags
        return f"tags/{readable}"
    digest = hashlib.sha1(name.encode("utf-8", "surrogatepass")).hexdigest()[:8]
    return f"tags/{readable or 'tag'}--{digest}"


def principle_index(views: Views, since: dt.date | None = None) -> list[Mapping[str, Any]]:
    """`kb index principles --format json`: one object per principle; `since` keeps only
    the loop cycles started on or after that date."""
    out: list[Mapping[str, Any]] = []
    for r in views.principles():
        loops = [lv for lv in r.loops if since is None or (lv.date and lv.date >= since)]
        out.append(
            {
                "id": r.id,
                "title": r.title,
                "summary": r.summary,
                "loops": [lv.id for lv in loops],
                "products": [views.graph.docs[k].id for k in r.products],
                "last_practiced": loops[0].date.isoformat() if loops and loops[0].date else None,
            }
        )
    return out


def product_index(views: Views) -> list[Mapping[str, Any]]:
    """`kb index products --format json`: one object per product."""
    ids = views.graph.docs
    return [
        {
            "id": r.id,
            "title": r.title,
            "status": r.status.value if r.status else None,
            "owner": r.owner,
            "loops": [loop.id for loop in r.loops],
            "depends_on": [ids[k].id for k in r.depends_on],
            "used_by": [ids[k].id for k in r.used_by],
        }
        for r in views.products()
    ]
