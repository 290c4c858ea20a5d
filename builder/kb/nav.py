"""The generated nav: it scales, because loops are reached through indexes, never listed.

MkDocs with Material renders the whole nav into every page, so the cost of a build grows with
pages × nav entries; the nav holds sections and indexes only.
"""

from __future__ import annotations

import html
from collections.abc import Mapping
from typing import Any

import yaml

from kb.link import Graph
from kb.model import Collection
from kb.tree import Tree
from kb.views import Views


def nav(graph: Graph, views: Views) -> list[Any]:
    """A nav that scales: sections and indexes, never one entry per loop, and a section's
    pages only while there are few of them (`SECTION_MAX`). The principles, products and loops
    sections appear once the handbook has any of them: their index pages are built anyway."""
    entries: list[Any] = []
    home = next(
        (k for k in ("index", "README", "_index") if k in graph.docs and graph.docs[k].readable), None
    )
    if home is not None:  # README.md is the home page where there is no index.md (kb.layout)
        entries.append({"Home": home + ".md"})
    entries.extend(_page_sections(graph))
    if not any(d.collection is not Collection.PAGE for d in graph.docs.values()):
        return entries  # a handbook of plain pages only (one adopted as it is): no empty sections
    principles = [r.key + ".md" for r in views.principles()]
    entries.append({"Principles": ["principles/index.md", "principles/coverage.md"] + _listed(principles)})
    entries.append({"Products": ["products/index.md"] + _listed([r.key + ".md" for r in views.products()])})
    years = sorted({lv.date.year for lv in views.loops.values() if lv.date}, reverse=True)
    entries.append({"Loops": ["loops/index.md"] + _listed([{str(y): f"loops/{y}/index.md"} for y in years])})
    if views.people():
        entries.append({"People": ["people/index.md"]})
    return entries


#: A generated section lists its pages in the nav while it has at most this many; beyond that
#: its index page, which tabulates them all, stands for them. Material renders the whole nav
#: into every page, so this bounds each page's cost whatever the size of the handbook (and a
#: sidebar of 40 product names is no help to a reader either).
SECTION_MAX = 20


def _listed(entries: list[Any]) -> list[Any]:
    return entries if len(entries) <= SECTION_MAX else []


def titled(entries: list[Any], tree: Tree) -> list[Any]:
    """Give every nav entry its page's own (escaped) title from the emitted frontmatter.

    MkDocs' dirty build (`kb serve`) does not read unchanged pages, so a nav entry without a
    title would print as blank on every page it re-renders; a title change then changes the
    nav, which is what tells `kb serve` to render everything.
    """
    out: list[Any] = []
    for entry in entries:
        if isinstance(entry, str):
            title = _title_in(tree.files.get(entry, b""))
            out.append({title: entry} if title else entry)
        else:
            out.append({k: titled(v, tree) if isinstance(v, list) else v for k, v in entry.items()})
    return out


def _title_in(data: bytes) -> str | None:
    text = data.decode("utf-8")
    end = text.find("\n---\n", 3)
    if not text.startswith("---\n") or end < 0:
        return None
    meta = yaml.load(text[4 : end + 1], Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    title = meta.get("title") if isinstance(meta, dict) else None
    return title if isinstance(title, str) and title else None


def _page_sections(graph: Graph) -> list[Any]:
    """Plain pages grouped by folder: top-level pages first, then one section per folder, its
    index (`index.md`, else `README.md`) first. Every page is listed: Material's navigation.prune
    (in the built-in config; KB704 asks for it in a site's own) renders only each page's path."""
    tree: dict[str, Any] = {}
    pages = sorted(
        (
            d
            for d in graph.docs.values()
            if d.collection is Collection.PAGE and d.readable and d.key not in NOT_LISTED
        ),
        key=lambda d: (d.rel.count("/"), d.rel),
    )
    for doc in pages:
        node = tree
        for part in doc.rel.split("/")[:-1]:
            node = node.setdefault(part + "/", {})
        node[doc.rel] = doc
    return _nav_entries(tree)


#: Top-level pages the nav does not list: the home page (listed first, as Home), and a GitBook
#: `SUMMARY.md`, which is a table of contents of its own, not a page of the handbook.
NOT_LISTED = frozenset(("index", "README", "_index", "SUMMARY"))


def _nav_entries(node: Mapping[str, Any]) -> list[Any]:
    items: list[Any] = []
    files = sorted(
        (k for k in node if not k.endswith("/")),
        key=lambda k: (not k.endswith(("/index.md", "/README.md")), node[k].title.casefold()),
    )
    items.extend(node[k].rel for k in files)
    for folder in sorted(k for k in node if k.endswith("/")):
        title = html.escape(folder[:-1].replace("-", " ").replace("_", " ").capitalize())
        items.append({title: _nav_entries(node[folder])})
    return items


#: Pages reached through indexes, kept out of the nav on purpose (gitignore syntax for MkDocs).
NOT_IN_NAV = "/loops/**\n/people/**\n/principles/**\n/products/**\n/tags/**\n"
