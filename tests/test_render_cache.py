"""A cached build publishes the clean build's site, byte for byte (kb.render_cache).

Each step edits a real handbook in a real git repository, then builds twice through the CLI:
once with the cache the previous builds left (`.kb-cache/`), once clean (the cache moved aside
and put back after). Both sites must hold the same files with the same bytes: every page, the
search index, feeds, kb.json, the sitemap. The one thing made equal from outside is the clock:
both builds run with the same SOURCE_DATE_EPOCH (`FIXED_NOW`), because the sitemap's dates,
its gzip header and the coverage page print the build's date, which two builds a second apart
would print differently. Pages the step did not touch must come from the cache (the same file,
linked), or the test would pass with a cache that never serves.
"""

from __future__ import annotations

import os
import random
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gitrepo import GitRepo
from kb import render_cache
from kb.templating import default_templates
from site_helpers import BOOM, FIXED_NOW, many_loops, run_kb, snapshot, write_tree

LOOPS = "content/loops/2024"


def _build(root: Path, out: Path) -> None:
    result = run_kb(["build", "-q", "--out", str(out)], root, env=FIXED_NOW)
    assert result.exit_code == 0, result.output


def _clean_build(root: Path, out: Path) -> None:
    """The same tree built without any cache (the cached build's cache kept aside)."""
    cache, aside = root / ".kb-cache", root.parent / "cache-aside"
    if cache.exists():
        os.replace(cache, aside)
    try:
        _build(root, out)
    finally:
        shutil.rmtree(cache, ignore_errors=True)
        if aside.exists():
            os.replace(aside, cache)


def _same_sites(root: Path) -> tuple[dict[str, str], dict[str, int]]:
    """Build cached and clean, assert the sites are the same; the cached site's files and inodes."""
    cached, clean = root.parent / "site-cached", root.parent / "site-clean"
    _build(root, cached)
    _clean_build(root, clean)
    a, b = snapshot(cached), snapshot(clean)
    assert a.keys() == b.keys(), (sorted(a.keys() - b.keys())[:5], sorted(b.keys() - a.keys())[:5])
    differ = sorted(rel for rel in a if a[rel] != b[rel])
    assert not differ, differ[:10]
    return a, _inodes(cached)


def _inodes(site: Path) -> dict[str, int]:
    return {p.relative_to(site).as_posix(): p.stat().st_ino for p in site.rglob("*.html")}


def _loops(root: Path) -> list[Path]:
    return sorted((root / LOOPS).glob("*.md"))


# -- edits: each changes the handbook in one way a pull request does ---------------------------


def body_edit(root: Path, repo: GitRepo, rng: random.Random) -> None:
    loop = rng.choice(_loops(root))
    loop.write_text(loop.read_text(encoding="utf-8") + f"\nOne more note {rng.random()}.\n", encoding="utf-8")


def title_change(root: Path, repo: GitRepo, rng: random.Random) -> None:
    path = rng.choice([*_loops(root), root / "content/principles/ownership.md"])
    text = path.read_text(encoding="utf-8")
    start = text.index("title: ") + len("title: ")
    end = text.index("\n", start)
    path.write_text(text[:start] + f"Renamed {rng.randrange(1000)}" + text[end:], encoding="utf-8")


def principles_toggle(root: Path, repo: GitRepo, rng: random.Random) -> None:
    loop = rng.choice(_loops(root))
    text = loop.read_text(encoding="utf-8")
    for one, two in (("[ownership]", "[ownership, root-cause]"), ("[root-cause]", "[ownership, root-cause]")):
        if f"principles: {one}" in text:
            loop.write_text(text.replace(f"principles: {one}", f"principles: {two}"), encoding="utf-8")
            return
    loop.write_text(
        text.replace("principles: [ownership, root-cause]", "principles: [ownership]"), encoding="utf-8"
    )


def new_loop(root: Path, repo: GitRepo, rng: random.Random) -> None:
    n = rng.randrange(10_000)
    (root / LOOPS / f"2024-07-0{1 + n % 9}-added-{n}.md").write_text(
        f"---\ntitle: Added cycle {n}\ndate: 2024-07-0{1 + n % 9}\nstage: observe\n"
        "principles: [ownership]\nproduct: journal\ntags: [added]\n---\n\n## 1. Observe\n\nSeen.\n",
        encoding="utf-8",
    )


def deleted_loop(root: Path, repo: GitRepo, rng: random.Random) -> None:
    loops = [p for p in _loops(root) if "generated" in p.name or "added" in p.name]
    if loops:
        rng.choice(loops).unlink()


def renamed_file(root: Path, repo: GitRepo, rng: random.Random) -> None:
    loops = [p for p in _loops(root) if "generated" in p.name]
    if loops:
        loop = rng.choice(loops)
        loop.rename(loop.with_name(loop.name.replace("generated", f"moved{rng.randrange(100)}")))


