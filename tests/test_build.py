"""`kb build`: where it refuses to write, the lock, --strict, no-change rebuilds, and a build
killed mid-render leaving the previous site intact.

Every refusal is checked through the CLI (exit 2, one clear line) and leaves the whole
temporary folder exactly as it was; the interrupted build runs `kb build` as a real
subprocess and kills it with SIGKILL while MkDocs renders.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from kb import output
from kb.build import build
from kb.errors import KbError
from kb.settings import load_settings
from site_helpers import SMALL, many_loops, mtimes, run_kb, snapshot, write_tree


def tree_state(folder: Path) -> tuple[dict[str, str], list[str]]:
    """Every file's hash and every folder under `folder`: proof that nothing was written."""
    folders = sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_dir())
    return snapshot(folder), folders


@pytest.fixture
def root(tmp_path: Path) -> Path:
    return write_tree(tmp_path / "hb", SMALL)


REFUSED = {
    "content": (lambda tmp, root: root / "content", "content folder"),
    "content-subfolder": (lambda tmp, root: root / "content" / "site", "content folder"),
    "root": (lambda tmp, root: root, "it holds the handbook itself"),
    "ancestor": (lambda tmp, root: tmp, "it holds the handbook itself"),
    "cache": (lambda tmp, root: root / ".kb-cache" / "site", "cache folder"),
    "not-ours": (lambda tmp, root: tmp / "photos", "not empty and kb did not create it"),
    "a-file": (lambda tmp, root: tmp / "notes.txt", "is a file"),
}


@pytest.mark.parametrize("case", sorted(REFUSED))
def test_refused_out_exits_2_and_writes_nothing(tmp_path: Path, root: Path, case: str) -> None:
    (tmp_path / "photos").mkdir()
    (tmp_path / "photos" / "cat.jpg").write_bytes(b"\xff\xd8 not really")
    (tmp_path / "notes.txt").write_text("mine\n")
    (root / ".kb-cache").mkdir()
    where, message = REFUSED[case]
    before = tree_state(tmp_path)
    result = run_kb(["build", "--out", str(where(tmp_path, root))], root)
    assert result.exit_code == 2, result.output
    assert message in result.output
    assert "Traceback" not in result.output
    assert tree_state(tmp_path) == before


@pytest.mark.parametrize("case", sorted(REFUSED))
def test_refused_out_through_the_library(tmp_path: Path, root: Path, case: str) -> None:
    (tmp_path / "photos").mkdir()
    (tmp_path / "photos" / "cat.jpg").write_bytes(b"\xff\xd8 not really")
    (tmp_path / "notes.txt").write_text("mine\n")
    where, message = REFUSED[case]
    before = tree_state(tmp_path)
    with pytest.raises(KbError, match=message):
        build(load_settings(root), where(tmp_path, root), history=False)
    assert tree_state(tmp_path) == before


def test_build_twice_into_the_same_out(tmp_path: Path, root: Path) -> None:
    site = tmp_path / "site"
    site.mkdir()  # an empty folder is fine
    for _ in range(2):
        result = run_kb(["build", "--out", str(site)], root)
        assert result.exit_code == 0, result.output
        assert (site / output.MARKER).is_file()
        assert (site / "principles" / "ownership" / "index.html").is_file()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["hb", "site"]  # no staging leftovers


def test_default_out_is_site_under_the_root(root: Path) -> None:
    result = run_kb(["build"], root)
    assert result.exit_code == 0, result.output
    assert (root / "site" / "index.html").is_file()
    assert (root / "site" / output.MARKER).is_file()


def test_rebuild_without_change_rewrites_no_file(tmp_path: Path, root: Path) -> None:
    assert run_kb(["build", "--out", str(tmp_path / "site")], root).exit_code == 0
    docs = root / ".kb-cache" / "docs"
    before = mtimes(docs)
    time.sleep(0.01)  # a rewrite would show up as a newer mtime_ns
    result = run_kb(["build", "-v", "--out", str(tmp_path / "site")], root)
    assert result.exit_code == 0, result.output
    assert "(0 changed)" in result.output
    assert mtimes(docs) == before


def test_rebuild_after_an_edit_rewrites_only_what_shows_it(tmp_path: Path, root: Path) -> None:
    assert run_kb(["build", "--out", str(tmp_path / "site")], root).exit_code == 0
    docs = root / ".kb-cache" / "docs"
    before = mtimes(docs)
    loop = root / "content/loops/2025/2025-12-01-lost-notes.md"
    loop.write_text(loop.read_text().replace("Wrote the template.", "Wrote the new template."))
    assert run_kb(["build", "--out", str(tmp_path / "site")], root).exit_code == 0
    after = mtimes(docs)
    assert sorted(k for k in after if after[k] != before.get(k)) == ["loops/2025/2025-12-01-lost-notes.md"]
    assert (
        "Wrote the new template."
        in (tmp_path / "site/loops/2025/2025-12-01-lost-notes/index.html").read_text()
    )


