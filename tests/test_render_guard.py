"""One page must not take the whole site down (`kb.render_guard`, KB416, KB705).

A page nested deeper than the renderer can take is KB416 at lint time and shows a notice on
the site; a page the renderer fails on anyway (here a markdown extension that raises on a
marker, configured in the test's mkdocs.yml) is KB705 at its file, and the rest of the site is
built. Real `kb build` subprocesses: the exit codes matter. Both in one process and in the
two-process render.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from kb import render_parallel
from site_helpers import BOOM, REPO, SMALL, write_tree

NOTICE = "This page could not be built."


def deep_list(levels: int) -> str:
    return "\n".join("    " * i + "- item" for i in range(levels)) + "\n"


def kb(root: Path, *args: str, jobs: int = 1) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "KB_JOBS": str(jobs),
        "PYTHONPATH": os.pathsep.join(
            [str(root / "ext"), str(REPO / "builder"), os.environ.get("PYTHONPATH", "")]
        ),
    }
    env.pop("GITHUB_ACTIONS", None)
    return subprocess.run(
        [sys.executable, "-m", "kb", "--root", str(root), *args],
        capture_output=True,
        text=True,
        env=env,
        cwd=root,
        timeout=300,
        check=False,
    )


def handbook(tmp_path: Path, pages: dict[str, str], boom: bool = False) -> Path:
    files = dict(SMALL)
    guide = files["content/handbook/guide.md"]
    assert isinstance(guide, str)  # its one error (a KB404 on purpose) would stop --strict before rendering
    files["content/handbook/guide.md"] = guide.replace("[[root cause problem solving]]", "root cause")
    files.update(pages)
    if boom:
        builtin = (REPO / "templates" / "mkdocs.builtin.yml").read_text(encoding="utf-8")
        files["mkdocs.yml"] = builtin.rstrip("\n") + "\n  - boom\n"
        files["ext/boom.py"] = BOOM
    return write_tree(tmp_path / "hb", files)


def page(title: str, body: str) -> str:
    return f"---\ntitle: {title}\n---\n\n{body}"


def test_a_list_nested_500_deep_is_kb416_at_its_line(tmp_path: Path) -> None:
    root = handbook(tmp_path, {"content/handbook/deep.md": page("Deep", "Intro\n\n" + deep_list(500))})
    done = kb(root, "lint")
    assert done.returncode == 1, done.stdout + done.stderr
    # body line 3 is the list's first level; level 101 is its 101st line, at column 401
    assert (
        "content/handbook/deep.md:107:401: KB416 nesting deeper than the renderer can take" in done.stdout
    ), done.stdout
    assert kb(root, "lint").stdout.count("KB416") == 1


@pytest.mark.parametrize("jobs", [1, 2])
def test_a_deep_page_is_a_notice_and_the_rest_of_the_site_is_built(tmp_path: Path, jobs: int) -> None:
    root = handbook(tmp_path, {"content/handbook/deep.md": page("Deep", deep_list(500))})
    site = tmp_path / "site"
    done = kb(root, "build", "--out", str(site), jobs=jobs)
    assert done.returncode == 0, done.stderr
    assert "KB416" in done.stderr and "Traceback" not in done.stderr and "internal error" not in done.stderr
    deep = (site / "handbook" / "deep" / "index.html").read_text(encoding="utf-8")
    assert NOTICE in deep and "<h1" in deep and "Deep" in deep
    assert (site / "principles" / "ownership" / "index.html").is_file()
    assert NOTICE not in (site / "index.html").read_text(encoding="utf-8")
    strict = kb(root, "build", "--strict", "--out", str(tmp_path / "strict"), jobs=jobs)
    assert strict.returncode == 1, strict.stderr
    assert not (tmp_path / "strict").exists()


@pytest.mark.parametrize("jobs", [1, 2])
def test_a_page_the_renderer_fails_on_is_kb705_and_a_notice(tmp_path: Path, jobs: int) -> None:
    """A markdown extension raises on one page: KB705 at that file, the rest is built."""
    root = handbook(
        tmp_path,
        {
            "content/handbook/bad.md": page(
                "Bad", "Fine text, then BOOM-MARKER.\n" + "More words.\n\n" * 300
            ),
            "content/handbook/good.md": page("Good", "Links to [[handbook/bad]] and [[handbook/large]].\n"),
            "content/handbook/large.md": page("Large", "Words and more words.\n\n" * 900),
        },
        boom=True,
    )
    assert "handbook/bad.md" not in kb(root, "lint").stdout  # lint cannot know what an extension does
    site = tmp_path / "site"
    done = kb(root, "build", "-v", "--out", str(site), jobs=jobs)
    assert done.returncode == 0, done.stderr
    if jobs == 2:  # the second-largest page: the forked process fails, the main one renders it again
        assert "rendered in 2 processes" in done.stderr
        assert "handbook/bad.md" in render_parallel.shares(root / ".kb-cache" / "docs", 2)[1]
    assert (
        "content/handbook/bad.md:1:1: KB705 the site's renderer failed on this page: "
        "ValueError: boom on purpose"
    ) in done.stderr, done.stderr
    assert "Traceback" not in done.stderr and "internal error" not in done.stderr
    assert "Error reading page" not in done.stderr  # the failed attempt's MkDocs log is not shown
    bad = (site / "handbook" / "bad" / "index.html").read_text(encoding="utf-8")
    assert NOTICE in bad and "BOOM-MARKER" not in bad
    good = (site / "handbook" / "good" / "index.html").read_text(encoding="utf-8")
    assert "Links to" in good and NOTICE not in good
    strict = kb(root, "build", "--strict", "--out", str(tmp_path / "strict"), jobs=jobs)
    assert strict.returncode == 1, strict.stderr
    assert "KB705" in strict.stderr and not (tmp_path / "strict").exists()


def test_kb705_can_be_made_a_warning(tmp_path: Path) -> None:
    root = handbook(tmp_path, {"content/handbook/bad.md": page("Bad", "BOOM-MARKER\n")}, boom=True)
    (root / "kb.toml").write_text('[severity]\nKB705 = "warning"\n', encoding="utf-8")
    done = kb(root, "build", "--strict", "--out", str(tmp_path / "site"))
    assert done.returncode == 0, done.stderr
    assert "KB705" in done.stderr and (tmp_path / "site" / "handbook" / "bad" / "index.html").is_file()


def test_kb_serve_renders_around_a_deep_page_and_one_the_renderer_fails_on(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`kb serve` uses the same guard: its render never stops on one page, and says which."""
    from kb.serve import Session
    from kb.settings import load_settings

    root = handbook(
        tmp_path,
        {
            "content/handbook/deep.md": page("Deep", deep_list(500)),
            "content/handbook/bad.md": page("Bad", "BOOM-MARKER\n"),
        },
        boom=True,
    )
    monkeypatch.syspath_prepend(str(root / "ext"))
    monkeypatch.setenv("KB_JOBS", "1")
    site = tmp_path / "served"
    result = Session(load_settings(root), site).rebuild()
    codes = {(f.path, f.code) for f in result.findings}
    assert ("content/handbook/deep.md", "KB416") in codes
    assert ("content/handbook/bad.md", "KB705") in codes
    for name in ("deep", "bad"):
        assert NOTICE in (site / "handbook" / name / "index.html").read_text(encoding="utf-8")
    assert NOTICE not in (site / "index.html").read_text(encoding="utf-8")
