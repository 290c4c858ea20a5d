"""Loop feeds: Atom and JSON Feed of loop cycles, for the handbook, each product and each principle.

An entry is written when a loop starts, and when it reaches `implement` and `repeat` — the
moments a reader wants to hear about. Dates come from git history (when the file was added,
when its `stage:` line first took that value); without git, from the loop's own date.
"""

from __future__ import annotations

import datetime as dt
import html
import json
import posixpath
from dataclasses import dataclass
from xml.sax.saxutils import escape, quoteattr

from kb.templating import url_of
from kb.views import LoopView, Views

LIMIT = 50
EVENTS = ("started", "implement", "repeat")
_ORDER = ("observe", "reflect", "design", "implement", "repeat")


@dataclass(frozen=True, slots=True)
class Entry:
    loop: LoopView
    event: str  # started, implement, repeat
    when: dt.datetime

    @property
    def title(self) -> str:
        verb = {"started": "New loop", "implement": "Implemented", "repeat": "Loop closed"}[self.event]
        return f"{verb}: {self.loop.title}"


def _midnight(day: dt.date) -> dt.datetime:
    return dt.datetime(day.year, day.month, day.day, tzinfo=dt.UTC)


def _stamp(seconds: int) -> dt.datetime:
    return dt.datetime.fromtimestamp(seconds, dt.UTC)


def entries(views: Views, stages: dict[str, list[tuple[int, str]]]) -> list[Entry]:
    """Every feed event of every loop, newest first. `stages`: path → [(time, stage)]."""
    out = []
    for loop in views.loops.values():
        doc = views.graph.docs[loop.key]
        hist = views.file_history(doc)
        changes = _changes(hist, doc.path, stages)
        started = _started(hist, changes) or (_midnight(loop.date) if loop.date else None)
        if started:
            out.append(Entry(loop, "started", started))
        reached = _reached(changes)
        for event in ("implement", "repeat"):
            when = reached.get(event)
            if when is None and loop.stage and _ORDER.index(loop.stage.value) >= _ORDER.index(event):
                when = _fallback(hist, loop)
            if when is not None:
                out.append(Entry(loop, event, when))
    return sorted(out, key=lambda e: (e.when, e.loop.id, EVENTS.index(e.event)), reverse=True)


def _changes(hist: object, path: str, stages: dict[str, list[tuple[int, str]]]) -> list[tuple[int, str]]:
    """The file's stage changes under every name it had (git's stage log does not follow
    renames: a moved loop would otherwise seem to reach its stage on the day it moved)."""
    names = (*getattr(hist, "previous_paths", ()), path)
    return sorted(change for name in names for change in stages.get(name, []))


def _started(hist: object, changes: list[tuple[int, str]]) -> dt.datetime | None:
    """When the file was added: the exact time of its first `stage:` line when that commit is
    the one that created it (same day), else the day history gives (the file was added
    without a `stage:` line, or somewhere the stage log does not look)."""
    created = getattr(hist, "created", None)
    if not created:
        return None
    if changes and _stamp(changes[0][0]).date() == created:
        return _stamp(changes[0][0])
    return _midnight(created)


def _fallback(hist: object, loop: LoopView) -> dt.datetime | None:
    updated = getattr(hist, "updated", None)
    if updated:
        return _midnight(updated)
    return _midnight(loop.date) if loop.date else None


def _reached(changes: list[tuple[int, str]]) -> dict[str, dt.datetime]:
    """The first time the stage reached implement (or later) and repeat."""
    out: dict[str, dt.datetime] = {}
    for when, stage in changes:
        if stage not in _ORDER:
            continue
        for event in ("implement", "repeat"):
            if event not in out and _ORDER.index(stage) >= _ORDER.index(event):
                out[event] = _stamp(when)
    return out


@dataclass(frozen=True)
class Feed:
    key: str  # feeds/loops, feeds/products/kb, feeds/principles/ownership
    title: str
    page: str  # the page the feed belongs to (document key)
    entries: list[Entry]


