"""`kb build` after an edit emits only the pages the edit touches (kb.emit, kb.emit_partial).

Emit keeps, beside the docs tree, a digest per document of its body and of everything else of
it another page may show, one of what all pages share, and per page the documents it shows.
The next build compares: a prose edit re-renders that page alone (observable as `emitted N
pages (1 changed)`, one file's mtime and no call of `render_tree`); a title, relation, new,
deleted or renamed document re-renders the pages that show it (and the indexes, feeds and
kb.json); a change of what all pages share (a template) the whole tree. Either way the docs
tree and the site must be the clean build's, byte for byte (both built with one
SOURCE_DATE_EPOCH).
"""

from __future__ import annotations

import json
import os
import re
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from gitrepo import GitRepo
from kb import emit
from site_helpers import FIXED_NOW, many_loops, mtimes, run_kb, snapshot, write_tree

LOOP = "content/loops/2024/2024-01-01-generated-0000.md"
EMITTED_LOOP = "loops/2024/2024-01-01-generated-0000.md"


@pytest.fixture
def full_emits(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[int]]:
    """Counts the whole-tree renders (`kb.emit.render_tree`) of the builds that follow."""
    calls: list[int] = []
    monkeypatch.setattr(emit, "render_tree", _counting(emit.render_tree, calls))
    yield calls


def _handbook(tmp_path: Path, loops: int = 4) -> tuple[Path, GitRepo]:
    root = tmp_path / "handbook"
    write_tree(root, many_loops(loops))
    (root / ".gitignore").write_text(".kb-cache/\n", encoding="utf-8")
    repo = GitRepo(root)
    repo.git("add", "-A")
    repo.git("commit", "-q", "-m", "handbook")
    return root, repo


@pytest.fixture
def rendered(monkeypatch: pytest.MonkeyPatch) -> set[str]:
    """The keys of the documents whose pages are rendered by the builds that follow."""
    keys: set[str] = set()
    real = emit._Pages.document

    def document(self: object, doc: emit.Document) -> str:
        keys.add(doc.key)
        return real(self, doc)  # type: ignore[arg-type]

    monkeypatch.setattr(emit._Pages, "document", document)
    return keys


def _build(root: Path) -> tuple[int, int]:
    """`kb build -v`; (pages, changed) from its emit line."""
    result = run_kb(["build", "-v", "--out", str(root / "site")], root, env=FIXED_NOW)
    assert result.exit_code == 0, result.output
    found = re.search(r"emitted (\d+) pages \((\d+) changed\)", result.output)
    assert found, result.output
    return int(found[1]), int(found[2])


def _docs(root: Path) -> Path:
    return root / ".kb-cache" / "docs"


def _assert_clean_build_is_the_same(root: Path, full_emits: list[int]) -> None:
    """Build again without any cache (kept aside, then put back): same docs tree, same site.
    Its whole-tree render is not counted in `full_emits`."""
    counted = len(full_emits)
    cache, aside = root / ".kb-cache", root.parent / "cache-aside"
    clean_site = root.parent / "site-clean"
    os.replace(cache, aside)
    try:
        result = run_kb(["build", "-q", "--out", str(clean_site)], root, env=FIXED_NOW)
        assert result.exit_code == 0, result.output
        clean_docs = snapshot(_docs(root))
    finally:
        shutil.rmtree(cache, ignore_errors=True)
        os.replace(aside, cache)
    docs = snapshot(_docs(root))
    assert docs.keys() == clean_docs.keys()
    assert sorted(rel for rel in docs if docs[rel] != clean_docs[rel]) == []
    site, clean = snapshot(root / "site"), snapshot(clean_site)
    assert site.keys() == clean.keys()
    assert sorted(rel for rel in site if site[rel] != clean[rel]) == []
    shutil.rmtree(clean_site)
    del full_emits[counted:]


def _append(root: Path, rel: str, text: str) -> None:
    path = root / rel
    path.write_text(path.read_text(encoding="utf-8") + text, encoding="utf-8")


