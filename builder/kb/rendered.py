"""What a render gives back to the pipeline: MkDocs' warnings and how many processes rendered.

A leaf module, so `kb.render` and `kb.render_parallel` share the record without importing
each other.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class Rendered:
    warnings: list[str] = field(default_factory=list)
    processes: int = 1
    pages: int = 0  # in the site (kb.render_cache counts them)
    reused: int = 0  # of those, taken from the last build's site unchanged (kb.render_cache)
    why_all: str = ""  # why every page was rendered (kb.render_cache), for `kb build -v`
