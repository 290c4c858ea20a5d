"""Principle coverage: are we living every principle, or only some, and less each quarter?

A heatmap of principles × quarters, drawn as inline SVG at build time (no JavaScript, no
image service): cells are shaded by count with an opacity over one hue, so the map reads in
light and dark mode alike, and every count is also written as text for screen readers.
"""

from __future__ import annotations

import datetime as dt
import html
from collections import Counter
from dataclasses import dataclass

from kb.clock import today
from kb.views import LoopView, PrincipleRow, Views

__all__ = ["Coverage", "compute", "quarter", "quarters_between", "svg", "table"]

CELL_W, CELL_H, LABEL_W, HEAD_H = 56, 26, 260, 30


def quarter(day: dt.date) -> str:
    return f"{day.year}-Q{(day.month - 1) // 3 + 1}"


def quarters_between(first: dt.date, last: dt.date) -> list[str]:
    out, year, q = [], first.year, (first.month - 1) // 3
    while (year, q) <= (last.year, (last.month - 1) // 3):
        out.append(f"{year}-Q{q + 1}")
        year, q = (year + 1, 0) if q == 3 else (year, q + 1)
    return out


@dataclass(frozen=True)
class Coverage:
    principles: list[PrincipleRow]
    quarters: list[str]
    counts: dict[tuple[str, str], int]  # (principle key, quarter) -> loops
    stale: list[PrincipleRow]  # not practiced within the window
    window_days: int
    reference: dt.date


def compute(views: Views, window_days: int, reference: dt.date | None = None) -> Coverage:
    """Counts per principle and quarter, from the first loop's quarter to the reference's
    (or the last loop's, if later): recent empty quarters are the signal, so they show.
    The reference is the run's day (`Checked.today`); without one, `kb.clock`'s."""
    reference = reference or today()
    rows = views.principles()
    loops = [lv for lv in views.loops.values() if lv.date]
    counts: Counter[tuple[str, str]] = Counter(
        (p, quarter(lv.date)) for lv in loops for p in lv.principles if lv.date
    )
    dates = [lv.date for lv in loops if lv.date]
    quarters = quarters_between(min(dates), max(*dates, reference)) if dates else []
    since = reference - dt.timedelta(days=window_days)
    stale = [r for r in rows if not any(lv.date and lv.date >= since for lv in r.loops)]
    return Coverage(rows, quarters, dict(counts), stale, window_days, reference)


def svg(cov: Coverage) -> str:
    """The heatmap as one block of inline SVG (no blank lines, so markdown passes it through).

    It is marked up as an ARIA table (rows of a row header and cells), not as one image,
    so a screen reader can walk it and read every count.
    """
    peak = max(cov.counts.values(), default=1)
    width = LABEL_W + CELL_W * max(len(cov.quarters), 1) + 10
    height = HEAD_H + CELL_H * len(cov.principles) + 10
    stale = {r.key for r in cov.stale}
    parts = [
        f'<svg class="kb-coverage" xmlns="http://www.w3.org/2000/svg" role="table" '
        f'viewBox="0 0 {width} {height}" width="{width}" height="{height}" '
        f'aria-labelledby="kb-coverage-title" aria-describedby="kb-coverage-desc" '
        f'font-family="sans-serif" font-size="12">',
        '<title id="kb-coverage-title">Loop cycles practicing each principle, per quarter</title>',
        f'<desc id="kb-coverage-desc">{len(cov.principles)} principles by {len(cov.quarters)} quarters; '
        f"each cell holds the number of loop cycles; ⚠ marks a principle not practiced in the last "
        f"{cov.window_days} days.</desc>",
        '<g role="row">',
        f'<text role="columnheader" x="{LABEL_W - 8}" y="{HEAD_H - 10}" text-anchor="end" '
        'fill="currentColor">Principle</text>',
    ]
    for j, q in enumerate(cov.quarters):
        x = LABEL_W + j * CELL_W + CELL_W // 2
        parts.append(
            f'<text role="columnheader" x="{x}" y="{HEAD_H - 10}" text-anchor="middle" '
            f'fill="currentColor">{q}</text>'
        )
    parts.append("</g>")
    for i, row in enumerate(cov.principles):
        y = HEAD_H + i * CELL_H
        mark = " ⚠" if row.key in stale else ""
        parts.append(
            f'<g role="row"><text role="rowheader" x="{LABEL_W - 8}" y="{y + CELL_H // 2 + 4}" '
            f'text-anchor="end" fill="currentColor">{html.escape(row.title)}{mark}</text>'
        )
        for j, q in enumerate(cov.quarters):
            parts.append(_cell(LABEL_W + j * CELL_W, y, cov.counts.get((row.key, q), 0), peak, row, q))
        parts.append("</g>")
    parts.append("</svg>")
    return "\n".join(parts)


def _cell(x: int, y: int, n: int, peak: int, row: PrincipleRow, q: str) -> str:
    opacity = 0.08 if n == 0 else round(0.25 + 0.75 * n / peak, 2)
    label = f"{html.escape(row.title)}, {q}: {n} loop cycle{'s' if n != 1 else ''}"
    ink = "#ffffff" if opacity >= 0.6 else "currentColor"  # dark cells take white numbers
    text = (
        f'<text x="{x + CELL_W // 2}" y="{y + CELL_H // 2 + 4}" text-anchor="middle" fill="{ink}">{n}</text>'
    )
    return (
        f'<g role="cell" class="kb-cell" data-principle="{html.escape(row.id)}" data-quarter="{q}" '
        f'data-count="{n}"><title>{label}</title><rect x="{x + 1}" y="{y + 1}" width="{CELL_W - 2}" '
        f'height="{CELL_H - 2}" rx="3" fill="#3f51b5" fill-opacity="{opacity}"/>{text}</g>'
    )


def table(groups: dict[str, list[LoopView]], views: Views, label: str) -> list[dict[str, object]]:
    """Rows for the per-product and per-person tables: loops, principles practiced and missing.

    For products every product has a row (sorted by key): a product no loop cycle improves
    yet is the row a reader most needs to see.
    """
    all_keys = [r.key for r in views.principles()]
    if label == "product":
        groups = dict(sorted({**{r.key: [] for r in views.products()}, **groups}.items()))
    out = []
    for name, loops in groups.items():
        practiced = {p for lv in loops for p in lv.principles}
        out.append(
            {
                label: name,
                "loops": len(loops),
                "practiced": len(practiced),
                "of": len(all_keys),
                "missing": [k for k in all_keys if k not in practiced],
            }
        )
    return out