def template_change(root: Path, repo: GitRepo, rng: random.Random) -> None:
    partial = root / "templates/overrides/partials/copyright.html"
    partial.parent.mkdir(parents=True, exist_ok=True)
    partial.write_text(f'<div class="md-copyright">Edition {rng.randrange(1000)}</div>\n', encoding="utf-8")


def config_change(root: Path, repo: GitRepo, rng: random.Random) -> None:
    config = (default_templates() / "mkdocs.builtin.yml").read_text(encoding="utf-8")
    config = config.replace("site_name: Handbook", f"site_name: Handbook {rng.randrange(1000)}")
    (root / "mkdocs.yml").write_text(config, encoding="utf-8")


def new_commit(root: Path, repo: GitRepo, rng: random.Random) -> None:
    repo.git("add", "-A")
    repo.git("commit", "-q", "--allow-empty", "-m", f"edit {rng.randrange(1000)}")


EDITS: list[Callable[[Path, GitRepo, random.Random], None]] = [
    body_edit,
    title_change,
    principles_toggle,
    new_loop,
    deleted_loop,
    renamed_file,
    template_change,
    config_change,
    new_commit,
]


def _handbook(tmp_path: Path) -> tuple[Path, GitRepo]:
    root = tmp_path / "handbook"
    write_tree(root, many_loops(8))
    # a folder with a space: its URL is percent-encoded, in the site and in the search index
    write_tree(root, {"content/team notes/field guide.md": "# Field guide\n\n## In the field\n\nNotes.\n"})
    (root / ".gitignore").write_text(".kb-cache/\n", encoding="utf-8")
    repo = GitRepo(root)
    repo.git("add", "-A")
    repo.git("commit", "-q", "-m", "handbook")
    return root, repo


def _run(tmp_path: Path, edits: list[Callable[[Path, GitRepo, random.Random], None]], seed: int) -> None:
    root, repo = _handbook(tmp_path)
    rng = random.Random(seed)
    _same_sites(root)
    for edit in edits:
        _, before = _inodes_of_last(root)
        edit(root, repo, rng)
        _, after = _same_sites(root)
        if edit in (body_edit, principles_toggle, new_loop, deleted_loop, renamed_file):
            # an edit to one loop re-renders a few pages: the rest are the cache's files
            reused = [rel for rel, ino in after.items() if before.get(rel) == ino]
            assert len(reused) > len(after) // 2, (edit.__name__, len(reused), len(after))


def _inodes_of_last(root: Path) -> tuple[Path, dict[str, int]]:
    site = root.parent / "site-cached"
    return site, _inodes(site)


def test_every_edit_once_keeps_the_cached_site_the_clean_site(tmp_path: Path) -> None:
    _run(tmp_path, EDITS, seed=0)


@pytest.mark.slow
@settings(max_examples=4, deadline=None, suppress_health_check=list(HealthCheck))
@given(st.lists(st.sampled_from(EDITS), min_size=2, max_size=6), st.integers(0, 10_000))
def test_random_edit_sequences_keep_the_cached_site_the_clean_site(
    tmp_path_factory: pytest.TempPathFactory, edits: list[Callable[..., None]], seed: int
) -> None:
    _run(tmp_path_factory.mktemp("cache"), edits, seed)


def test_a_corrupt_or_foreign_cache_falls_back_to_a_clean_build(tmp_path: Path) -> None:
    root, _repo = _handbook(tmp_path)
    _same_sites(root)
    state = root / ".kb-cache/render" / render_cache.STATE
    good = state.read_bytes()
    for bad in (b"{not json", good[:-9], good[:20] + b"x" + good[21:], b""):  # cut, or one byte changed
        state.write_bytes(bad)
        _same_sites(root)
    render_cache._write_state(state, {"format": 999})  # whole, but of another format
    _same_sites(root)
    shutil.rmtree(root / ".kb-cache/render/site")  # the pages are gone, the state is still there
    _same_sites(root)


# -- the trees: the cache takes the old site over, and never writes into the live one ----------


def _witness(site: Path, into: Path) -> dict[str, tuple[bytes, int]]:
    """A second hard link to every file of `site` (a write into one shows in the other) and
    each file's bytes and time of last write now (a write of the same bytes changes the latter)."""
    out = {}
    for path in site.rglob("*"):
        if path.is_file():
            rel = path.relative_to(site).as_posix()
            (into / rel).parent.mkdir(parents=True, exist_ok=True)
            os.link(path, into / rel)
            out[rel] = _seen(path)
    return out


def _seen(path: Path) -> tuple[bytes, int]:
    return path.read_bytes(), path.stat().st_mtime_ns


def _page_files(site: Path) -> dict[str, tuple[int, int]]:
    return {
        p.relative_to(site).as_posix(): (p.stat().st_dev, p.stat().st_ino)
        for p in site.rglob("index.html")
        if (p.parent / "index.html") == p and p.relative_to(site).parts[0] not in ("assets", "search")
    }


