"""Views: the rows indexes, pages and `kb index` show, from records and the graph's edges."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from conftest import LOOP, TODAY, make_base
from kb.history import FileHistory, History
from kb.link import EdgeKind
from kb.model import Stage, Status
from kb.pipeline import check
from kb.settings import load_settings
from kb.views import Views, newest_first, principle_index, product_index, stage_counts

SECTIONS = "## 1. Observe\n\nSaw it.\n\n## 2. Reflect\n\nThought.\n"
EARLY = "content/loops/2026/2026-10-02-early.md"
LATER = "content/loops/2026/2026-11-30-later.md"
UNDATED = "content/loops/2026/undated.md"
FILES = {
    "content/principles/aaa-first.md": "---\ntitle: Zeta\nsummary: '  Ordered first.  '\norder: 1\n---\n",
    "content/principles/listen.md": ("---\ntitle: Listen\nsummary: Hear users.\nrelated: [ownership]\n---\n"),
    "content/products/search.md": (
        "---\ntitle: Search\nsummary: Finds.\nproblem: Lost pages.\nusers: [Readers]\n"
        "owner: ' Team S '\nstatus: idea\ndepends_on: [kb]\nalternatives: [kb, grep]\n---\n"
    ),
    EARLY: (
        "---\ntitle: Early\ndate: 2026-10-02\nstage: reflect\nprinciples: [listen, ownership]\n"
        f"product: search\nauthors: [Bo, ana]\ntags: [t1]\n---\n\n{SECTIONS}"
    ),
    LATER: (
        "---\ntitle: Later\ndate: 2026-11-30\nstage: observe\nprinciples: [listen]\n"
        f"follows: 2026-10-02-early\n---\n\n{SECTIONS}"
    ),
    UNDATED: f"---\ntitle: Undated\ndate: someday\nstage: observe\nprinciples: [listen]\n---\n\n{SECTIONS}",
}


def file_history(authors: tuple[str, ...]) -> FileHistory:
    return FileHistory(dt.date(2026, 1, 5), dt.date(2026, 2, 1), authors, authors[-1], 2, False, ())


@pytest.fixture
def views(tmp_path: Path) -> Views:
    checked = check(load_settings(make_base(tmp_path, FILES)), TODAY)
    history = History({LATER: file_history(("Git Author",))}, available=True, shallow=False, findings=())
    return Views(checked.graph, history)


def test_loop_views_join_records_and_edges(views: Views) -> None:
    early = views.loops["loops/2026/2026-10-02-early"]
    assert (early.title, early.date, early.stage, early.authors, early.tags) == (
        "Early",
        dt.date(2026, 10, 2),
        Stage.REFLECT,
        ("Bo", "ana"),
        ("t1",),
    )
    assert early.product == "products/search"  # a document key, from the graph's edge
    assert early.principles == ("principles/listen", "principles/ownership")
    assert early.open and early.month == "2026-10"
    later = views.loops["loops/2026/2026-11-30-later"]
    assert later.authors == ("Git Author",)  # no authors: the file's git authors
    assert later.follows == "loops/2026/2026-10-02-early"
    undated = views.loops["loops/2026/undated"]
    assert (undated.date, undated.month) == (None, "undated")  # an invalid date reads as absent
    assert not views.loops["loops/2026/2026-11-23-slow-ci"].open  # stage: repeat


def test_loops_are_newest_first_and_undated_last(views: Views) -> None:
    assert [lv.id for lv in views.all_loops()] == [
        "2026-11-30-later",
        "2026-11-23-slow-ci",
        "2026-10-02-early",
        "undated",
    ]
    assert [lv.id for lv in newest_first(reversed(views.all_loops()))] == [lv.id for lv in views.all_loops()]
    assert [lv.id for lv in views.loops_into("principles/listen", EdgeKind.PRACTICES)] == [
        "2026-11-30-later",
        "2026-10-02-early",
        "undated",
    ]


def test_listings_match_the_graph_read_again(views: Views) -> None:
    """Views keeps each listing once made: every loop's relations and the loops into each
    document, kind by kind, are those the graph's edges give, made one by one."""
    graph = views.graph
    for loop in views.loops.values():
        for kind, got in (("IMPROVES", loop.product), ("FOLLOWS", loop.follows)):
            first = graph.targets(loop.key, EdgeKind[kind])
            assert got == (first[0].key if first else None)
        assert loop.principles == tuple(d.key for d in graph.targets(loop.key, EdgeKind.PRACTICES))
    for key in graph.docs:
        for kind in EdgeKind:
            made = [views.loops[d.key] for d in graph.sources(key, kind) if d.key in views.loops]
            assert views.loops_into(key, kind) == tuple(newest_first(made)), (key, kind)
    assert views.principles() is not views.principles()  # a caller's list, not the kept one
    assert views.principles() == views.principles()


