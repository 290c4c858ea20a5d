"""kb.output.swap: the new site in place at once, the old one removed by a detached process."""

from __future__ import annotations

import os
import tempfile
import time
from pathlib import Path

import pytest

from kb import output


def _site(folder: Path, text: str) -> Path:
    (folder / "a" / "b").mkdir(parents=True)
    (folder / "a" / "b" / "index.html").write_text(text)
    (folder / output.MARKER).write_text("kb\n")
    return folder


def _gone(path: Path, seconds: float = 20.0) -> bool:
    deadline = time.monotonic() + seconds
    while path.exists():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.02)
    return True


def test_swap_puts_the_new_site_in_place_and_removes_the_old_one(tmp_path: Path) -> None:
    out = tmp_path / "site"
    _site(out, "old")
    old_file = (out / "a" / "b" / "index.html").stat()
    staged = output.staging(out)
    _site(staged, "new")
    output.swap(staged, out)
    assert (out / "a" / "b" / "index.html").read_text() == "new"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["site"]  # nothing left beside it
    trash = [p for p in Path(tempfile.gettempdir()).glob(output.GONE + "*") if (p / "site").exists()]
    for folder in trash:  # the old site, if its removal has not finished yet
        if (folder / "site" / "a" / "b" / "index.html").exists():
            same = (folder / "site" / "a" / "b" / "index.html").stat()
            if (same.st_ino, same.st_dev) == (old_file.st_ino, old_file.st_dev):
                assert _gone(folder)


def test_on_another_file_system_the_old_site_goes_beside_and_staging_finishes_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    out = tmp_path / "site"
    _site(out, "old")
    real = tempfile.mkdtemp

    def mkdtemp(prefix: str = "", dir: Path | None = None) -> str:  # noqa: A002 - tempfile's name
        if dir is None:
            raise OSError("no temporary folder on this file system")
        return real(prefix=prefix, dir=dir)

    monkeypatch.setattr(output.tempfile, "mkdtemp", mkdtemp)
    monkeypatch.setattr(output, "_detached_rmtree", lambda folder: None)  # as if killed at once
    staged = output.staging(out)
    _site(staged, "new")
    output.swap(staged, out)
    left = [p.name for p in tmp_path.iterdir() if p.name != "site"]
    assert len(left) == 1 and left[0].startswith(".site." + output.GONE)
    monkeypatch.undo()
    staged = output.staging(out)  # the next build finishes the removal
    assert _gone(tmp_path / left[0])
    output.discard(staged)
    assert (out / "a" / "b" / "index.html").read_text() == "new"


def test_when_no_process_starts_the_old_site_is_removed_at_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    out = tmp_path / "site"
    _site(out, "old")

    def fail(*args: object, **kwargs: object) -> None:
        raise OSError("no process")

    monkeypatch.setattr(output.subprocess, "Popen", fail)
    staged = output.staging(out)
    _site(staged, "new")
    moved: list[str] = []
    real_rename = os.rename

    def rename(a: object, b: object) -> None:
        moved.append(str(b))
        real_rename(a, b)  # type: ignore[arg-type]

    monkeypatch.setattr(output.os, "rename", rename)
    output.swap(staged, out)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["site"]
    assert not any(Path(m).exists() for m in moved if output.GONE in m)