def _replace(root: Path, rel: str, old: str, new: str) -> None:
    path = root / rel
    text = path.read_text(encoding="utf-8")
    assert old in text
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


def test_a_prose_edit_re_emits_only_its_page(tmp_path: Path, full_emits: list[int]) -> None:
    root, _repo = _handbook(tmp_path)
    pages, _ = _build(root)
    assert len(full_emits) == 1
    before = mtimes(_docs(root))
    _append(root, LOOP, "\nOne more note, in prose only.\n")
    assert _build(root) == (pages, 1)
    assert len(full_emits) == 1  # no whole-tree render
    after = mtimes(_docs(root))
    assert after.keys() == before.keys()
    assert sorted(rel for rel in after if after[rel] != before[rel]) == [EMITTED_LOOP]
    assert "One more note" in (_docs(root) / EMITTED_LOOP).read_text(encoding="utf-8")
    _assert_clean_build_is_the_same(root, full_emits)
    # a second prose edit, on two documents (a product's page has a feed link), then none
    _append(root, LOOP, "\nAnd another.\n")
    _append(root, "content/products/journal.md", "\nA product's prose.\n")
    assert _build(root) == (pages, 2)
    assert len(full_emits) == 1
    assert _build(root) == (pages, 0)
    assert len(full_emits) == 1
    _assert_clean_build_is_the_same(root, full_emits)


def _title(root: Path, repo: GitRepo) -> None:
    _replace(root, LOOP, "title: Generated cycle 0", "title: Renamed cycle")


def _link(root: Path, repo: GitRepo) -> None:
    _append(root, LOOP, "\nSee [[journal]].\n")  # the journal card lists it as a backlink


def _heading(root: Path, repo: GitRepo) -> None:
    _append(root, "content/principles/ownership.md", "\n## A new section\n\nText.\n")


def _new_file(root: Path, repo: GitRepo) -> None:
    (root / "content/handbook/new.md").write_text("# A new page\n\nText.\n", encoding="utf-8")


def _commit(root: Path, repo: GitRepo) -> None:
    _append(root, LOOP, "\nCommitted prose.\n")  # a prose edit, but committed: history changed
    repo.git("add", "-A")
    repo.git("commit", "-q", "-m", "prose")


def _frontmatter(root: Path, repo: GitRepo) -> None:
    _replace(root, LOOP, "stage: repeat", "stage: design")


def _relation(root: Path, repo: GitRepo) -> None:
    """The loop leaves one principle's page and joins another's."""
    _replace(root, LOOP, "principles: [ownership]", "principles: [root-cause]")


def _product(root: Path, repo: GitRepo) -> None:
    """The loop leaves the journal's loop history (and every listing shows no product)."""
    _replace(root, LOOP, "product: journal\n", "")


def _product_title(root: Path, repo: GitRepo) -> None:
    """Every loop table with a journal loop shows the product's title."""
    _replace(root, "content/products/journal.md", "title: Loop Journal", "title: The Journal")


def _principle_title(root: Path, repo: GitRepo) -> None:
    _replace(root, "content/principles/ownership.md", "title: Ownership", "title: Owning it")


def _new_loop(root: Path, repo: GitRepo) -> None:
    """A loop in a year and month no loop had: new year and month pages."""
    (root / "content/loops/2023").mkdir(parents=True, exist_ok=True)
    (root / "content/loops/2023/2023-05-06-brand-new.md").write_text(
        "---\ntitle: Brand new\ndate: 2023-05-06\nstage: observe\nprinciples: [ownership]\n"
        "product: inbox\nfollows: 2024-01-01-generated-0000\n---\n\n## 1. Observe\n\nSeen.\n",
        encoding="utf-8",
    )
    repo.git("add", "-A")
    repo.git("commit", "-q", "-m", "a loop")


def _deleted_loop(root: Path, repo: GitRepo) -> None:
    """The last loop of its month goes, and its month's page with it."""
    (root / "content/loops/2025/2025-12-01-lost-notes.md").unlink()


def _renamed_loop(root: Path, repo: GitRepo) -> None:
    repo.git("mv", LOOP, "content/loops/2024/2024-01-01-moved.md")
    repo.git("commit", "-q", "-m", "renamed")


