"""What a render gives back to the pipeline: MkDocs' warnings and how many processes rendered.

A leaf module, so `kb.render` and `kb.render_parallel` share the record without importing
each other.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path


@dataclass
class Rendered:
    warnings: list[str] = field(default_factory=list)
    processes: int = 1
    pages: int = 0  # in the site (kb.render_cache counts them)
    reused: int = 0  # of those, taken from the last build's site unchanged (kb.render_cache)
    why_all: str = ""  # why every page was rendered (kb.render_cache), for `kb build -v`
    #: Keeps the site as the render cache (kb.render_cache.RenderCache.save), called once the
    #: site is in place: (its folder, the previous site moved aside or None) -> whether it
    #: took the previous site's folders over (then not to be removed). None: nothing to keep.
    keep: Callable[[Path, Path | None], bool] | None = None