def feeds(views: Views, all_entries: list[Entry]) -> list[Feed]:
    """The handbook feed, then one per product and one per principle."""
    site = views.graph.docs.get("index")
    name = site.title if site is not None else "Handbook"
    out = [Feed("feeds/loops", f"{name}: loop cycles", "loops/index", all_entries[:LIMIT])]
    # Each subject's latest entries, in one pass over them all (not one pass per subject).
    subjects: dict[str, list[str]] = {}  # a loop's product and principles, each once
    mine: dict[str, list[Entry]] = {}
    for entry in all_entries:
        loop = entry.loop
        keys = subjects.get(loop.key)
        if keys is None:
            keys = subjects[loop.key] = [
                k for k in dict.fromkeys((loop.product, *loop.principles)) if k is not None
            ]
        for subject in keys:
            listed = mine.setdefault(subject, [])
            if len(listed) < LIMIT:
                listed.append(entry)
    for row in views.products():
        latest = mine.get(row.key, [])
        out.append(Feed(f"feeds/products/{row.id}", f"{row.title}: loop cycles", row.key, latest))
    for prow in views.principles():
        latest = mine.get(prow.key, [])
        out.append(Feed(f"feeds/principles/{prow.id}", f"{prow.title}: loop cycles", prow.key, latest))
    return out


def _abs(site_url: str, path: str, feed_key: str) -> str:
    """An absolute URL when the site's URL is known, else one relative to the feed file."""
    if site_url:
        return site_url.rstrip("/") + "/" + path
    return posixpath.relpath(path or ".", posixpath.dirname(feed_key)) + (
        "/" if path.endswith("/") or not path else ""
    )


def _summary(views: Views, entry: Entry) -> str:
    loop = entry.loop
    parts = [f"Stage: {loop.stage.value if loop.stage else 'unknown'}"]
    if loop.product:
        parts.append(f"Product: {views.title(loop.product)}")
    if loop.principles:
        parts.append("Principles: " + ", ".join(views.title(p) for p in loop.principles))
    if loop.authors:
        parts.append("By: " + ", ".join(loop.authors))
    return ". ".join(parts) + "."


def atom(feed: Feed, views: Views, site_url: str) -> str:
    """An Atom 1.0 document (RFC 4287)."""
    updated = feed.entries[0].when if feed.entries else dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
    feed_id = _abs(site_url, feed.key + ".xml", feed.key) if site_url else f"urn:kb:{feed.key}"
    lines = [
        '<?xml version="1.0" encoding="utf-8"?>',
        '<feed xmlns="http://www.w3.org/2005/Atom">',
        f"  <title>{escape(feed.title)}</title>",
        f"  <id>{escape(feed_id)}</id>",
        f"  <updated>{updated.isoformat()}</updated>",
        f'  <link rel="self" href={quoteattr(_abs(site_url, feed.key + ".xml", feed.key))}/>',
        f'  <link rel="alternate" href={quoteattr(_abs(site_url, url_of(feed.page), feed.key))}/>',
        "  <generator>kb</generator>",
    ]
    for entry in feed.entries:
        url = _abs(site_url, url_of(entry.loop.key), feed.key)
        entry_id = f"{url}#{entry.event}" if site_url else f"urn:kb:{entry.loop.key}:{entry.event}"
        authors = "".join(f"<author><name>{escape(a)}</name></author>" for a in entry.loop.authors) or (
            "<author><name>unknown</name></author>"
        )
        lines += [
            "  <entry>",
            f"    <title>{escape(entry.title)}</title>",
            f"    <id>{escape(entry_id)}</id>",
            f"    <updated>{entry.when.isoformat()}</updated>",
            f"    <link href={quoteattr(url)}/>",
            f"    {authors}",
            f'    <summary type="html">{escape(html.escape(_summary(views, entry)))}</summary>',
            "  </entry>",
        ]
    lines.append("</feed>")
    return "\n".join(lines) + "\n"


def json_feed(feed: Feed, views: Views, site_url: str) -> str:
    """A JSON Feed 1.1 document."""
    items = []
    for entry in feed.entries:
        url = _abs(site_url, url_of(entry.loop.key), feed.key)
        items.append(
            {
                "id": f"{url}#{entry.event}" if site_url else f"urn:kb:{entry.loop.key}:{entry.event}",
                "url": url,
                "title": entry.title,
                "content_text": _summary(views, entry),
                "date_published": entry.when.isoformat(),
                "authors": [{"name": a} for a in entry.loop.authors],
                "tags": [entry.event],
            }
        )
    data = {
        "version": "https://jsonfeed.org/version/1.1",
        "title": feed.title,
        "home_page_url": _abs(site_url, url_of(feed.page), feed.key),
        "feed_url": _abs(site_url, feed.key + ".json", feed.key),
        "items": items,
    }
    return json.dumps(data, indent=1, ensure_ascii=False) + "\n"
