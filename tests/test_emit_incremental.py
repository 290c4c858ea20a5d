"""`kb build` after an edit that changed only documents' prose emits only their pages (kb.emit).

Emit keeps, beside the docs tree, a digest per document of its body and of everything else of
it another page may show, and one of what all pages share. The next build compares: a prose
edit re-renders that page alone (observable as `emitted N pages (1 changed)`, one file's mtime
and no call of `render_tree`), anything else the whole tree. Either way the docs tree and the
site must be the clean build's, byte for byte (both built with one SOURCE_DATE_EPOCH).
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


def _handbook(tmp_path: Path) -> tuple[Path, GitRepo]:
    root = tmp_path / "handbook"
    write_tree(root, many_loops(4))
    (root / ".gitignore").write_text(".kb-cache/\n", encoding="utf-8")
    repo = GitRepo(root)
    repo.git("add", "-A")
    repo.git("commit", "-q", "-m", "handbook")
    return root, repo


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


def _template(root: Path, repo: GitRepo) -> None:
    from kb.templating import default_templates

    footer = (default_templates() / "footer.md.j2").read_text(encoding="utf-8")
    (root / "templates").mkdir(exist_ok=True)
    (root / "templates/footer.md.j2").write_text(footer + "\nEdited footer.\n", encoding="utf-8")


@pytest.mark.parametrize("edit", [_title, _link, _heading, _new_file, _commit, _frontmatter, _template])
def test_any_other_edit_emits_the_whole_tree(
    tmp_path: Path, full_emits: list[int], edit: Callable[[Path, GitRepo], None]
) -> None:
    root, repo = _handbook(tmp_path)
    _build(root)
    _append(root, LOOP, "\nA prose edit first: the state is the partial emit's.\n")
    _build(root)
    assert len(full_emits) == 1
    edit(root, repo)
    _build(root)
    assert len(full_emits) == 2
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


def test_an_unreadable_documents_prose_emits_the_whole_tree(tmp_path: Path, full_emits: list[int]) -> None:
    """A document whose frontmatter cannot be read is left out of the site: its body edit
    never writes a page of it."""
    root, repo = _handbook(tmp_path)
    broken = "content/handbook/broken.md"
    write_tree(root, {broken: "---\ntitle: [unclosed\n---\n\nBody.\n"})
    result = run_kb(["build", "-q", "--out", str(root / "site")], root, env=FIXED_NOW)
    assert (root / ".kb-cache/docs/kb.json").is_file(), result.output
    _append(root, broken, "\nMore body.\n")
    run_kb(["build", "-q", "--out", str(root / "site")], root, env=FIXED_NOW)
    assert len(full_emits) == 2
    assert not (root / ".kb-cache/docs/handbook/broken.md").exists()


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
