"""Loop feeds: Atom and JSON Feed for the handbook, each product and each principle.

A real git repository, four commits on different days:
1. 2026-01-06 10:00 — loop `slow-ci` added at `observe`; loop `old-cycle` added already at `repeat`;
2. 2026-02-10 11:30 — `slow-ci` moved to `implement`; loop `noisy` (a `<script>` title) added;
3. 2026-03-15 16:45 — `slow-ci` moved to `repeat`;
4. 2026-04-01 08:00 — `slow-ci`'s text edited, stage unchanged, and `old-cycle` moved from
   loops/archive/ to loops/2025/ (neither may move a date).
Built once with git; then the same files as a plain folder (no git) with `site_url` set.
Feeds are read with feedparser (Atom, bozo 0) and json (JSON Feed); every entry link, resolved
against the feed's own URL path as a reader would, must name a page of the built site.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import shutil
import xml.etree.ElementTree as ET
from pathlib import Path
from urllib.parse import urljoin, urlparse

import feedparser
import pytest

from conftest import TODAY, make_base
from gitrepo import GitRepo
from kb import feeds
from kb.history import FileHistory, History
from kb.pipeline import check
from kb.settings import load_settings
from kb.views import Views
from site_helpers import FIXED_NOW, run_kb

C1, C2, C3, C4 = (
    "2026-01-06T10:00:00+00:00",
    "2026-02-10T11:30:00+00:00",
    "2026-03-15T16:45:00+00:00",
    "2026-04-01T08:00:00+00:00",
)
EVIL = "Noisy <script>alert(1)</script> & alerts"
SLOW = "loops/2026/2026-01-05-slow-ci/"
OLD = "loops/2025/2025-12-20-old-cycle/"
NOISY = "loops/2026/2026-02-01-noisy/"
STEPS = ("Observe", "Reflect", "Design", "Implement", "Repeat")


def loop(title: str, date: str, stage: str, principles: str, product: str | None, extra: str = "") -> str:
    front = f"---\ntitle: {json.dumps(title)}\ndate: {date}\nstage: {stage}\nprinciples: [{principles}]\n"
    front += f"product: {product}\n" if product else ""
    sections = "".join(
        f"## {n}. {s}\n\nNotes on {s.lower()}.{extra}\n\n"
        for n, s in enumerate(STEPS[: STEPS.index(stage.capitalize()) + 1], 1)
    )
    return front + "authors: [Ana Lima]\n---\n\n" + sections


def product(title: str) -> str:
    return (
        f"---\ntitle: {title}\nsummary: A product.\nproblem: A problem.\nusers: [Builders]\n"
        "owner: Team\nstatus: live\n---\n\nText.\n"
    )


BASE = {
    "content/index.md": "---\ntitle: Team Handbook\n---\n\nHello.\n",
    "content/principles/ownership.md": "---\ntitle: Ownership\nsummary: Own it.\n---\n\nText.\n",
    "content/principles/root-cause.md": "---\ntitle: Root cause\nsummary: Fix causes.\n---\n\nText.\n",
    "content/products/journal.md": product("Journal"),
    "content/products/inbox.md": product("Inbox"),
}
SLOW_PATH = "content/" + SLOW.rstrip("/") + ".md"


def slow(stage: str, extra: str = "") -> dict[str, str]:
    return {SLOW_PATH: loop("Slow CI", "2026-01-05", stage, "ownership", "journal", extra)}


@pytest.fixture(scope="module")
def repo(tmp_path_factory: pytest.TempPathFactory) -> GitRepo:
    repo = GitRepo(tmp_path_factory.mktemp("feeds") / "hb")
    repo.write(
        {
            **BASE,
            **slow("observe"),
            "content/loops/archive/2025-12-20-old-cycle.md": loop(
                "Old cycle", "2025-12-20", "repeat", "ownership, root-cause", None
            ),
        }
    )
    repo.commit(message="slow-ci observed, old cycle", when=C1)
    repo.write(
        {
            **slow("implement"),
            "content/" + NOISY.rstrip("/") + ".md": loop(
                EVIL, "2026-02-01", "observe", "root-cause", "inbox"
            ),
        }
    )
    repo.commit(message="slow-ci implemented, noisy", when=C2)
    repo.write(slow("repeat"))
    repo.commit(message="slow-ci closed", when=C3)
    repo.write(slow("repeat", " More words."))
    (repo.root / "content/loops/2025").mkdir()
    repo.git("mv", "content/loops/archive/2025-12-20-old-cycle.md", "content/" + OLD.rstrip("/") + ".md")
    repo.commit(message="wording, archive moved", when=C4)
    return repo


@pytest.fixture(scope="module")
def site(repo: GitRepo) -> Path:
    out = repo.root.parent / "site"
    result = run_kb(["build", "--out", str(out)], repo.root, FIXED_NOW)
    assert result.exit_code == 0, result.output
    return out


@pytest.fixture(scope="module")
def plain_site(repo: GitRepo) -> Path:
    """The same handbook copied without .git, with site_url set: no history at all."""
    root = repo.root.parent / "plain"
    shutil.copytree(repo.root / "content", root / "content")
    (root / "pyproject.toml").write_text('[tool.kb]\nsite_url = "https://hb.example.org/team/"\n', "utf-8")
    out = repo.root.parent / "plain-site"
    result = run_kb(["build", "--out", str(out)], root, FIXED_NOW)
    assert result.exit_code == 0, result.output
    assert "KB701" in result.output  # said once, never fatal
    return out


def atom(site: Path, key: str) -> feedparser.FeedParserDict:
    raw = (site / f"{key}.xml").read_bytes()
    parsed = feedparser.parse(raw)
    assert parsed.bozo == 0, parsed.get("bozo_exception")
    assert parsed.version == "atom10"
    return parsed


def jfeed(site: Path, key: str) -> dict:
    data = json.loads((site / f"{key}.json").read_text(encoding="utf-8"))
    assert data["version"] == "https://jsonfeed.org/version/1.1"
    return data


def event(entry_id: str) -> str:
    return entry_id.rsplit(":", 1)[1] if entry_id.startswith("urn:") else entry_id.rsplit("#", 1)[1]


def page_of(site: Path, feed_key: str, href: str, base: str = "https://x.test/") -> str:
    """The site path `href` names, resolved as a reader does against the feed's URL; it must exist."""
    absolute = urljoin(urljoin(base, feed_key + ".xml"), href)
    assert absolute.startswith(base), absolute
    path = urlparse(absolute).path[len(urlparse(base).path) :]
    target = site / path / "index.html" if path.endswith("/") or not path else site / path
    assert target.is_file(), f"{href} in {feed_key} → {path}: no such page"
    return path


