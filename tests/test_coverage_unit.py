"""kb.coverage as a library: quarters, the counts behind the heatmap, stale principles, the SVG
and the per-product table, from views of a small handbook (the site tests check the pages)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from conftest import TODAY, make_base
from kb import coverage
from kb.pipeline import check
from kb.settings import load_settings
from kb.views import Views
from test_views import FILES


@pytest.fixture
def views(tmp_path: Path) -> Views:
    return Views(check(load_settings(make_base(tmp_path, FILES)), TODAY).graph, None)


@pytest.mark.parametrize(
    ("day", "name"),
    [(dt.date(2026, 1, 1), "2026-Q1"), (dt.date(2026, 3, 31), "2026-Q1"), (dt.date(2026, 4, 1), "2026-Q2")],
)
def test_quarter(day: dt.date, name: str) -> None:
    assert coverage.quarter(day) == name


def test_quarters_between_cross_a_year_and_include_both_ends() -> None:
    assert coverage.quarters_between(dt.date(2025, 11, 5), dt.date(2026, 4, 1)) == [
        "2025-Q4",
        "2026-Q1",
        "2026-Q2",
    ]
    assert coverage.quarters_between(dt.date(2026, 2, 1), dt.date(2026, 2, 2)) == ["2026-Q1"]


def test_counts_run_from_the_first_loop_to_the_reference(views: Views) -> None:
    cov = coverage.compute(views, window_days=30, reference=dt.date(2027, 2, 1))
    first = min(lv.date for lv in views.loops.values() if lv.date)
    assert cov.quarters == coverage.quarters_between(first, dt.date(2027, 2, 1))
    assert cov.quarters[-1] == "2027-Q1"  # empty recent quarters show: they are the signal
    dated = [lv for lv in views.loops.values() if lv.date]
    for lv in dated:
        for key in lv.principles:
            assert cov.counts[(key, coverage.quarter(lv.date))] >= 1
    assert sum(cov.counts.values()) == sum(len(lv.principles) for lv in dated)


def test_stale_principles_are_those_without_a_loop_in_the_window(views: Views) -> None:
    recent = coverage.compute(views, window_days=400, reference=TODAY)
    assert [r.title for r in recent.stale] == ["Zeta"]  # listen and ownership have 2026 loops
    later = coverage.compute(views, window_days=10, reference=TODAY + dt.timedelta(days=365))
    assert {r.key for r in later.stale} == {r.key for r in views.principles()}


def test_svg_has_a_cell_per_principle_and_quarter(views: Views) -> None:
    cov = coverage.compute(views, window_days=90, reference=TODAY)
    picture = coverage.svg(cov)
    assert picture.startswith("<svg") and picture.rstrip().endswith("</svg>")
    for q in cov.quarters:
        assert q in picture
    for row in cov.principles:
        assert row.title in picture or row.key in picture


def test_product_table_lists_every_product_even_without_loops(views: Views) -> None:
    groups: dict[str, list] = {}
    for lv in views.loops.values():
        if lv.product:
            groups.setdefault(lv.product, []).append(lv)
    rows = coverage.table(groups, views, "product")
    assert [r["product"] for r in rows] == sorted(r.key for r in views.products())
    key = next(r.key for r in views.products() if r.title == "Search")
    search = next(r for r in rows if r["product"] == key)
    assert search["loops"] == len(groups.get(key, [])) == 1  # the early loop improves it
