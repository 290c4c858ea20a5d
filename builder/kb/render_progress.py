"""Progress of a long render on a terminal: `kb: rendered 450/904 pages (210 pages/s)`.

MkDocs says nothing while it renders, and a large handbook takes tens of seconds. The line is
rewritten in place (carriage return) at most four times a second, starts only once the render
has run for a second, and is left out entirely when stderr is not a terminal, when `CI` is
set (logs are not terminals, but some CI runners pretend), or when the caller asks for quiet.
"""

from __future__ import annotations

import os
import sys
import time
from typing import TextIO

#: Seconds before the first line (a short render shows nothing) and between two lines.
DELAY = 1.0
EVERY = 0.25


def wanted(stream: TextIO | None = None, quiet: bool = False) -> bool:
    """Whether progress belongs on `stream` (default stderr)."""
    stream = stream or sys.stderr
    if quiet or _quiet_command() or os.environ.get("CI"):
        return False
    try:
        return stream.isatty()
    except (AttributeError, ValueError):  # closed or replaced streams
        return False


def _quiet_command() -> bool:
    """Whether the kb command running asked for -q (`kb build -q`). `kb.build` does not pass -q
    down to the render, so the render asks click's current command; outside a command: no."""
    try:
        import click
    except ImportError:  # pragma: no cover - click is a dependency of kb
        return False
    ctx = click.get_current_context(silent=True)
    return bool(ctx is not None and ctx.params.get("quiet"))


class Progress:
    """Counts pages against a total; `show(done)` prints when it is time, `end()` ends the line."""

    def __init__(self, total: int, stream: TextIO | None = None, enabled: bool = True) -> None:
        self.total = total
        self.stream = stream or sys.stderr
        self.enabled = enabled
        self.began = time.monotonic()
        self.last = 0.0
        self.shown = False

    def show(self, done: int, force: bool = False) -> None:
        if not self.enabled:
            return
        now = time.monotonic()
        if not force and (now - self.began < DELAY or now - self.last < EVERY):
            return
        self.last = now
        rate = done / max(now - self.began, 1e-6)
        self.stream.write(f"\rkb: rendered {done}/{self.total} pages ({rate:.0f} pages/s)")
        self.stream.flush()
        self.shown = True

    def end(self, done: int) -> None:
        """The final count on its line, then a newline (only if a line was started)."""
        if self.shown:
            self.show(done, force=True)
            self.stream.write("\n")
            self.stream.flush()
            self.shown = False
