"""How many processes a stage may use, and the one way kb forks them.

Three stages can share their work between processes: `load` (reading files), `emit` (writing
pages) and `render` (MkDocs' page loop). `PLANS` says, in one table, from how much work each
forks and into how many processes at most; `jobs(stage, work)` applies it, and `KB_JOBS`
means the same for all three. Every worker is started by `fork()`; `fork_map` (load, emit)
maps a function over items with it, render forks inside MkDocs' own events with it.
"""

from __future__ import annotations

import os
import pickle
import select
import signal
import struct
import sys
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, NoReturn, TypeVar

T = TypeVar("T")
R = TypeVar("R")


@dataclass(frozen=True)
class Plan:
    """When a stage forks: from `threshold` items of work, into one process per core, at most
    `most` (None: no limit). `why` is the measurement the numbers come from."""

    threshold: int
    most: int | None
    why: str


PLANS: dict[str, Plan] = {
    "load": Plan(
        2000,
        4,
        "~0.25 ms of work a file, against ~0.1 s to start a worker and send its documents back; "
        "beyond 4 the main process, which unpickles every result, is the bottleneck",
    ),
    "emit": Plan(500, None, "~1 ms a page; the pages sent back are short strings"),
    "render": Plan(
        200,
        4,
        "each extra process re-reads every page (MkDocs' nav and titles need them all); "
        "beyond 4 that re-reading eats what another core saves",
    ),
}


def jobs(stage: str, work: int) -> int:
    """Processes for `work` items of `stage` (a key of `PLANS`), as `processes` decides."""
    plan = PLANS[stage]
    return processes(work, plan.threshold, plan.most or available())


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


def fork() -> int:
    """`os.fork()` for a kb worker: 0 in the child, which ends with kb (Ctrl-C, SIGKILL) rather
    than go on writing into folders the next build removes; the child's pid in the parent.
    Raises OSError when the system cannot fork (memory, process limit)."""
    parent = os.getpid()
    pid = os.fork()
    if pid == 0:
        signal.signal(signal.SIGINT, signal.SIG_DFL)  # Ctrl-C ends it; never unwinds into kb
        die_with_parent(parent)
    return pid


#: Items are handed out in batches: about this many per process, so that the processes meet
#: near the end of the work (balance) without a message per item (cost).
BATCHES_PER_PROCESS = 16
#: A notice through a worker's pipe: (batch index, offset, length) of its result in the spill.
_NOTICE = struct.Struct("qqq")
#: The main process waits this long for the lock on the shared counters before it takes a
#: worker for stuck (killed while holding it) and computes what is left itself.
LOCK_TIMEOUT = 30.0