def _deleted_product(root: Path, repo: GitRepo) -> None:
    """Its feed's files go; the loops that improved it link to nothing."""
    (root / "content/products/inbox.md").unlink()


def _deleted_principle(root: Path, repo: GitRepo) -> None:
    """Its page and feed go; links to it from loops break (a build without --strict goes on)."""
    (root / "content/principles/root-cause.md").unlink()


def _new_tag(root: Path, repo: GitRepo) -> None:
    """A tag no page had: its page is new, and the list of tags counts it."""
    _replace(root, LOOP, "product: journal\n", "product: journal\ntags: [Retro notes]\n")


def _tag_added(root: Path, repo: GitRepo) -> None:
    """The loop joins the page of a tag the journal's card has."""
    _replace(root, LOOP, "product: journal\n", "product: journal\ntags: [writing]\n")


def _last_tag_removed(root: Path, repo: GitRepo) -> None:
    """The tag's last page drops it: its page and the list of tags go."""
    _replace(root, "content/products/journal.md", "tags: [writing]\n", "")


EDITS = [
    _title,
    _link,
    _heading,
    _new_file,
    _commit,
    _frontmatter,
    _relation,
    _product,
    _product_title,
    _principle_title,
    _new_loop,
    _deleted_loop,
    _renamed_loop,
    _deleted_principle,
    _new_tag,
    _tag_added,
    _last_tag_removed,
]


@pytest.mark.parametrize("edit", EDITS)
def test_an_edit_emits_only_what_it_touches(
    tmp_path: Path,
    full_emits: list[int],
    rendered: set[str],
    edit: Callable[[Path, GitRepo], None],
) -> None:
    """No whole-tree render, fewer document pages rendered than the handbook has, and the
    tree of a clean emit."""
    root, repo = _handbook(tmp_path)
    _build(root)
    _append(root, LOOP, "\nA prose edit first: the state is the partial emit's.\n")
    _build(root)
    assert len(full_emits) == 1
    rendered.clear()
    edit(root, repo)
    _build(root)
    assert len(full_emits) == 1
    assert rendered and len(rendered) < len(list((root / "content").rglob("*.md")))
    _assert_clean_build_is_the_same(root, full_emits)


def test_a_title_edit_renders_the_pages_that_show_it(
    tmp_path: Path, full_emits: list[int], rendered: set[str]
) -> None:
    """The loop's page, its principle's, its product's and its successors': not its siblings'."""
    root, repo = _handbook(tmp_path, loops=40)
    _replace(root, "content/loops/2024/2024-02-02-generated-0001.md", "stage: repeat", "stage: observe")
    _replace(root, "content/loops/2024/2024-02-02-generated-0001.md", "product: journal\n", "")
    _append(root, "content/loops/2024/2024-02-02-generated-0001.md", "\nSee [[2024-01-01-generated-0000]].\n")
    _build(root)
    rendered.clear()
    _title(root, repo)
    _build(root)
    assert rendered == {
        "loops/2024/2024-01-01-generated-0000",
        "loops/2024/2024-02-02-generated-0001",  # links to it
        "principles/ownership",
        "products/journal",
    }
    assert len(full_emits) == 1
    _assert_clean_build_is_the_same(root, full_emits)


def test_a_deleted_product_keeps_the_clean_tree(tmp_path: Path, full_emits: list[int]) -> None:
    """Its feed's files and page go; here the products index loses its only `depends_on`
    arrow too, so no page names Mermaid's script any more and the whole tree is emitted."""
    root, repo = _handbook(tmp_path)
    _build(root)
    _deleted_product(root, repo)
    _build(root)
    assert not (_docs(root) / "feeds/products/inbox.xml").exists()
    assert len(full_emits) == 2
    _assert_clean_build_is_the_same(root, full_emits)


