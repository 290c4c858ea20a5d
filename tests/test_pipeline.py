"""kb.pipeline: one entry point runs the stages in order, as far as the options ask, on the
working tree or a git revision, on one day.

Each test freezes time one way only: the `today` option, a mapping given to the clock, or
`SOURCE_DATE_EPOCH` in the environment.
"""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
from pathlib import Path

import pytest

from gitrepo import GitRepo
from kb import clock
from kb.incremental import Memory
from kb.pipeline import Options, Step, run
from kb.settings import load_settings
from site_helpers import SMALL, write_tree

BUILDER = Path(__file__).resolve().parents[1] / "builder"
DUP = "content/loops/2026/2026-02-20-duplicate-cycles.md"  # dated 2026-02-20, stage: design
GUIDE = "content/handbook/guide.md"
DECEMBER_1 = "1796083200"  # 2026-12-01 00:00 UTC


@pytest.fixture
def repo(tmp_path: Path) -> GitRepo:
    root = write_tree(tmp_path / "hb", SMALL)
    made = GitRepo(root, author="Ana Lima <ana@example.com>")
    made.commit("2026-01-05T12:00:00Z")
    return made


def codes(found: list, path: str | None = None) -> set[str]:
    return {f.code for f in found if path is None or f.path == path}


def missing_page(found: list) -> bool:
    """Whether the findings hold the broken link the tests write into the guide."""
    return any(f.code == "KB404" and "'no-such-page'" in f.message for f in found)


def test_by_default_the_pure_stages_run_and_nothing_is_written(tmp_path: Path) -> None:
    root = write_tree(tmp_path / "hb", SMALL)
    done = run(load_settings(root), Options(today=dt.date(2026, 3, 1)))
    assert done.checked.corpus.files > 0 and done.findings == done.checked.findings
    assert done.history is None and done.emitted is None and done.rendered is None
    assert not done.written and not (root / ".kb-cache").exists()


def test_the_pure_stages_import_neither_mkdocs_jinja2_nor_gitpython(tmp_path: Path) -> None:
    root = write_tree(tmp_path / "hb", SMALL)
    code = (
        "import sys; from kb.pipeline import run; from kb.settings import load_settings; "
        f"import pathlib; run(load_settings(pathlib.Path({str(root)!r}))); "
        "print(sorted(m for m in ('mkdocs', 'jinja2', 'git') if m in sys.modules))"
    )
    env = {**os.environ, "PYTHONPATH": str(BUILDER)}
    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"


def test_until_history_reads_git_and_emits_nothing(repo: GitRepo) -> None:
    done = run(load_settings(repo.path), Options(until=Step.HISTORY, today=dt.date(2026, 3, 1)))
    assert done.history is not None and done.history.available
    assert done.history.files[GUIDE].last_author == "Ana Lima"
    assert "history" in done.timings and "emit" not in done.timings
    assert done.emitted is None and not (repo.path / ".kb-cache" / "docs").exists()


def test_strict_stops_before_history_when_the_pure_stages_found_errors(repo: GitRepo, tmp_path: Path) -> None:
    path = repo.path / GUIDE
    path.write_text(path.read_text(encoding="utf-8") + "\nSee [[no-such-page]].\n", encoding="utf-8")
    options = Options(until=Step.RENDER, strict=True, out=tmp_path / "site", today=dt.date(2026, 3, 1))
    done = run(load_settings(repo.path), options)
    assert missing_page(done.errors)
    assert done.history is None and done.emitted is None and not done.written
    assert not (tmp_path / "site").exists() and not (repo.path / ".kb-cache").exists()


def test_render_writes_the_site_and_says_what_it_did(repo: GitRepo, tmp_path: Path) -> None:
    steps: list[str] = []
    options = Options(
        until=Step.RENDER, out=tmp_path / "site", progress=steps.append, today=dt.date(2026, 3, 1)
    )
    done = run(load_settings(repo.path), options)
    assert done.written and done.full and done.emitted is not None and done.rendered is not None
    assert (tmp_path / "site" / "principles" / "ownership" / "index.html").is_file()
    assert list(done.timings) == ["load+validate+link", "history", "emit", "render"]
    assert steps[0].startswith("checked ") and steps[1] == "read git history"
    assert steps[2].startswith(f"emitted {done.emitted.pages} pages")