def fork_map(
    fn: Callable[[T], R], items: Sequence[T], jobs: int, setup: Callable[[], None] | None = None
) -> list[R]:
    """`[fn(x) for x in items]`, computed by `jobs` processes: `jobs - 1` forked workers and this one.

    Items go out in batches. Workers take batches from the front and this process from the
    back, until they meet: the split balances itself whatever each item costs, and this
    process, which also unpickles what the workers send, simply takes fewer. A worker writes
    each batch's pickled results into its own unnamed temporary file (in memory where
    /dev/shm allows) and a 24-byte notice into its pipe, and goes on: it never waits for this
    process, which reads the results between its own batches (through a pipe alone, a worker
    sat blocked on a full pipe until then). Nothing is pickled on the way out: the workers
    see `items` as the fork left them. `setup` runs once in each worker (to register cheaper
    pickling, say).

    A batch a worker fails on (or cannot pickle), and the batches of a worker that dies, are
    computed again here, so an error surfaces exactly as in a serial run.
    """
    jobs = min(jobs, len(items))
    if jobs <= 1:
        return [fn(x) for x in items]
    size = max(1, len(items) // (jobs * BATCHES_PER_PROCESS))
    batches = [items[i : i + size] for i in range(0, len(items), size)]
    done = _Meeting(batches, fn, setup).run(jobs)
    return [result for index in range(len(batches)) for result in done[index]]


class _Stuck(Exception):
    """The lock on the shared counters was not released: a worker died holding it."""


class _Meeting:
    """Batches handed out from both ends of one shared pair of counters (front, back)."""

    def __init__(self, batches: list[Sequence[Any]], fn: Callable[[Any], Any], setup: Any) -> None:
        import mmap

        self.batches = batches
        self.fn = fn
        self.setup = setup
        self.counters = mmap.mmap(-1, 16)  # anonymous and shared: the workers see every update
        struct.pack_into("qq", self.counters, 0, 0, len(batches))
        self.lock_read, self.lock_write = os.pipe()  # a lock: the one byte in the pipe is its key
        os.write(self.lock_write, b"k")
        self.children: dict[int, int] = {}  # read end of its notice pipe -> pid
        self.buffers: dict[int, bytearray] = {}  # notices read in part
        self.spills: dict[int, int] = {}  # read end of its notice pipe -> its results' file
        self.done: dict[int, list[Any]] = {}

    def run(self, jobs: int) -> dict[int, list[Any]]:
        try:
            for _ in range(jobs - 1):
                if not self._start():
                    break
            try:
                while (index := self._claim(front=False)) is not None:
                    self.done[index] = [self.fn(x) for x in self.batches[index]]
                    self._read(wait=False)
                while self.children:
                    self._read(wait=True)
            except _Stuck:
                pass  # the workers are killed below; what they did not send is computed here
        finally:  # also on an error or Ctrl-C here: no worker is left running
            self._stop()
        for index, batch in enumerate(self.batches):
            if index not in self.done:  # failed, unpicklable, or its worker died
                self.done[index] = [self.fn(x) for x in batch]
        return self.done

    # -- the shared counters -------------------------------------------------------------
    def _claim(self, front: bool) -> int | None:
        """The next batch from the front (a worker) or the back (this process); None when met."""
        if not front and not select.select([self.lock_read], [], [], LOCK_TIMEOUT)[0]:
            raise _Stuck
        os.read(self.lock_read, 1)
        try:
            first, end = struct.unpack_from("qq", self.counters, 0)
            if first >= end:
                return None
            if front:
                struct.pack_into("q", self.counters, 0, first + 1)
                return int(first)
            struct.pack_into("q", self.counters, 8, end - 1)
            return int(end - 1)
        finally:
            os.write(self.lock_write, b"k")

    # -- workers -------------------------------------------------------------------------
    def _start(self) -> bool:
        try:
            spill = _spill_file()
        except OSError:  # out of file descriptors: the batches are shared by fewer processes
            return False
        try:
            reader, writer = os.pipe()
        except OSError:  # likewise
            os.close(spill)
            return False
        try:
            pid = fork()
        except OSError:  # fork failed (memory, process limit): likewise
            os.close(reader)
            os.close(writer)
            os.close(spill)
            return False
        if pid == 0:
            os.close(reader)
            self._child(writer, spill)  # never returns
        os.close(writer)
        self.children[reader] = pid
        self.buffers[reader] = bytearray()
        self.spills[reader] = spill
        return True

    def _child(self, writer: int, spill: int) -> NoReturn:
        code = 1
        try:
            for fd in self.children:  # the pipes of the workers forked before this one
                os.close(fd)
            if self.setup is not None:
                self.setup()
            offset = 0
            while (index := self._claim(front=True)) is not None:
                try:
                    payload = pickle.dumps([self.fn(x) for x in self.batches[index]], pickle.HIGHEST_PROTOCOL)
                except Exception:  # noqa: BLE001 - the main process computes this batch again
                    continue
                view = memoryview(payload)
                while view:
                    view = view[os.pwrite(spill, view, offset + len(payload) - len(view)) :]
                os.write(writer, _NOTICE.pack(index, offset, len(payload)))  # atomic: < PIPE_BUF
                offset += len(payload)
            code = 0
        finally:
            os._exit(code)

    def _read(self, wait: bool) -> None:
        """Take in what the workers sent; with `wait`, block until at least one sends or ends."""
        ready = select.select(list(self.children), [], [], None if wait else 0)[0]
        for fd in ready:
            data = os.read(fd, 1 << 16)
            if not data:  # the worker ended (or died): whatever it did not send is computed here
                os.close(fd)
                os.waitpid(self.children.pop(fd), 0)
                os.close(self.spills.pop(fd))
                continue
            buffer = self.buffers[fd]
            buffer += data
            while len(buffer) >= _NOTICE.size:
                index, offset, length = _NOTICE.unpack_from(buffer, 0)
                del buffer[: _NOTICE.size]
                payload = os.pread(self.spills[fd], length, offset)
                if len(payload) == length:  # else the file system failed it: computed here
                    self.done[index] = pickle.loads(payload)

    def _stop(self) -> None:
        for fd, pid in self.children.items():
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:  # pragma: no cover - already gone
                pass
            os.waitpid(pid, 0)
            os.close(fd)
            os.close(self.spills.pop(fd))
        self.children.clear()
        os.close(self.lock_read)
        os.close(self.lock_write)
        self.counters.close()


def _spill_file() -> int:
    """A file with no name for a worker's results (`_spill_folder`): it vanishes when closed.
    Made with O_TMPFILE where the system has it (no `tempfile` import on lint's serial path)."""
    folder = _spill_folder()
    unnamed = getattr(os, "O_TMPFILE", 0)
    if folder is not None and unnamed:
        try:
            return os.open(folder, os.O_RDWR | unnamed, 0o600)
        except OSError:  # the file system cannot: a named file, removed at once
            pass
    import tempfile

    fd, name = tempfile.mkstemp(dir=folder)
    os.unlink(name)
    return fd


def _spill_folder() -> str | None:
    """Where workers write their results: /dev/shm (memory) when it can be written, else the
    system's temporary folder. The files have no name: they vanish when closed."""
    shm = "/dev/shm"
    return shm if os.path.isdir(shm) and os.access(shm, os.W_OK | os.X_OK) else None


def die_with_parent(parent: int) -> None:
    """In a forked process: be killed when kb is (Ctrl-C twice, SIGKILL), rather than go on
    writing into folders the next build removes and creates again."""
    import ctypes

    try:
        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):  # pragma: no cover - not glibc: rely on the check below
        pass
    if os.getppid() != parent:  # the parent died before prctl took effect
        os._exit(1)