def test_strict_with_an_error_exits_1_and_writes_nothing(tmp_path: Path, root: Path) -> None:
    site = tmp_path / "site"
    assert run_kb(["build", "--out", str(site)], root).exit_code == 0
    (root / "content/handbook/broken.md").write_text("# Broken\n\nSee [[no-such-page]].\n")
    before = tree_state(tmp_path)
    result = run_kb(["build", "--strict", "--out", str(site)], root)
    assert result.exit_code == 1, result.output
    assert "KB404" in result.output and "nothing written" in result.output
    assert tree_state(tmp_path) == before


def test_strict_on_a_fresh_handbook_creates_no_folder(tmp_path: Path, root: Path) -> None:
    (root / "content/handbook/broken.md").write_text("# Broken\n\nSee [[no-such-page]].\n")
    before = tree_state(tmp_path)
    assert run_kb(["build", "--strict", "--out", str(tmp_path / "site")], root).exit_code == 1
    assert tree_state(tmp_path) == before  # not even .kb-cache


def test_without_strict_a_bad_file_is_left_out_and_said_so(tmp_path: Path, root: Path) -> None:
    (root / "content/principles/broken.md").write_text("---\ntitle: [unclosed\n---\n\nText.\n")
    result = run_kb(["build", "--out", str(tmp_path / "site")], root)
    assert result.exit_code == 0, result.output
    assert "KB103" in result.output
    assert "left out content/principles/broken.md" in result.output
    assert not (tmp_path / "site/principles/broken").exists()
    assert (tmp_path / "site/principles/ownership/index.html").is_file()


def test_second_build_while_the_lock_is_held_fails_cleanly(tmp_path: Path, root: Path) -> None:
    with output.lock(root / ".kb-cache"):
        result = run_kb(["build", "--out", str(tmp_path / "site")], root)
    assert result.exit_code == 2, result.output
    assert "another kb build is running" in result.output
    assert not (tmp_path / "site").exists()
    assert run_kb(["build", "--out", str(tmp_path / "site")], root).exit_code == 0  # released


def test_a_failed_render_keeps_the_previous_site(tmp_path: Path, root: Path) -> None:
    site = tmp_path / "site"
    assert run_kb(["build", "--out", str(site)], root).exit_code == 0
    before = snapshot(site)
    (root / "mkdocs.yml").write_text("site_name: X\ntheme:\n  name: no-such-theme\n")
    result = run_kb(["build", "--out", str(site)], root)
    assert result.exit_code == 2, result.output
    assert "no-such-theme" in result.output
    assert snapshot(site) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["hb", "site"]


def test_interrupted_build_leaves_the_previous_site_intact(tmp_path: Path) -> None:
    """SIGKILL while MkDocs renders: the old site is byte-identical, the next build cleans up."""
    root = write_tree(tmp_path / "hb", SMALL)
    site = tmp_path / "site"
    assert run_kb(["build", "--out", str(site)], root).exit_code == 0
    before = snapshot(site)
    write_tree(root, many_loops(300))  # rendering these takes seconds
    staging = tmp_path / ".site.kb-new"
    proc = subprocess.Popen(
        [sys.executable, "-m", "kb", "--root", str(root), "build", "--out", str(site)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 60
        while not (staging / "loops" / "2024").is_dir():  # MkDocs has started writing pages
            assert proc.poll() is None, "the build ended before it could be killed"
            assert time.monotonic() < deadline
            time.sleep(0.02)
        os.kill(proc.pid, signal.SIGKILL)
    finally:
        proc.kill()
        proc.wait()
    assert proc.returncode == -signal.SIGKILL
    assert staging.is_dir()  # the half-rendered site was never swapped in
    assert snapshot(site) == before
    result = run_kb(["build", "--out", str(site)], root)
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in tmp_path.iterdir()) == ["hb", "site"]
    assert (site / "loops/2024/2024-01-01-generated-0000/index.html").is_file()


def test_killed_between_the_two_renames_the_old_site_comes_back(tmp_path: Path, root: Path) -> None:
    """swap() moves the old site aside, then renames the new one in: a kill in between is recovered."""
    site = tmp_path / "site"
    assert run_kb(["build", "--out", str(site)], root).exit_code == 0
    before = snapshot(site)
    os.rename(site, tmp_path / ".site.kb-old")
    staged = output.staging(site)
    assert snapshot(site) == before
    output.discard(staged)
