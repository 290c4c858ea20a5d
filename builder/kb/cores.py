"""How many processes a stage may use: one, unless the work is large, fork is safe and cores are free.

Shared by `load` (reading files) and `render` (MkDocs pages), so `KB_JOBS` means the same for both.
"""

from __future__ import annotations

import os
import sys
import threading


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
