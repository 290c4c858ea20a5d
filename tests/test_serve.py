"""`kb serve`'s rebuild session (kb.serve.Session), without the HTTP server.

The first rebuild renders everything; an edit to one loop's body re-emits that loop alone
and MkDocs re-renders only it (a dirty build), while the merged search index keeps every
page; a title shown in the nav changes every page, so it takes a full render. In a git
repository the session reads history as `kb build` does, and again when a commit moves HEAD.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from gitrepo import GitRepo
from kb.serve import SEARCH_INDEX, Session, watched
from kb.settings import load_settings
from site_helpers import SMALL, mtimes, run_kb, write_tree

LOOP = "content/loops/2026/2026-01-10-notes-survive.md"
LOOP_HTML = "loops/2026/2026-01-10-notes-survive/index.html"


@pytest.fixture
def session(tmp_path: Path) -> Session:
    root = write_tree(tmp_path / "hb", SMALL)
    return Session(load_settings(root), tmp_path / "site")


def search_docs(session: Session) -> list[dict]:
    return json.loads((session.site_dir / SEARCH_INDEX).read_text(encoding="utf-8"))["docs"]


def edit(session: Session, rel: str, old: str, new: str) -> None:
    path = session.settings.root / rel
    text = path.read_text(encoding="utf-8")
    assert old in text
    path.write_text(text.replace(old, new), encoding="utf-8")


def nav_titles(html: str) -> list[str]:
    nav = html[html.index('<nav class="md-nav md-nav--primary"') :]
    return sorted(set(re.findall(r'<span class="md-ellipsis">\s*(.*?)\s*</span>', nav, re.S)))


def test_first_rebuild_is_full(session: Session) -> None:
    result = session.rebuild()
    assert result.full
    assert "principles/ownership.md" in result.changed and "kb.json" in result.changed
    assert (session.site_dir / LOOP_HTML).is_file()
    assert session.rebuild().changed == ()  # nothing changed, nothing re-emitted


def test_editing_a_loop_body_re_renders_only_that_loop(session: Session) -> None:
    session.rebuild()
    before_docs = search_docs(session)
    before_html = mtimes(session.site_dir)
    page_before = (session.site_dir / LOOP_HTML).read_text(encoding="utf-8")
    edit(session, LOOP, "Search is built in.", "Search is built in, zanzibar included.")
    result = session.rebuild()
    assert not result.full
    assert result.changed == ("loops/2026/2026-01-10-notes-survive.md",)
    page = (session.site_dir / LOOP_HTML).read_text(encoding="utf-8")
    assert "zanzibar included" in page
    assert nav_titles(page) == nav_titles(page_before)  # unchanged pages keep their nav titles
    after_html = mtimes(session.site_dir)
    rewritten = {k for k in after_html if after_html[k] != before_html.get(k) and k.endswith(".html")}
    assert rewritten - {"404.html"} == {LOOP_HTML}  # MkDocs writes its 404 page on every build
    docs = search_docs(session)
    assert len(docs) == len(before_docs)
    assert {d["location"] for d in docs} == {d["location"] for d in before_docs}
    assert any("zanzibar included" in d["text"] for d in docs)
    assert not any("zanzibar" in d["text"] for d in before_docs)


def test_editing_a_loop_title_re_emits_the_pages_that_show_it(session: Session) -> None:
    session.rebuild()
    edit(session, LOOP, "title: Notes survive", "title: Notes now survive")
    result = session.rebuild()
    assert not result.full  # loops are not in the nav
    assert set(result.changed) >= {
        "loops/2026/2026-01-10-notes-survive.md",
        "loops/index.md",
        "loops/2026/01/index.md",  # the month lists the loop; the year counts months
        "loops/2025/2025-12-01-lost-notes.md",
        "loops/2026/2026-02-20-duplicate-cycles.md",
        "principles/ownership.md",
        "principles/root-cause.md",
        "products/journal.md",
        "people/ana-lima.md",
        "people/ben-okafor.md",
        "kb.json",
    }
    assert "principles/index.md" not in result.changed  # it counts loops, it does not name them
    html = (session.site_dir / "principles/ownership/index.html").read_text(encoding="utf-8")
    assert "Notes now survive" in html


def test_changing_a_principle_title_takes_a_full_render(session: Session) -> None:
    session.rebuild()
    edit(session, "content/principles/ownership.md", "title: Ownership", "title: Full ownership")
    result = session.rebuild()
    assert result.full
    for rel in ("principles/index.html", "principles/root-cause/index.html"):  # their section's nav
        titles = nav_titles((session.site_dir / rel).read_text(encoding="utf-8"))
        assert "Full ownership" in titles and "Ownership" not in titles, rel
    assert any(d["title"] == "Full ownership" for d in search_docs(session))


def test_a_new_loop_is_rendered_and_searchable(session: Session) -> None:
    session.rebuild()
    count = len(search_docs(session))
    new = session.settings.root / "content/loops/2026/2026-03-05-new-cycle.md"
    new.write_text(
        "---\ntitle: New cycle\ndate: 2026-03-05\nstage: observe\nprinciples: [ownership]\n---\n\n"
        "## Observe\n\nQuokkas everywhere.\n",
        encoding="utf-8",
    )
    result = session.rebuild()
    assert "loops/2026/2026-03-05-new-cycle.md" in result.changed
    assert (session.site_dir / "loops/2026/2026-03-05-new-cycle/index.html").is_file()
    docs = search_docs(session)
    assert len(docs) > count and any("Quokkas everywhere" in d["text"] for d in docs)


def test_a_deleted_page_takes_a_full_render(session: Session) -> None:
    session.rebuild()
    (session.settings.root / "content/handbook/cost_estimation.md").unlink()
    edit(
        session,
        "content/handbook/guide.md",
        "See also [cost estimation](cost_estimation.md#how-we-estimate).",
        "",
    )
    result = session.rebuild()
    assert result.full
    assert not (session.site_dir / "handbook/cost_estimation/index.html").exists()
    assert not any(d["location"].startswith("handbook/cost_estimation/") for d in search_docs(session))


def test_changing_mkdocs_yml_takes_a_full_render(session: Session) -> None:
    session.rebuild()
    (session.settings.root / "mkdocs.yml").write_text(
        "site_name: Renamed\ntheme:\n  name: material\n  font: false\nplugins: [search]\n", encoding="utf-8"
    )
    result = session.rebuild()
    assert result.full
    assert "Renamed" in (session.site_dir / LOOP_HTML).read_text(encoding="utf-8")


def test_a_shared_first_render_then_an_edit_keep_the_full_index(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The first build renders in two processes (their indexes merged); an edit after it still
    re-renders one page and keeps every other page's search entries."""
    monkeypatch.setenv("KB_JOBS", "2")
    shared = Session(load_settings(write_tree(tmp_path / "hb", SMALL)), tmp_path / "site")
    assert shared.rebuild().processes == 2
    monkeypatch.setenv("KB_JOBS", "1")
    alone = Session(load_settings(write_tree(tmp_path / "hb1", SMALL)), tmp_path / "site1")
    alone.rebuild()
    assert search_docs(shared) == search_docs(alone)  # the merged index is the one-process index
    before = search_docs(shared)
    edit(shared, LOOP, "Search is built in.", "Search is built in, quokka included.")
    edited = shared.rebuild()
    assert not edited.full and edited.processes == 1  # MkDocs' dirty build, in one process
    docs = search_docs(shared)
    assert {d["location"] for d in docs} == {d["location"] for d in before}
    assert any("quokka included" in d["text"] for d in docs)


