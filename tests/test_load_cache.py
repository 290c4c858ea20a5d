"""`kb.load_cache`: a cached load gives what an uncached one gives, edit after edit.

Each step edits the handbook, then loads it the way `kb build` does (`pipeline.run` up to
history, with the cache folder) and the way `kb lint`'s fallback does (`pipeline.check`,
never cached), and holds every finding and every document to be the same: data, scan,
record, body, and the frontmatter positions findings are placed by (parsed again on demand
from a cached document). The files cover what the cache must carry or refuse: dates and
times at any depth, aliases, odd keys, broken YAML, a page whose icon is looked up in the
theme, CRLF and a BOM, files that are no document, suppressions and unsafe HTML.
"""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import pytest

from conftest import BASE, LOOP, PRINCIPLE, TODAY, TODAY_EPOCH, make_base
from gitrepo import GitRepo
from kb import load_cache, pipeline
from kb.settings import load_settings
from site_helpers import run_kb

EXTRA: dict[str, str | bytes] = {
    "content/loops/2026/2026-11-01-dates.md": """\
---
title: Dates everywhere
date: 2026-11-01
stage: design
principles: [ownership]
product: kb
feedback:
  - source: a call
    quote: "It broke on 2026-10-30"
    url: https://example.com/x
extra:
  when: 2026-11-02T10:30:00+02:00
  days: [2026-11-03, 2026-11-04 08:00:00]
  nested: {at: 2026-11-05, n: 3, f: 1.5, b: true, none: null}
---

## 1. Observe

Seen on [[ownership]] and [the card](../../products/kb.md#missing-anchor).
<!-- kb: ignore KB407 -->
""",
    "content/loops/2026/2026-11-02-broken.md": "---\ntitle: [unclosed\ndate: 2026-11-02\n---\n\nbody\n",
    "content/loops/2026/2026-11-03-dupes.md": "---\ntitle: A\ntitle: B\ndate: 2026-11-03\n---\n\nx\n",
    "content/loops/2026/2026-11-04-aliases.md": """\
---
title: &t Aliased
date: 2026-11-04
stage: observe
principles: &p [ownership, nobody]
tags: *p
summary: *t
---

<script>alert(1)</script>
""",
    "content/pages/icon.md": "---\ntitle: Icon\nicon: material/no-such-icon-here\n---\n\n# Icon\n",
    "content/pages/keys.md": "---\ntitle: Keys\n1: one\ntrue: yes\n2026-01-01: day\n---\n\ntext\n",
    "content/pages/crlf.md": b"\xef\xbb\xbf---\r\ntitle: CRLF\r\n---\r\n\r\n# CRLF\r\n",
    "content/pages/plain.md": "# Just a page\n\nNo frontmatter, a [link](nowhere.md).\n",
    "content/pages/empty.md": "---\n---\n\nEmpty frontmatter.\n",
    "content/pages/latin1.md": b"---\ntitle: caf\xe9\n---\n",
    "content/pages/nul.md": b"---\ntitle: x\n---\n\x00\n",
    "content/notes.txt": "an asset\n",
}


def loads(root: Path, today: dt.date = TODAY) -> tuple[pipeline.Checked, pipeline.Checked]:
    """The handbook checked as `kb build` does (cached) and as uncached."""
    settings = load_settings(root)
    options = pipeline.Options(until=pipeline.Step.HISTORY, today=today, history=False)
    return pipeline.run(settings, options).checked, pipeline.check(settings, today)


def assert_same(cached: pipeline.Checked, plain: pipeline.Checked) -> None:
    one, two = cached.corpus, plain.corpus
    assert (one.files, one.assets) == (two.files, two.assets)
    assert repr(one.findings) == repr(two.findings)
    assert repr(one.checked) == repr(two.checked)
    assert repr(cached.findings) == repr(plain.findings)
    assert [d.path for d in one.documents] == [d.path for d in two.documents]
    for a, b in zip(one.documents, two.documents, strict=True):
        assert a == b, a.path
        for name in ("rel", "collection", "id", "body", "body_line", "readable"):
            assert getattr(a, name) == getattr(b, name), (a.path, name)
        assert repr(a.front.data) == repr(b.front.data), a.path
        assert repr(a.scan) == repr(b.scan), a.path
        assert repr(a.info) == repr(b.info), a.path
        for table in ("keys", "values", "scalars"):
            assert dict(getattr(a.front, table)) == dict(getattr(b.front, table)), (a.path, table)


def shards(root: Path) -> list[Path]:
    return sorted((root / ".kb-cache" / "load").glob("*.bin"))


def test_cached_loads_match_uncached_edit_after_edit(tmp_path: Path) -> None:
    root = make_base(tmp_path, EXTRA)
    assert_same(*loads(root))  # the first run fills the cache
    assert shards(root)
    assert_same(*loads(root))  # the second reads it

    loop = root / LOOP
    text = loop.read_text(encoding="utf-8")
    loop.write_text(text.replace("title: ", "title: Retitled ", 1), "utf-8")
    assert_same(*loads(root))
    loop.write_text(text.replace("date:", "date: not-a-date\nwhen:", 1), "utf-8")  # broken, then fixed
    assert_same(*loads(root))
    loop.write_text(text, "utf-8")
    assert_same(*loads(root))

    broken = root / "content/loops/2026/2026-11-02-broken.md"
    broken.write_text(
        "---\ntitle: fixed\ndate: 2026-11-02\nstage: observe\nprinciples: [ownership]\n---\n\nx\n"
    )
    (root / "content/pages/plain.md").unlink()  # a deleted file, and a new one
    (root / "content/pages/new.md").write_text("---\ntitle: New\n---\n\n[[ownership#why-it-matters]]\n")
    (root / PRINCIPLE).write_text(BASE[PRINCIPLE].replace("## Why it matters", "## Why"), "utf-8")
    assert_same(*loads(root))
    assert_same(*loads(root))