def test_a_template_edit_emits_the_whole_tree(tmp_path: Path, full_emits: list[int]) -> None:
    root, _repo = _handbook(tmp_path)
    _build(root)
    from kb.templating import default_templates

    footer = (default_templates() / "footer.md.j2").read_text(encoding="utf-8")
    (root / "templates").mkdir(exist_ok=True)
    (root / "templates/footer.md.j2").write_text(footer + "\nEdited footer.\n", encoding="utf-8")
    _build(root)
    assert len(full_emits) == 2
    _assert_clean_build_is_the_same(root, full_emits)


def test_a_sequence_of_edits_on_year_pages(tmp_path: Path, full_emits: list[int]) -> None:
    """With more loops than a principle's page lists, its loops of each year have pages of their
    own (`principles/ownership/2024`): edits that move loops between them, or make the first
    one appear, keep the clean emit's tree."""
    root, repo = _handbook(tmp_path, loops=60)
    _build(root)
    docs = _docs(root)
    assert (docs / "principles/ownership/2024.md").is_file()
    assert not (docs / "principles/ownership/2023.md").exists()
    for edit in (_title, _relation, _new_loop, _renamed_loop, _principle_title, _deleted_loop):
        edit(root, repo)
        _build(root)
    assert len(full_emits) == 1
    assert (docs / "principles/ownership/2023.md").is_file()
    _assert_clean_build_is_the_same(root, full_emits)


def test_a_sequence_of_edits_on_tag_pages(tmp_path: Path, full_emits: list[int], rendered: set[str]) -> None:
    """A tag's page lists the documents it counts (registered as the ones it shows, like a
    year's page): a tag added to loops until its page has pages of years, a loop's title, a
    new loop in a year the tag had not, a tag taken from a loop, a renamed loop and the tag's
    last pages dropping it each keep the clean emit's tree; a prose edit renders no tag page."""
    root, repo = _handbook(tmp_path, loops=40)
    _build(root)
    docs = _docs(root)
    loops = sorted((root / "content/loops/2024").glob("*generated*.md"))
    for path in loops[:30]:
        _replace(
            root, path.relative_to(root).as_posix(), "product: journal\n", "product: journal\ntags: [retro]\n"
        )
    repo.git("commit", "-q", "-am", "tagged")  # the edits below change the shapes they name only
    _build(root)
    assert (docs / "tags/retro/2024.md").is_file() and (docs / "tags/writing.md").is_file()
    _title(root, repo)
    _build(root)
    assert "Renamed cycle" in (docs / "tags/retro/2024.md").read_text(encoding="utf-8")
    _new_loop(root, repo)
    _replace(
        root,
        "content/loops/2023/2023-05-06-brand-new.md",
        "product: inbox\n",
        "product: inbox\ntags: [retro]\n",
    )
    _build(root)
    assert (docs / "tags/retro/2023.md").is_file()
    _assert_clean_build_is_the_same(root, full_emits)  # its count, from a loop it does not list
    _replace(root, "content/loops/2023/2023-05-06-brand-new.md", "tags: [retro]\n", "")
    _build(root)
    assert not (docs / "tags/retro/2023.md").exists()
    _renamed_loop(root, repo)
    _build(root)
    rendered.clear()
    _append(root, loops[5].relative_to(root).as_posix(), "\nProse only.\n")
    _build(root)
    assert len(rendered) == 1
    _last_tag_removed(root, repo)
    for path in (root / "content/loops/2024").glob("*.md"):
        text = path.read_text(encoding="utf-8")
        path.write_text(text.replace("tags: [retro]\n", ""), encoding="utf-8")
    _build(root)
    assert not (docs / "tags").exists() or not any((docs / "tags").rglob("*.md"))
    assert len(full_emits) == 1
    _assert_clean_build_is_the_same(root, full_emits)


