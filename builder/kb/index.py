"""`kb index`: the principle and product indexes on stdout, as markdown or JSON."""

from __future__ import annotations

import datetime as dt
from typing import Any

from kb.link import Graph
from kb.model import Collection
from kb.views import Views, principle_index, product_index


def index_json(graph: Graph, what: str, since: dt.date | None = None) -> list[Any]:
    """The index rows; `since` keeps only the loop cycles started on or after that date, for
    principles and products alike."""
    views = Views(graph)
    if what == "principles":
        return list(principle_index(views, since))
    rows = list(product_index(views))
    if since is None:
        return rows
    started = {d.id: d.loop.date for d in graph.by_id[Collection.LOOP].values() if d.readable}
    return [
        {**row, "loops": [i for i in row["loops"] if (started.get(i) or dt.date.min) >= since]}
        for row in rows
    ]


def index_markdown(graph: Graph, what: str, since: dt.date | None = None) -> str:
    rows = index_json(graph, what, since)
    if what == "principles":
        head = ["Principle", "Summary", "Loops", "Products", "Last practiced"]
        body = [
            [
                r["title"],
                r["summary"],
                str(len(r["loops"])),
                str(len(r["products"])),
                r["last_practiced"] or "—",
            ]
            for r in rows
        ]
    else:
        head = ["Product", "Status", "Owner", "Loops", "Depends on", "Used by"]
        body = [
            [
                r["title"],
                r["status"] or "—",
                r["owner"],
                str(len(r["loops"])),
                ", ".join(r["depends_on"]) or "—",
                ", ".join(r["used_by"]) or "—",
            ]
            for r in rows
        ]
    lines = [_row(head), _row(["---"] * len(head))] + [_row(cells) for cells in body]
    return "\n".join(lines) + "\n"


def _row(cells: list[str]) -> str:
    return "| " + " | ".join(c.replace("|", "\\|").replace("\n", " ") for c in cells) + " |"
