"""Tags: kb writes the list of tags and a page per tag itself, as plain markdown (kb.emit).

Material's tags plugin lists every tagged page on one page and needs every tagged page read
by MkDocs to do it, which a cached or shared render otherwise leaves unread; kb's own pages
are bounded like its other listings (a tag's latest `LATEST` loop cycles, then a page per
year). A tag's page is `tags/<slug>`, a function of the tag's text alone (kb.views.tag_key).
"""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

import pytest

from conftest import TODAY, make_base
from kb import emit
from kb.pipeline import check
from kb.settings import load_settings
from kb.views import LATEST, TAG_SLUG_MAX, tag_key

SECTIONS = "## 1. Observe\n\nSaw it.\n"


def _sha(text: str) -> str:
    return hashlib.sha1(text.encode("utf-8")).hexdigest()[:8]


def test_a_tag_written_as_its_slug_is_its_slug() -> None:
    assert tag_key("speed") == "tags/speed"
    assert tag_key("user-research") == "tags/user-research"
    assert tag_key("2024") == "tags/2024"


def test_any_other_tag_gets_its_readable_part_and_a_hash() -> None:
    assert tag_key("Speed") == f"tags/speed--{_sha('Speed')}"
    assert tag_key("data science") == f"tags/data-science--{_sha('data science')}"
    assert tag_key("a/b") == f"tags/a-b--{_sha('a/b')}"
    assert tag_key("日本語") == f"tags/tag--{_sha('日本語')}"
    assert tag_key("index") == f"tags/index--{_sha('index')}"  # tags/index lists the tags
    assert tag_key("  data   science ") == tag_key("data science")  # as pages show it


ODD_TAGS = [
    "speed",
    "Speed",
    "SPEED",
    "speed-",
    "-speed",
    "spéed",
    "speed--1",
    "a/b",
    "a b",
    "a-b",
    "A-B",
    "../../etc/passwd",
    "%2e%2e",
    "日本語",
    "中文",
    "🙂",
    "<script>",
    "index",
    "Index",
    "x" * 300,
    "x" * 300 + "y",
    "tags/../x",
]


def test_tag_keys_are_unique_and_safe_file_names() -> None:
    keys = [tag_key(tag) for tag in ODD_TAGS]
    assert len(set(keys)) == len(ODD_TAGS)
    for key in keys:
        assert re.fullmatch(r"tags/[a-z0-9]+(-[a-z0-9]+)*(--[0-9a-f]{8})?", key), key
        assert len(key) <= len("tags/") + TAG_SLUG_MAX + 10 and key != "tags/index"


def _tree(tmp_path: Path, files: dict[str, str]) -> dict[str, str]:
    settings = load_settings(make_base(tmp_path, files))
    checked = check(settings, TODAY)
    tree = emit.render_tree(checked.graph, None, settings, {}, TODAY)
    return {rel: data.decode("utf-8") for rel, data in tree.files.items()}


def _loop(day: str, tags: str) -> str:
    return (
        f"---\ntitle: Cycle {day}\ndate: {day}\nstage: observe\nprinciples: [ownership]\n"
        f"tags: {tags}\n---\n\n{SECTIONS}"
    )


def test_tag_pages_count_and_list_their_pages(tmp_path: Path) -> None:
    files = {
        "content/handbook/a.md": "---\ntitle: Zebra guide\ntags: [speed, Speed, speed]\n---\n\n# Zebra\n",
        "content/handbook/b.md": "---\ntitle: Apple guide\ntags: ['日本語', speed]\n---\n\n[[handbook/a]]\n",
        "content/loops/2026/2026-11-02-tagged.md": _loop("2026-11-02", "[speed]"),
        "content/handbook/c.md": "---\ntitle: Table\ntags: [speed]\n---\n| a |\n|---|\n| 1 |\n\n[[handbook/a]]\n",
    }
    tree = _tree(tmp_path, files)
    assert "tags.md" not in tree
    index = tree["tags/index.md"]
    rows = [line for line in index.splitlines() if line.startswith("| [")]
    speed2, japanese = tag_key("Speed")[5:], tag_key("日本語")[5:]
    assert rows == [
        f"| [Speed]({speed2}.md) | 1 |",  # case aside, then as written
        "| [speed](speed.md) | 4 |",
        f"| [日本語]({japanese}.md) | 1 |",
    ]
    page = tree["tags/speed.md"]
    assert "4 pages tagged *speed* ([all tags](index.md))." in page
    assert page.index("[Apple guide](../handbook/b.md)") < page.index("[Zebra guide](../handbook/a.md)")
    assert "[Cycle 2026-11-02](../loops/2026/2026-11-02-tagged.md)" in page
    # each page links its own tags, once each, from its kb line
    a = tree["handbook/a.md"]
    assert f"**Tags** [speed](../tags/speed.md) · [Speed](../tags/{speed2}.md)\n\n# Zebra" in a
    assert "**Tags** [speed](../../tags/speed.md)\n" in tree["loops/2026/2026-11-02-tagged.md"]
    assert "tags:\n- speed\n- Speed\n- speed\n" in a  # the frontmatter keeps them for search
    assert "**Tags** [speed](../tags/speed.md)\n\n| a |" in tree["handbook/c.md"]  # not in the table


def test_a_tag_with_many_loops_lists_the_latest_and_links_its_years(tmp_path: Path) -> None:
    files = {}
    for i in range(LATEST + 5):
        year = 2025 + i % 2
        day = f"{year}-{1 + i % 12:02d}-{1 + i % 28:02d}"
        files[f"content/loops/{year}/{day}-cycle-{i}.md"] = _loop(day, "[retro]")
    tree = _tree(tmp_path, files)
    page = tree["tags/retro.md"]
    assert "30 loop cycles, by year: [2026 (15)](retro/2026.md) · [2025 (15)](retro/2025.md)." in page
    assert page.count("| [Cycle ") == LATEST
    year = tree["tags/retro/2025.md"]
    assert "15 loop cycles of 2025 tagged [retro](../retro.md)." in year
    assert year.count("| [Cycle 2025-") == 15


def test_no_tags_no_tag_pages(tmp_path: Path) -> None:
    assert not [rel for rel in _tree(tmp_path, {}) if rel.startswith("tags")]


@pytest.mark.parametrize("rel", ["content/tags/speed.md", "content/tags/index.md", "content/tags.md"])
def test_a_content_file_cannot_take_a_tag_page(tmp_path: Path, rel: str) -> None:
    checked = check(load_settings(make_base(tmp_path, {rel: "# Mine\n"})), TODAY)
    assert [(f.path, f.code) for f in checked.findings if f.code == "KB302"] == [(rel, "KB302")]