def test_stage_counts(views: Views) -> None:
    loops = views.all_loops()
    counts = stage_counts(loops)
    assert (counts.total, counts.open) == (4, 3)  # one loop at repeat
    assert counts.by[Stage.REPEAT] == 1 and counts.by[Stage.DESIGN] == 0
    assert sum(counts.by[stage] for stage in Stage) + counts.by[None] == 4
    assert stage_counts([]).total == stage_counts([]).open == 0


def test_principle_rows_by_order_then_title(views: Views) -> None:
    rows = views.principles()
    assert [r.title for r in rows] == ["Zeta", "Listen", "Ownership"]  # order: 1 first
    zeta, listen, ownership = rows
    assert (zeta.order, zeta.summary, zeta.loops, zeta.last_practiced) == (1, "Ordered first.", (), None)
    assert listen.related == ("principles/ownership",)
    assert listen.last_practiced == dt.date(2026, 11, 30)
    assert ownership.products == ("products/kb",)  # kb's card names it


def test_product_rows(views: Views) -> None:
    kb, search = views.products()  # by title: "kb" before "Search", case folded
    assert (search.status, search.owner, search.depends_on) == (Status.IDEA, "Team S", ("products/kb",))
    assert search.alternatives == (
        ("kb", "products/kb"),
        ("grep", None),
    )  # a product's title, or the free name
    assert [lv.id for lv in search.loops] == ["2026-10-02-early"]
    assert search.last_loop == dt.date(2026, 10, 2)
    assert kb.used_by == ("products/search",) and kb.status is Status.LIVE


def test_people_and_principle_counts(views: Views) -> None:
    people = views.people()
    assert list(people) == ["ana", "Bo", "Git Author"]  # case folded
    assert [lv.id for lv in people["Bo"]] == ["2026-10-02-early"]
    counts = views.principle_counts(views.all_loops())
    assert counts == [("principles/listen", 3), ("principles/ownership", 2)]
    assert views.title("principles/listen") == "Listen" and views.title("nowhere") == "nowhere"


def test_index_rows(views: Views) -> None:
    rows = {r["id"]: r for r in principle_index(views, since=dt.date(2026, 11, 1))}
    assert rows["listen"]["loops"] == ["2026-11-30-later"]
    assert rows["listen"]["last_practiced"] == "2026-11-30"
    assert rows["aaa-first"]["last_practiced"] is None
    products = {r["id"]: r for r in product_index(views)}
    assert products["search"] == {
        "id": "search",
        "title": "Search",
        "status": "idea",
        "owner": "Team S",
        "loops": ["2026-10-02-early"],
        "depends_on": ["kb"],
        "used_by": [],
    }


def test_a_shallow_clone_shows_no_git_authors(tmp_path: Path) -> None:
    """A shallow clone's history is wrong (one commit made everything): it is not shown."""
    checked = check(load_settings(make_base(tmp_path, FILES)), TODAY)
    shallow = History({LATER: file_history(("Git Author",))}, available=True, shallow=True, findings=())
    views = Views(checked.graph, shallow)
    assert views.history is None and views.file_history(checked.graph.docs[LOOP[8:-3]]) is None
    assert views.loops["loops/2026/2026-11-30-later"].authors == ()