def test_a_page_whose_frontmatter_breaks_keeps_its_last_good_version(session: Session) -> None:
    session.rebuild()
    good = (session.site_dir / LOOP_HTML).read_text(encoding="utf-8")
    edit(session, LOOP, "title: Notes survive", "title: Notes: survive")  # KB103
    result = session.rebuild()
    assert result.kept == (LOOP,)
    assert (LOOP, "KB103") in [(f.path, f.code) for f in result.findings]
    assert (session.site_dir / LOOP_HTML).read_text(encoding="utf-8") == good  # still served
    edit(session, LOOP, "title: Notes: survive", 'title: "Notes: survive"')
    result = session.rebuild()
    assert result.kept == () and not [f for f in result.findings if f.path == LOOP]
    assert "Notes: survive" in (session.site_dir / LOOP_HTML).read_text(encoding="utf-8")


ANA = "Ana Lima <ana@example.com>"
BEN = "Ben Okafor <ben@example.com>"
PRINCIPLE = "content/principles/ownership.md"
PRINCIPLE_HTML = "principles/ownership/index.html"
DUP = "content/loops/2026/2026-02-20-duplicate-cycles.md"
FEED = "feeds/loops.xml"


def built_feed(root: Path, out: Path) -> bytes:
    """The loop feed `kb build` writes for the same repository, as it is now."""
    result = run_kb(["build", "--out", str(out)], root)
    assert result.exit_code == 0, result.output
    return (out / FEED).read_bytes()


def test_a_commit_while_serving_brings_its_authors_dates_and_feed_entries(tmp_path: Path) -> None:
    """The serve session reads git history as `kb build` does (stage dates for the feeds
    included), and again once HEAD moves: a commit of edits already served is enough."""
    root = write_tree(tmp_path / "hb", SMALL)
    repo = GitRepo(root, author=ANA)
    repo.commit("2026-01-05T12:00:00Z", ANA)
    session = Session(load_settings(root), tmp_path / "site")
    session.rebuild()
    html = (session.site_dir / PRINCIPLE_HTML).read_text(encoding="utf-8")
    assert "Last updated 2026-01-05 by Ana Lima · 1 contributor<" in html
    feed = (session.site_dir / FEED).read_bytes()
    assert feed == built_feed(root, tmp_path / "built-before")  # the same feeds as a build

    edit(session, PRINCIPLE, "Owners see problems through.", "Owners see every problem through.")
    edit(session, DUP, "stage: design", "stage: implement")
    session.rebuild()  # served, not committed: the history is the one HEAD had
    assert "by Ana Lima" in (session.site_dir / PRINCIPLE_HTML).read_text(encoding="utf-8")
    assert b"2026-03-10" not in (session.site_dir / FEED).read_bytes()  # no stage date yet

    repo.commit("2026-03-10T09:00:00Z", BEN)  # no file changes after it: only HEAD moved
    session.rebuild()
    html = (session.site_dir / PRINCIPLE_HTML).read_text(encoding="utf-8")
    assert "Last updated 2026-03-10 by Ben Okafor · 2 contributors" in html
    feed = (session.site_dir / FEED).read_bytes()
    assert b"2026-03-10T09:00:00" in feed  # Duplicate cycles reached implement then
    assert feed == built_feed(root, tmp_path / "built-after")


def test_serve_watches_the_log_git_appends_to_when_head_moves(tmp_path: Path) -> None:
    root = write_tree(tmp_path / "hb", SMALL)
    GitRepo(root).commit()
    paths = dict(watched(load_settings(root)))
    assert paths[root / ".git" / "logs" / "HEAD"] is False
    assert paths[root / "content"] is True