def test_a_revision_is_checked_as_of_its_commit_and_the_working_tree_is_left_alone(repo: GitRepo) -> None:
    first = repo.git("rev-parse", "HEAD")
    path = repo.path / GUIDE
    text = path.read_text(encoding="utf-8")
    path.write_text(text + "\nSee [[no-such-page]].\n", encoding="utf-8")
    settings = load_settings(repo.path)
    today = dt.date(2026, 3, 1)
    assert missing_page(run(settings, Options(today=today)).findings)
    then = run(settings, Options(rev=first, today=today))
    assert not missing_page(then.findings)
    assert then.checked.corpus.files == run(settings, Options(today=today)).checked.corpus.files
    assert path.read_text(encoding="utf-8") == text + "\nSee [[no-such-page]].\n"
    assert repo.git("status", "--porcelain") == f"M {GUIDE}"


def test_a_revision_before_the_content_folder_existed_is_an_empty_handbook(tmp_path: Path) -> None:
    made = GitRepo(tmp_path / "repo")
    made.write("README.md", "no handbook yet\n")
    made.commit()
    empty = made.git("rev-parse", "HEAD")
    write_tree(made.path, SMALL)
    made.commit()
    done = run(load_settings(made.path), Options(rev=empty, today=dt.date(2026, 3, 1)))
    assert done.checked.corpus.files == 0 and not done.checked.corpus.documents


def test_the_today_option_is_the_day_kb602_counts_to(tmp_path: Path) -> None:
    settings = load_settings(write_tree(tmp_path / "hb", SMALL))
    assert "KB602" not in codes(run(settings, Options(today=dt.date(2026, 3, 1))).findings, DUP)
    late = run(settings, Options(today=dt.date(2026, 12, 1)))
    assert "KB602" in codes(late.findings, DUP) and late.checked.today == dt.date(2026, 12, 1)


def test_the_clock_is_source_date_epochs_utc_day_else_todays() -> None:
    assert clock.today({"SOURCE_DATE_EPOCH": DECEMBER_1}) == dt.date(2026, 12, 1)
    assert clock.today({"SOURCE_DATE_EPOCH": str(int(DECEMBER_1) - 1)}) == dt.date(2026, 11, 30)
    for ignored in ({}, {"SOURCE_DATE_EPOCH": ""}, {"SOURCE_DATE_EPOCH": "yesterday"}):
        before = dt.datetime.now(dt.UTC).date()
        assert clock.today(ignored) in (before, dt.datetime.now(dt.UTC).date())


def test_source_date_epoch_sets_one_day_for_kb602_and_the_coverage_page(
    repo: GitRepo, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SOURCE_DATE_EPOCH", DECEMBER_1)
    done = run(load_settings(repo.path), Options(until=Step.EMIT))
    assert done.checked.today == dt.date(2026, 12, 1)
    assert "KB602" in codes(done.findings, DUP)
    coverage = (repo.path / ".kb-cache" / "docs" / "principles" / "coverage.md").read_text(encoding="utf-8")
    assert "2026-Q4" in coverage and "2027-Q1" not in coverage


def test_a_memory_reads_history_again_only_when_head_moves(repo: GitRepo, tmp_path: Path) -> None:
    settings = load_settings(repo.path)
    memory = Memory()

    def again() -> object:
        options = Options(
            until=Step.EMIT, docs_dir=tmp_path / "docs", memory=memory, today=dt.date(2026, 3, 1)
        )
        return run(settings, options).history

    first = again()
    assert again() is first  # HEAD did not move: the same history, no second `git log`
    path = repo.path / GUIDE
    path.write_text(path.read_text(encoding="utf-8") + "\nMore.\n", encoding="utf-8")
    assert again() is first  # an edit is not a commit
    repo.commit("2026-03-10T09:00:00Z", "Ben Okafor <ben@example.com>")
    moved = again()
    assert moved is not first and moved.files[GUIDE].last_author == "Ben Okafor"  # type: ignore[attr-defined]
    assert memory.head == repo.git("rev-parse", "HEAD")


def test_a_memory_keeps_the_last_good_site_when_a_page_becomes_unreadable(tmp_path: Path) -> None:
    root = write_tree(tmp_path / "hb", SMALL)
    settings = load_settings(root)
    memory = Memory()
    options = Options(until=Step.EMIT, docs_dir=tmp_path / "docs", memory=memory, today=dt.date(2026, 3, 1))
    run(settings, options)
    path = root / GUIDE
    path.write_text(
        path.read_text(encoding="utf-8").replace("title: Writing guide", "title: A: b"), encoding="utf-8"
    )
    done = run(settings, options)
    assert done.kept == (GUIDE,) and "KB103" in codes(done.errors, GUIDE)
    assert done.emitted is None and done.history is None  # stopped before history and emit


def test_a_revision_is_only_checked_never_published(repo: GitRepo, tmp_path: Path) -> None:
    options = Options(until=Step.RENDER, rev="HEAD", out=tmp_path / "site")
    with pytest.raises(ValueError, match="only checked"):
        run(load_settings(repo.path), options)
    assert not (tmp_path / "site").exists()