def atom_entries(site: Path, key: str) -> list[tuple[str, str, str]]:
    """(event, updated, page path) of each entry, in feed order."""
    return [(event(e.id), e.updated, page_of(site, key, e.link)) for e in atom(site, key).entries]


def json_entries(site: Path, key: str) -> list[tuple[str, str, str]]:
    return [
        (event(i["id"]), i["date_published"], page_of(site, key, i["url"])) for i in jfeed(site, key)["items"]
    ]


ALL = [
    ("repeat", C3, SLOW),
    ("started", C2, NOISY),
    ("implement", C2, SLOW),
    ("started", C1, SLOW),
    ("repeat", C1, OLD),
    ("implement", C1, OLD),
    ("started", C1, OLD),
]


@pytest.mark.parametrize("reader", [atom_entries, json_entries], ids=["atom", "json"])
def test_handbook_feed_entries_with_commit_dates(site: Path, reader) -> None:  # noqa: ANN001
    assert reader(site, "feeds/loops") == ALL


@pytest.mark.parametrize(
    ("key", "wanted"),
    [
        ("feeds/products/journal", [e for e in ALL if e[2] == SLOW]),
        ("feeds/products/inbox", [e for e in ALL if e[2] == NOISY]),
        ("feeds/principles/ownership", [e for e in ALL if e[2] in (SLOW, OLD)]),
        ("feeds/principles/root-cause", [e for e in ALL if e[2] in (NOISY, OLD)]),
    ],
)
def test_product_and_principle_feeds_hold_only_their_loops(site: Path, key: str, wanted: list) -> None:
    assert atom_entries(site, key) == wanted
    assert json_entries(site, key) == wanted


def test_feed_metadata(site: Path) -> None:
    parsed = atom(site, "feeds/loops")
    assert parsed.feed.title == "Team Handbook: loop cycles"
    assert parsed.feed.updated == C3
    assert page_of(site, "feeds/loops", parsed.feed.link) == "loops/"
    titles = [e.title for e in parsed.entries]
    assert titles[:2] == ["Loop closed: Slow CI", f"New loop: {EVIL}"]
    assert {a.name for e in parsed.entries for a in e.authors} == {"Ana Lima"}
    journal = atom(site, "feeds/products/journal")
    assert journal.feed.title == "Journal: loop cycles"
    assert page_of(site, "feeds/products/journal", journal.feed.link) == "products/journal/"
    data = jfeed(site, "feeds/principles/root-cause")
    assert page_of(site, "feeds/principles/root-cause", data["home_page_url"]) == "principles/root-cause/"
    assert (
        page_of(site, "feeds/principles/root-cause", data["feed_url"]) == "feeds/principles/root-cause.json"
    )


