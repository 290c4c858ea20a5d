"""Where kb may write, and how: refuse dangerous output folders, lock, swap atomically.

A build renders into a sibling temporary folder and swaps it in with two renames, so an
interrupted build leaves the previous site intact. kb only ever deletes what it created:
folders holding its marker file, and its own temporary siblings.
"""

from __future__ import annotations

import errno
import os
import shutil
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from kb.errors import KbError

MARKER = ".kb-site"


def check_output(out: Path, root: Path, content: Path, cache: Path | None = None) -> None:
    """Refuse content/, the root, an ancestor of either, the cache, or a non-empty folder kb did not make.
    With the handbook at the repository root (content_dir "."), the site goes in a folder of it,
    which the walk leaves out (`kb.layout`)."""
    out, root, content = out.resolve(), root.resolve(), content.resolve()
    if content != root and (out == content or out.is_relative_to(content)):
        raise KbError(f"refusing to write the site into the content folder ({out})")
    if root.is_relative_to(out):
        raise KbError(f"refusing to write the site into {out}: it holds the handbook itself")
    if cache is not None and out.is_relative_to(cache.resolve()):
        raise KbError(f"refusing to write the site into kb's cache folder ({out})")
    if out.is_file():
        raise KbError(f"refusing to write the site to {out}: it is a file")
    if out.is_dir() and any(out.iterdir()) and not (out / MARKER).is_file():
        raise KbError(
            f"refusing to write into {out}: it is not empty and kb did not create it "
            "(choose another --out, or empty it yourself)"
        )


@contextmanager
def lock(cache: Path) -> Iterator[None]:
    """One build at a time per handbook: a second one fails cleanly instead of racing.

    An OS lock on `.kb-cache/build.lock` (not a pid file), so a build killed with SIGKILL
    never leaves a stale lock behind: the kernel releases it with the process.
    """
    cache.mkdir(parents=True, exist_ok=True)
    path = cache / "build.lock"
    fd = os.open(path, os.O_CREAT | os.O_RDWR, 0o644)
    try:
        if not _try_lock(fd):
            raise KbError(f"another kb build is running (lock {path}); wait for it to finish")
        os.ftruncate(fd, 0)
        os.write(fd, str(os.getpid()).encode())
        yield
    finally:
        os.close(fd)  # releases the lock


def _try_lock(fd: int) -> bool:
    if sys.platform == "win32":  # pragma: no cover - no fcntl; mypy checks each branch for its OS
        import msvcrt

        try:
            msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)
        except OSError:
            return False
        return True
    import fcntl

    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError as exc:
        if exc.errno in (errno.EAGAIN, errno.EACCES, errno.EWOULDBLOCK):
            return False
        raise KbError(f"cannot take the build lock: {exc}") from exc
    return True


def staging(out: Path) -> Path:
    """A fresh sibling folder to render into; leftovers of interrupted builds are removed."""
    out = out.resolve()
    out.parent.mkdir(parents=True, exist_ok=True)
    aside = out.parent / f".{out.name}.kb-old"
    if not out.exists() and (aside / MARKER).is_file():
        os.rename(aside, out)  # killed between the two renames of swap(): put the old site back
    for old in out.parent.glob(f".{out.name}.kb-*"):
        if old.is_dir() and (old / MARKER).is_file() or old.name.endswith(".kb-new"):
            shutil.rmtree(old, ignore_errors=True)
    tmp = out.parent / f".{out.name}.kb-new"
    tmp.mkdir()
    (tmp / MARKER).write_text("This folder was written by kb build; kb may replace it.\n")
    return tmp


def discard(tmp: Path) -> None:
    """Remove a staging folder whose build failed."""
    shutil.rmtree(tmp, ignore_errors=True)


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