def test_a_page_naming_mermaids_script(tmp_path: Path, full_emits: list[int]) -> None:
    """Emit copies Mermaid's script while some page names it (the products index does): a
    prose edit naming it too keeps it; one that would be the first to name it, or the last
    to stop, emits the whole tree (here: a state saying no page names it)."""
    root, _repo = _handbook(tmp_path)
    pages, _ = _build(root)
    _append(root, LOOP, f"\nThe script is {emit.MERMAID}.\n")
    assert _build(root) == (pages, 1)
    assert len(full_emits) == 1
    _assert_clean_build_is_the_same(root, full_emits)
    state_file = root / ".kb-cache/docs-state.json"
    data = json.loads(state_file.read_text(encoding="utf-8"))
    assert data["mermaid"] == sorted(["products/index.md", EMITTED_LOOP])
    state_file.write_text(json.dumps({**data, "mermaid": []}), encoding="utf-8")
    _append(root, LOOP, "\nMore prose.\n")
    _build(root)
    assert len(full_emits) == 2
    _assert_clean_build_is_the_same(root, full_emits)


def test_an_unreadable_documents_prose_writes_no_page(tmp_path: Path, full_emits: list[int]) -> None:
    """A document whose frontmatter cannot be read is left out of the site: its body edit
    never writes a page of it."""
    root, repo = _handbook(tmp_path)
    broken = "content/handbook/broken.md"
    write_tree(root, {broken: "---\ntitle: [unclosed\n---\n\nBody.\n"})
    result = run_kb(["build", "-q", "--out", str(root / "site")], root, env=FIXED_NOW)
    assert (root / ".kb-cache/docs/kb.json").is_file(), result.output
    _append(root, broken, "\nMore body.\n")
    run_kb(["build", "-q", "--out", str(root / "site")], root, env=FIXED_NOW)
    assert len(full_emits) == 1
    assert not (root / ".kb-cache/docs/handbook/broken.md").exists()
    _assert_clean_build_is_the_same(root, full_emits)


@pytest.mark.parametrize("state", ["", "{not json", '{"format": 999}', "[]", None])
def test_a_missing_corrupt_or_foreign_state_emits_the_whole_tree(
    tmp_path: Path, full_emits: list[int], state: str | None
) -> None:
    root, _repo = _handbook(tmp_path)
    _build(root)
    state_file = root / ".kb-cache/docs-state.json"
    data = json.loads(state_file.read_text(encoding="utf-8"))
    assert data["docs"] and data["shared"]  # digests, not bodies
    if state is None:
        state_file.unlink()
    else:
        state_file.write_text(state, encoding="utf-8")
    _append(root, LOOP, "\nProse.\n")
    _build(root)
    assert len(full_emits) == 2
    _assert_clean_build_is_the_same(root, full_emits)


def test_a_state_of_another_kb_emits_the_whole_tree(tmp_path: Path, full_emits: list[int]) -> None:
    root, _repo = _handbook(tmp_path)
    _build(root)
    state_file = root / ".kb-cache/docs-state.json"
    data = json.loads(state_file.read_text(encoding="utf-8"))
    state_file.write_text(json.dumps({**data, "kb": "0.0.0-other"}), encoding="utf-8")
    _append(root, LOOP, "\nProse.\n")
    _build(root)
    assert len(full_emits) == 2


def test_a_build_that_fails_while_writing_leaves_no_state(
    tmp_path: Path, full_emits: list[int], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The state is removed before the first file changes: a build killed half-way leaves a tree
    no state describes, and the next build emits it whole."""
    root, _repo = _handbook(tmp_path)
    _build(root)
    state_file = root / ".kb-cache/docs-state.json"
    assert state_file.is_file()

    def broken(*args: object, **kwargs: object) -> list[str]:
        raise OSError("disk full")

    monkeypatch.setattr(emit, "write_changed", broken)
    _append(root, LOOP, "\nProse.\n")
    result = run_kb(["build", "-q", "--out", str(root / "site")], root, env=FIXED_NOW)
    assert result.exit_code != 0 and "disk full" in result.output, result.output
    assert not state_file.exists()
    monkeypatch.undo()
    monkeypatch.setattr(emit, "render_tree", _counting(emit.render_tree, full_emits))
    _build(root)
    assert len(full_emits) == 2
    _assert_clean_build_is_the_same(root, full_emits)


def _counting(real: Callable[..., object], calls: list[int]) -> Callable[..., object]:
    def counted(*args: object, **kwargs: object) -> object:
        calls.append(1)
        return real(*args, **kwargs)

    return counted
