"""How many processes a stage may use: one, unless the work is large, fork is safe and cores are free.

Shared by `load` (reading files) and `render` (MkDocs pages), so `KB_JOBS` means the same for both.
"""

from __future__ import annotations

import os
import sys
import threading
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

T = TypeVar("T")
R = TypeVar("R")


def processes(work: int, threshold: int, most: int) -> int:
    """Processes for `work` items: 1 below `threshold`, else one per core (at most `most`).

    `KB_JOBS=N` overrides the threshold (`KB_JOBS=1` forces one process). Workers are forked:
    fork is fast and needs no re-import, but it is only safe without other threads (kb serve
    has some once its server runs) and only the default, well-trodden choice on Linux.
    """
    wanted = os.environ.get("KB_JOBS", "").strip()
    if wanted.isdigit() and int(wanted) > 0:
        jobs = int(wanted)
    elif work >= threshold:
        jobs = min(available(), most)
    else:
        return 1
    if sys.platform != "linux" or threading.active_count() > 1:
        return 1
    return jobs


def available() -> int:
    """CPUs this process may run on (its affinity mask, not the machine's count)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        return os.cpu_count() or 1


def fork_map(fn: Callable[[T], R], items: Sequence[T], jobs: int) -> list[R]:
    """`[fn(x) for x in items]`, computed by `jobs` forked processes sharing the items.

    Each forked process takes every `jobs`-th item and sends its results back through a pipe;
    the main process computes the first share meanwhile. A process that fails or dies has
    its share computed again here, so an error surfaces exactly as in a serial run.
    """
    jobs = min(jobs, len(items))
    if jobs <= 1:
        return [fn(x) for x in items]
    import multiprocessing

    context = multiprocessing.get_context("fork")
    children: list[tuple[int, Any, Any]] = []
    try:
        for index in range(1, jobs):
            try:
                reader, writer = context.Pipe(duplex=False)
            except OSError:  # out of file descriptors: the shares not started are computed here
                break
            process = context.Process(
                target=_map_child, daemon=True, args=(writer, fn, items[index::jobs], os.getpid())
            )
            try:
                process.start()
            except OSError:  # fork failed (memory, process limit): likewise
                reader.close()
                break
            finally:
                writer.close()
            children.append((index, process, reader))
        started = {index for index, _, _ in children}
        shares: dict[int, list[R]] = {0: [fn(x) for x in items[0::jobs]]}
        for index in range(1, jobs):
            if index not in started:
                shares[index] = [fn(x) for x in items[index::jobs]]
        for index, process, reader in children:
            try:
                status, payload = reader.recv()
            except EOFError:  # died: killed, or out of memory
                status, payload = "error", None
            process.join()
            shares[index] = payload if status == "ok" else [fn(x) for x in items[index::jobs]]
    finally:  # also on an error or Ctrl-C in the main process: no process is left running
        for _, process, reader in children:
            if process.is_alive():
                process.kill()
            process.join()
            reader.close()
    out: list[R] = [None] * len(items)  # type: ignore[list-item]
    for index, values in shares.items():
        out[index::jobs] = values
    return out


def _map_child(conn: Any, fn: Callable[[Any], Any], items: Sequence[Any], parent: int) -> None:
    die_with_parent(parent)
    try:
        conn.send(("ok", [fn(x) for x in items]))
    except BaseException:  # noqa: BLE001 - the main process computes this share again
        conn.send(("error", None))
    finally:
        conn.close()


def die_with_parent(parent: int) -> None:
    """In a forked process: be killed when kb is (Ctrl-C twice, SIGKILL), rather than go on
    writing into folders the next build removes and creates again."""
    import ctypes
    import signal

    try:
        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):  # pragma: no cover - not glibc: rely on the check below
        pass
    if os.getppid() != parent:  # the parent died before prctl took effect
        os._exit(1)