def test_markup_in_a_title_is_escaped(site: Path) -> None:
    raw = (site / "feeds/loops.xml").read_text(encoding="utf-8")
    assert "<script>" not in raw
    assert "New loop: Noisy &lt;script&gt;alert(1)&lt;/script&gt; &amp; alerts" in raw
    assert f"New loop: {EVIL}" in [i["title"] for i in jfeed(site, "feeds/loops")["items"]]
    assert "<script>" not in (site / "feeds/products/inbox.xml").read_text(encoding="utf-8")


def alternates(html: str) -> list[tuple[str, str]]:
    head = html.split("</head>", 1)[0]
    links = re.findall(r'<link rel="alternate" type="([^"]+)"[^>]*href="([^"]+)"', head)
    return [(t, h) for t, h in links if "feed" in t or "atom" in t]


@pytest.mark.parametrize(
    ("page", "own"),
    [
        ("", None),
        ("loops/", None),
        ("principles/ownership/", "feeds/principles/ownership"),
        ("products/inbox/", "feeds/products/inbox"),
        (SLOW, None),
    ],
)
def test_pages_announce_their_feeds_in_head(site: Path, page: str, own: str | None) -> None:
    links = alternates((site / page / "index.html").read_text(encoding="utf-8"))
    resolved = [(t, urljoin("https://x.test/" + page, h)) for t, h in links]
    want = [
        ("application/atom+xml", "https://x.test/feeds/loops.xml"),
        ("application/feed+json", "https://x.test/feeds/loops.json"),
    ]
    if own:
        want += [
            ("application/atom+xml", f"https://x.test/{own}.xml"),
            ("application/feed+json", f"https://x.test/{own}.json"),
        ]
    assert resolved == want
    for _t, url in resolved:
        assert (site / urlparse(url).path.lstrip("/")).is_file()


def test_feed_links_on_pages_resolve(site: Path) -> None:
    html = (site / "products/journal/index.html").read_text(encoding="utf-8")
    hrefs = re.findall(r'href="([^"]*feeds/[^"]+)"', html.split("</head>", 1)[1])
    assert sorted({urljoin("https://x.test/products/journal/", h) for h in hrefs}) == [
        "https://x.test/feeds/products/journal.json",
        "https://x.test/feeds/products/journal.xml",
    ]


def test_without_git_dates_come_from_the_loops_and_links_are_absolute(plain_site: Path) -> None:
    base = "https://hb.example.org/team/"
    day = {
        SLOW: "2026-01-05T00:00:00+00:00",
        OLD: "2025-12-20T00:00:00+00:00",
        NOISY: "2026-02-01T00:00:00+00:00",
    }
    want = [
        ("started", day[NOISY], NOISY),
        ("repeat", day[SLOW], SLOW),
        ("implement", day[SLOW], SLOW),
        ("started", day[SLOW], SLOW),
        ("repeat", day[OLD], OLD),
        ("implement", day[OLD], OLD),
        ("started", day[OLD], OLD),
    ]
    parsed = atom(plain_site, "feeds/loops")
    assert [
        (event(e.id), e.updated, page_of(plain_site, "feeds/loops", e.link, base)) for e in parsed.entries
    ] == want
    assert all(e.link.startswith(base) and e.id.startswith(base) for e in parsed.entries)
    assert parsed.feed.id == base + "feeds/loops.xml"
    assert {lk.rel: lk.href for lk in parsed.feed.links} == {
        "self": base + "feeds/loops.xml",
        "alternate": base + "loops/",
    }
    data = jfeed(plain_site, "feeds/products/journal")
    assert data["feed_url"] == base + "feeds/products/journal.json"
    assert data["home_page_url"] == base + "products/journal/"
    assert [(event(i["id"]), i["url"]) for i in data["items"]] == [
        ("repeat", base + SLOW),
        ("implement", base + SLOW),
        ("started", base + SLOW),
    ]


# -- unit tests: entries, feeds and documents from views, without building a site -------------

