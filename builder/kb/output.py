"""Where kb may write, and how: refuse dangerous output folders, lock, swap atomically.

A build renders into a sibling temporary folder and swaps it in with two renames, so an
interrupted build leaves the previous site intact. kb only ever deletes what it created:
folders holding its marker file, and its own temporary siblings. The old site is removed after
the swap by a detached process (`remove_later`): on a large site that removal (one unlink a
file, one rmdir a folder) took seconds, and nothing kb does afterwards needs it gone.
"""

from __future__ import annotations

import errno
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterator
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
        if old.name.startswith(f".{out.name}.{GONE}"):
            if old.is_dir():  # kb's own name: a removal that was killed (or still runs)
                _detached_rmtree(old)
        elif old.is_dir() and (old / MARKER).is_file() or old.name.endswith(".kb-new"):
            shutil.rmtree(old, ignore_errors=True)
    tmp = out.parent / f".{out.name}.kb-new"
    tmp.mkdir()
    (tmp / MARKER).write_text("This folder was written by kb build; kb may replace it.\n")
    return tmp


def discard(tmp: Path) -> None:
    """Remove a staging folder whose build failed."""
    shutil.rmtree(tmp, ignore_errors=True)


def swap(tmp: Path, out: Path, adopt: Callable[[Path, Path | None], bool] | None = None) -> None:
    """Put the new site in place: the old one is moved aside, then removed (`remove_later`).

    `adopt(out, old)`, when given, runs once the new site is in place, with the old one moved
    aside (None when there was none), and says whether it took the old folder over (kb's render
    cache makes its copy of the new site from the old one: `kb.render_cache.RenderCache.save`);
    a folder taken over is not removed."""
    out = out.resolve()
    old = out.parent / f".{out.name}.kb-old"
    if old.exists():
        shutil.rmtree(old)
    if out.exists():
        os.rename(out, old)
    os.rename(tmp, out)
    moved = old if old.exists() else None
    if adopt is not None and adopt(out, moved):
        return
    if moved is not None:
        remove_later(old, f".{out.name}.{GONE}")


#: The prefix of the folders an old site is moved into to be removed (in the temporary folder,
#: or beside the site when that is on another file system).
GONE = "kb-gone-"
#: The remover: it forks (where it can) so that kb waits only for its start, not for the removal.
_REMOVE = (
    "import os, shutil, sys\n"
    "if hasattr(os, 'fork') and os.fork():\n"
    "    os._exit(0)\n"
    "shutil.rmtree(sys.argv[1], ignore_errors=True)\n"
)


def remove_later(folder: Path, sibling: str) -> None:
    """Remove `folder` (the old site `swap` moved aside) in a detached process that outlives kb.

    The folder is first renamed out of the way, into a fresh folder of the system's temporary
    folder or, on another file system, into a hidden sibling named `sibling` + random (which the
    next build's `staging` removes if this removal was killed), so no build ever finds it where
    it looks. When it cannot be renamed or no process can be started, it is removed here."""
    trash: Path | None = None
    for prefix, parent in ((GONE, None), (sibling, folder.parent)):  # out of sight first
        try:
            trash = Path(tempfile.mkdtemp(prefix=prefix, dir=parent))
        except OSError:
            continue
        try:
            os.rename(folder, trash / "site")
            break
        except OSError:
            shutil.rmtree(trash, ignore_errors=True)
            trash = None
    if trash is None:
        shutil.rmtree(folder, ignore_errors=True)
    else:
        _detached_rmtree(trash)


def _detached_rmtree(folder: Path) -> None:
    try:
        process = subprocess.Popen(  # noqa: S603 - our own interpreter, a fixed program, our folder
            [sys.executable, "-I", "-S", "-c", _REMOVE, str(folder)],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            close_fds=True,
            start_new_session=True,  # not stopped with kb's process group (Ctrl-C after the build)
        )
        if hasattr(os, "fork"):
            process.wait(timeout=30)  # the remover's first process exits as soon as it forked
    except (OSError, subprocess.SubprocessError):
        shutil.rmtree(folder, ignore_errors=True)