def test_a_cached_build_takes_the_old_site_over_and_never_writes_into_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The cache's copy of the site is the old site's folders, and the staging folder starts as
    the cache's copy (hard links the live site shares): a write into one of those files would
    change the live site before the swap. A second link to each live file shows that none is
    written, on a cached build and on one whose render fails on a page and starts again."""
    root, repo = _handbook(tmp_path)
    builtin = (default_templates() / "mkdocs.builtin.yml").read_text(encoding="utf-8")
    write_tree(root, {"mkdocs.yml": builtin.rstrip("\n") + "\n  - boom\n", "ext/boom.py": BOOM})
    monkeypatch.syspath_prepend(str(root / "ext"))
    site, cache = tmp_path / "site", root / ".kb-cache/render"
    _build(root, site)
    loop = _loops(root)[0]
    text = loop.read_text(encoding="utf-8")
    edits = [
        text.replace("title: ", "title: Retitled ", 1),
        text + "\nBOOM-MARKER\n",  # the renderer fails on this page: KB705, rendered again
        text,
    ]
    for step, edited in enumerate(edits):
        before = _witness(site, tmp_path / f"witness-{step}")
        loop.write_text(edited, encoding="utf-8")
        # two processes: the render that starts again is a full one, in a dirty MkDocs build
        result = run_kb(["build", "-q", "--out", str(site)], root, env={**FIXED_NOW, "KB_JOBS": "2"})
        assert result.exit_code == 0, result.output
        changed = [rel for rel, seen in before.items() if _seen(tmp_path / f"witness-{step}" / rel) != seen]
        assert not changed, (step, changed[:5])
        assert ("KB705" in result.output) == (step == 1), result.output
        assert not list(tmp_path.glob(".site.kb-*"))  # taken over (or removed), not left behind
        if step == 1:  # a failed page: nothing kept
            assert not (cache / render_cache.STATE).exists()
            continue
        # the cache holds the site's pages, nothing else, each the site's own file
        held = {
            p.relative_to(cache / "site").as_posix(): (p.stat().st_dev, p.stat().st_ino)
            for p in (cache / "site").rglob("*")
            if p.is_file()
        }
        assert held == _page_files(site)
    assert "Retitled" not in (site / "index.html").read_text(encoding="utf-8")


def test_a_cache_on_another_file_system_is_copied_from_and_still_serves(tmp_path: Path) -> None:
    """Hard links and renames do not cross file systems: with kb's cache on another one (a tmpfs
    here), the cached tree cannot move into the staging folder nor the old site into the cache,
    and the kept pages are copied instead, into the same site a clean render gives."""
    other = Path("/dev/shm")
    if not other.is_dir() or not os.access(other, os.W_OK) or other.stat().st_dev == tmp_path.stat().st_dev:
        pytest.skip("no writable folder on another file system")
    root, _repo = _handbook(tmp_path)
    cache = Path(tempfile.mkdtemp(prefix="kb-cache-", dir=other))
    try:
        (root / "kb.toml").write_text(f'cache_dir = "{cache}"\n', encoding="utf-8")
        site, clean = tmp_path / "site", tmp_path / "site-clean"
        _build(root, site)
        for step in range(2):
            loop = _loops(root)[step]
            loop.write_text(
                loop.read_text(encoding="utf-8").replace("title: ", "title: Moved ", 1), encoding="utf-8"
            )
            result = run_kb(["build", "-v", "--out", str(site)], root, env=FIXED_NOW)
            assert result.exit_code == 0, result.output
            assert "from the cache" in result.output, result.output
        assert run_kb(["build", "-q", "--clean", "--out", str(clean)], root, env=FIXED_NOW).exit_code == 0
        a, b = snapshot(site), snapshot(clean)
        assert a.keys() == b.keys() and not [rel for rel in a if a[rel] != b[rel]]
    finally:
        shutil.rmtree(cache, ignore_errors=True)


def test_a_published_page_rewritten_in_place_is_rendered_again(tmp_path: Path) -> None:
    """The site's pages are hard links to the cache's: a step after the build that rewrites one
    in place (a minifier, a link rewriter) rewrites the cache's copy too. The next build sees
    that the file is not the one it kept and renders that page again, as a clean build does."""
    root, repo = _handbook(tmp_path)
    _same_sites(root)
    page = root.parent / "site-cached" / "principles/ownership/index.html"
    with open(page, "r+b") as fh:  # the same file (inode), new bytes
        data = fh.read()
        fh.seek(0)
        fh.write(data.replace(b"<title>", b"<title>Rewritten ", 1))
        fh.truncate()
    body_edit(root, repo, random.Random(1))  # a prose edit: the principle's page would be kept
    _same_sites(root)
    assert b"Rewritten" not in page.read_bytes()