UNIT_LOOP = "content/loops/2026/2026-11-23-slow-ci.md"  # conftest's loop: stage repeat, product kb
UNIT_NEW = "content/loops/2026/2026-11-28-new.md"
UNIT_FILES = {
    UNIT_NEW: (
        "---\ntitle: New <b>one</b>\ndate: 2026-11-28\nstage: observe\nprinciples: [ownership]\n"
        "authors: [Ana]\n---\n\n## 1. Observe\n\nSaw it.\n"
    )
}


def unit_views(tmp_path: Path, history: History | None = None) -> Views:
    checked = check(load_settings(make_base(tmp_path, UNIT_FILES)), TODAY)
    return Views(checked.graph, history)


def at(stamp: str) -> int:
    return int(dt.datetime.fromisoformat(stamp).timestamp())


def test_entries_without_git_come_from_each_loops_date(tmp_path: Path) -> None:
    views = unit_views(tmp_path)
    got = [(e.loop.id, e.event, e.when.isoformat()) for e in feeds.entries(views, {})]
    assert got == [
        ("2026-11-28-new", "started", "2026-11-28T00:00:00+00:00"),
        ("2026-11-23-slow-ci", "repeat", "2026-11-23T00:00:00+00:00"),  # reached: no later date known
        ("2026-11-23-slow-ci", "implement", "2026-11-23T00:00:00+00:00"),
        ("2026-11-23-slow-ci", "started", "2026-11-23T00:00:00+00:00"),
    ]


def test_entries_with_history_use_the_stage_log_under_every_name(tmp_path: Path) -> None:
    old_name = "content/loops/2025/2026-11-23-slow-ci.md"
    history = History(
        {
            UNIT_LOOP: FileHistory(
                dt.date(2026, 11, 23), dt.date(2026, 11, 30), ("Bo",), "Bo", 3, False, (old_name,)
            )
        },
        available=True,
        shallow=False,
        findings=(),
    )
    stages = {
        old_name: [(at("2026-11-23T09:15:00+00:00"), "observe"), (at("2026-11-25T10:00:00+00:00"), "design")],
        UNIT_LOOP: [(at("2026-11-29T12:00:00+00:00"), "repeat")],  # implement skipped: reached at repeat
    }
    views = unit_views(tmp_path, history)
    got = [
        (e.event, e.when.isoformat())
        for e in feeds.entries(views, stages)
        if e.loop.id == "2026-11-23-slow-ci"
    ]
    assert got == [
        ("repeat", "2026-11-29T12:00:00+00:00"),
        ("implement", "2026-11-29T12:00:00+00:00"),
        ("started", "2026-11-23T09:15:00+00:00"),  # the first stage line, made the day it was added
    ]


def test_feeds_per_product_and_principle_and_their_documents(tmp_path: Path) -> None:
    views = unit_views(tmp_path)
    all_feeds = feeds.feeds(views, feeds.entries(views, {}))
    by_key = {f.key: f for f in all_feeds}
    assert list(by_key) == ["feeds/loops", "feeds/products/kb", "feeds/principles/ownership"]
    assert by_key["feeds/loops"].title == "Home: loop cycles" and by_key["feeds/loops"].page == "loops/index"
    assert {e.loop.id for e in by_key["feeds/products/kb"].entries} == {"2026-11-23-slow-ci"}
    assert len(by_key["feeds/principles/ownership"].entries) == 4

    ns = {"a": "http://www.w3.org/2005/Atom"}
    root = ET.fromstring(feeds.atom(by_key["feeds/loops"], views, ""))
    assert root.findtext("a:id", namespaces=ns) == "urn:kb:feeds/loops"
    first = root.find("a:entry", ns)
    assert first is not None
    assert first.findtext("a:title", namespaces=ns) == "New loop: New <b>one</b>"  # text, escaped in XML
    assert first.find("a:link", ns).get("href") == "../loops/2026/2026-11-28-new/"
    assert first.findtext("a:author/a:name", namespaces=ns) == "Ana"
    assert "Principles: Ownership" in (first.findtext("a:summary", namespaces=ns) or "")

    site = "https://hb.example/"
    data = json.loads(feeds.json_feed(by_key["feeds/products/kb"], views, site))
    assert data["feed_url"] == site + "feeds/products/kb.json"
    assert data["home_page_url"] == site + "products/kb/"
    assert [i["id"] for i in data["items"]] == [
        site + "loops/2026/2026-11-23-slow-ci/#" + event for event in ("repeat", "implement", "started")
    ]
    assert data["items"][0]["tags"] == ["repeat"] and data["items"][0]["authors"] == []
