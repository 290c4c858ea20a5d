"""Where kb may write, and how: refuse dangerous output folders, lock, swap atomically.

A build renders into a sibling temporary folder and swaps it in with two renames, so an
interrupted build leaves the previous site intact. kb only ever deletes what it created:
folders holding its marker file, and its own temporary siblings.
"""

from __future__ import annotations

import errno
import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from kb.errors import KbError

MARKER = ".kb-site"


def check_output(out: Path, root: Path, content: Path) -> None:
    """Refuse content/, the root, an ancestor of either, or a non-empty folder kb did not make."""
    out, root, content = out.resolve(), root.resolve(), content.resolve()
    if out == content or out.is_relative_to(content):
        raise KbError(f"refusing to write the site into the content folder ({out})")
    if root.is_relative_to(out):
        raise KbError(f"refusing to write the site into {out}: it holds the handbook itself")
    if out.is_file():
        raise KbError(f"refusing to write the site to {out}: it is a file")
    if out.is_dir() and any(out.iterdir()) and not (out / MARKER).is_file():
        raise KbError(f"refusing to write into {out}: it is not empty and kb did not create it "
                      "(choose another --out, or empty it yourself)")


@contextmanager
def lock(cache: Path) -> Iterator[None]:
    """One build at a time per handbook: a second one fails cleanly instead of racing."""
    cache.mkdir(parents=True, exist_ok=True)
    path = cache / "build.lock"
    for _attempt in range(2):
        try:
            fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
            break
        except FileExistsError:
            if _alive(path):
                raise KbError(f"another kb build is running (lock {path}); wait for it to finish") from None
            path.unlink(missing_ok=True)  # stale: its process is gone
    else:  # pragma: no cover - lost a race twice
        raise KbError(f"could not take the build lock {path}")
    try:
        os.write(fd, str(os.getpid()).encode())
        os.close(fd)
        yield
    finally:
        path.unlink(missing_ok=True)


def _alive(path: Path) -> bool:
    try:
        pid = int(path.read_text().strip() or "0")
    except (OSError, ValueError):
        return False
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except OSError as exc:
        return exc.errno == errno.EPERM
    return True


def staging(out: Path) -> Path:
    """A fresh sibling folder to render into; leftovers of interrupted builds are removed."""
    out = out.resolve()
    out.parent.mkdir(parents=True, exist_ok=True)
    for old in out.parent.glob(f".{out.name}.kb-*"):
        if old.is_dir() and (old / MARKER).is_file() or old.name.endswith(".kb-new"):
            shutil.rmtree(old, ignore_errors=True)
    tmp = out.parent / f".{out.name}.kb-new"
    tmp.mkdir()
    (tmp / MARKER).write_text("This folder was written by kb build; kb may replace it.\n")
    return tmp


def swap(tmp: Path, out: Path) -> None:
    """Put the new site in place: the old one is moved aside, then removed."""
    out = out.resolve()
    old = out.parent / f".{out.name}.kb-old"
    if old.exists():
        shutil.rmtree(old)
    if out.exists():
        os.rename(out, old)
    os.rename(tmp, out)
    if old.exists():
        shutil.rmtree(old, ignore_errors=True)