def test_the_day_is_counted_again_from_a_cached_document(tmp_path: Path) -> None:
    """KB602 counts days up to today: a cache written one day serves the next."""
    root = make_base(tmp_path, EXTRA)
    early, late = dt.date(2026, 11, 10), dt.date(2027, 6, 1)
    assert_same(*loads(root, early))
    cached, plain = loads(root, late)
    assert_same(cached, plain)
    stale = {f.path for f in cached.findings if f.code == "KB602"}
    assert "content/loops/2026/2026-11-01-dates.md" in stale  # the cache held no stale finding
    assert_same(*loads(root, early))


def test_settings_and_markdown_config_key_the_cache(tmp_path: Path) -> None:
    root = make_base(tmp_path, EXTRA)
    assert_same(*loads(root))
    (root / "kb.toml").write_text("allow_embeds = false\nmax_yaml_nodes = 3\n")
    assert_same(*loads(root))
    (root / "mkdocs.yml").write_text("site_name: x\nmarkdown_extensions: [toc, attr_list]\n")
    assert_same(*loads(root))


@pytest.mark.parametrize("damage", ["truncate", "flip", "garbage", "empty", "folder"])
def test_a_damaged_cache_is_parsed_again(tmp_path: Path, damage: str) -> None:
    root = make_base(tmp_path, EXTRA)
    assert_same(*loads(root))
    for shard in shards(root):
        data = shard.read_bytes()
        if damage == "truncate":
            shard.write_bytes(data[: len(data) // 2])
        elif damage == "flip":
            shard.write_bytes(data[:-3] + bytes([data[-3] ^ 0xFF]) + data[-2:])
        elif damage == "garbage":
            shard.write_bytes(load_cache.MAGIC + b"\0" * 200)
        elif damage == "empty":
            shard.write_bytes(b"")
        else:
            shard.unlink()
            shard.mkdir()
    assert_same(*loads(root))
    assert_same(*loads(root))


def test_an_entry_of_another_shape_is_parsed_again(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A shard that passes its checks but holds entries this code did not write (a bug, a
    format change without a bumped number) costs a parse, never a wrong document."""
    root = make_base(tmp_path, EXTRA)
    assert_same(*loads(root))
    store = load_cache._Store(root / ".kb-cache" / "load", load_cache._key(load_settings(root)))
    for rel, entry in store.all().items():
        store.put(rel, (entry[0], *(("odd",) * (len(entry) - 1))))
    store.save()
    assert_same(*loads(root))


def test_a_page_whose_validation_reads_the_theme_is_never_kept(tmp_path: Path) -> None:
    """A page's icon is looked up among the theme's files, which the key does not cover: such
    a page is parsed every time. Every other file of the handbook is kept (odd keys, dates,
    aliases, CRLF and broken YAML included): the cache is of use."""
    root = make_base(tmp_path, EXTRA)
    loads(root)
    store = load_cache._Store(root / ".kb-cache" / "load", load_cache._key(load_settings(root)))
    kept = set(store.all())
    documents = {p.relative_to(root / "content").as_posix() for p in (root / "content").rglob("*.md")}
    no_document = {"pages/latin1.md", "pages/nul.md"}  # findings only: read again, cheaply
    assert kept == documents - {"pages/icon.md"} - no_document


def test_only_build_and_serve_write_the_cache(tmp_path: Path) -> None:
    root = make_base(tmp_path, EXTRA)
    settings = load_settings(root)
    pipeline.check(settings, TODAY)
    pipeline.lint_check(settings, TODAY)
    assert not (root / ".kb-cache").exists()
    pipeline.run(settings, pipeline.Options(until=pipeline.Step.HISTORY, today=TODAY, history=False))
    assert shards(root)


def test_a_cache_folder_that_cannot_be_written_is_only_slower(tmp_path: Path) -> None:
    root = make_base(tmp_path, EXTRA)
    (root / ".kb-cache").mkdir()
    (root / ".kb-cache" / "load").write_text("a file where the folder goes")
    assert_same(*loads(root))


FINDING = re.compile(r"^\S+:\d+:\d+: KB\d{3} ")


def test_kb_build_reports_what_kb_lint_reports_edit_after_edit(tmp_path: Path) -> None:
    """Through the CLI in a git repository: each cached `kb build` prints the findings
    `kb lint` prints for the same tree."""
    repo = GitRepo(tmp_path / "hb")
    files = {**BASE, **{k: v for k, v in EXTRA.items() if k != "content/pages/icon.md"}}
    repo.write(files)
    repo.commit(message="handbook")
    env = {"SOURCE_DATE_EPOCH": TODAY_EPOCH}

    def same() -> None:
        built = run_kb(["build", "-q"], repo.path, env)
        linted = run_kb(["lint", "--format", "text"], repo.path, env)
        lines = sorted(line for line in built.stderr.splitlines() if FINDING.match(line))
        assert lines == sorted(line for line in linted.stdout.splitlines() if FINDING.match(line))
        assert lines  # the handbook has findings to compare

    same()
    loop = repo.path / LOOP
    loop.write_text(loop.read_text(encoding="utf-8").replace("stage:", "stage: nope\nold_stage:", 1), "utf-8")
    same()
    (repo.path / "content/loops/2026/2026-11-02-broken.md").write_text("---\ntitle: ok\n---\n")
    same()
    assert shards(repo.path)
