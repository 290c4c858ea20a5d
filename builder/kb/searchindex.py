"""Material's search index (`search/search_index.json`): entries grouped by page, and written back
exactly as Material writes it.

Three places put indexes together: the parallel render (one index per process), `kb serve`
(MkDocs' dirty build indexes only the pages it re-rendered) and the cached build
(`kb.render_cache`), which keeps the last index's bytes and where each page's entries lie in
them (`Spans`): it joins those bytes with the new pages' entries, where parsing and writing
again the whole index (36 MB at 10,000 loops) took most of a second.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any

PATH = Path("search") / "search_index.json"

Entries = dict[str, list[dict[str, Any]]]
#: Where each page's entries lie in an index file's bytes: page URL -> (start, end).
Spans = dict[str, tuple[int, int]]
#: Stands for the entries while the rest of the index is serialized around them.
_DOCS = "\0kb-docs\0"


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
    write_fragments(site_dir, data, ((url, fragment(pages[url])) for url in ordered(pages, order)))


def ordered(pages: Iterable[str], order: list[str] | None) -> list[str]:
    """The page URLs in `order` (MkDocs' page order); those it lacks last, as they came."""
    urls = list(pages)
    if order is not None:
        rank = {url: i for i, url in enumerate(order)}
        urls.sort(key=lambda url: rank.get(url, len(rank)))
    return urls


def fragment(entries: list[dict[str, Any]]) -> bytes:
    """A page's entries as they stand in the index's `docs` list (comma-separated): `json.dumps`
    of a list without indent is its items' own dumps joined by the item separator."""
    return b",".join(_dumps(entry).encode("ascii") for entry in entries)


def write_fragments(site_dir: Path, data: dict[str, Any], fragments: Iterable[tuple[str, bytes]]) -> Spans:
    """Write `data` with `docs` made of each page's `fragment`, in the order given: the bytes
    `write` gives for the same entries. Returns where each page's entries lie in the file."""
    before, _, after = _dumps(dict(data, docs=[_DOCS])).encode("ascii").partition(_dumps(_DOCS).encode())
    parts, spans, at = [before], {}, len(before)
    for url, text in fragments:
        if not text:
            continue
        if len(parts) > 1:
            parts.append(b",")
            at += 1
        parts.append(text)
        spans[url] = (at, at + len(text))
        at += len(text)
    parts.append(after)
    (site_dir / PATH).write_bytes(b"".join(parts))
    return spans


def _dumps(value: Any) -> str:
    """JSON as Material writes its index (ASCII only: a character is a byte)."""
    return json.dumps(value, separators=(",", ":"), default=str)
