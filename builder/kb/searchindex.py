"""Material's search index (`search/search_index.json`): entries grouped by page, and written back
exactly as Material writes it.

Two places put indexes together: the parallel render (one index per process) and `kb serve`
(MkDocs' dirty build indexes only the pages it re-rendered).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

PATH = Path("search") / "search_index.json"

Entries = dict[str, list[dict[str, Any]]]


def read(site_dir: Path) -> dict[str, Any] | None:
    """The index MkDocs wrote into `site_dir`, or None if there is none (no search plugin)."""
    try:
        data = json.loads((site_dir / PATH).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def by_page(entries: list[dict[str, Any]]) -> Entries:
    """Entries grouped by the page they belong to (the location without its #section), in order."""
    pages: Entries = {}
    for entry in entries:
        pages.setdefault(str(entry.get("location", "")).split("#")[0], []).append(entry)
    return pages


def write(site_dir: Path, data: dict[str, Any], pages: Entries, order: list[str] | None = None) -> None:
    """Write `data` with the entries of `pages` (in `order` of page URLs, if given), as Material does."""
    urls = list(pages)
    if order is not None:
        rank = {url: i for i, url in enumerate(order)}
        urls.sort(key=lambda url: rank.get(url, len(rank)))
    data = dict(data, docs=[entry for url in urls for entry in pages[url]])
    (site_dir / PATH).write_text(json.dumps(data, separators=(",", ":"), default=str), encoding="utf-8")
