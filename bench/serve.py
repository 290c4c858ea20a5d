"""Benchmark: edit → reload in `kb serve`, from the edit to the loop's HTML written.

In a generated handbook of 1,000 loop cycles (with git history), a `kb.serve.Session` does its
first, full build; then, --edits times, one loop file (a different one each time) gets a
sentence appended to its body and `session.rebuild()` runs — what `kb serve`'s watcher calls
after a change. The time from the edit to the return of `rebuild()` is measured, and the
loop's page in the site is checked to hold the new sentence. Prints each edit, the median, how
many files were re-emitted and whether each rebuild was incremental (MkDocs' dirty build).

    python bench/serve.py [--loops 1000] [--edits 5] [--dir DIR]

Target (issue 5): median under 2 s at 1,000 loops. The file watcher's own latency and the
browser's reload are not included (MkDocs' livereload server waits for the writes to settle,
then tells the page to reload; both are independent of the handbook's size).
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from build import handbook, machine, verdict  # noqa: E402

TARGET = 2.0


@dataclass
class Edit:
    path: str
    seconds: float
    changed: tuple[str, ...]
    full: bool
    found: bool


@dataclass
class ServeFigures:
    loops: int
    first: float = 0.0
    first_full: bool = True
    edits: list[Edit] = field(default_factory=list)

    @property
    def median(self) -> float:
        return statistics.median(e.seconds for e in self.edits) if self.edits else float("nan")

    @property
    def ok(self) -> bool:
        return bool(self.edits) and self.median < TARGET and all(e.found for e in self.edits)


def _targets(content: Path, count: int) -> list[Path]:
    """`count` loop files spread over the years, each past its last step (`stage: repeat`), so
    the appended sentence lands in a section that is rendered."""
    loops = sorted(p for p in (content / "loops").rglob("*.md") if p.name != "index.md")
    done = [p for p in loops if "\nstage: repeat\n" in p.read_text(encoding="utf-8")]
    pool = done or loops
    step = max(1, len(pool) // count)
    return pool[step // 2 :: step][:count]


def edit_reload(root: Path, edits: int = 5, loops: int = 0, echo=print) -> ServeFigures:  # noqa: ANN001
    """Measure `edits` edit → rebuild cycles in the handbook at `root` (edits are undone after)."""
    from kb.serve import Session
    from kb.settings import load_settings

    settings = load_settings(root)
    site = settings.cache / "bench-serve-site"
    shutil.rmtree(site, ignore_errors=True)
    shutil.rmtree(settings.cache / "serve-docs", ignore_errors=True)
    fig = ServeFigures(loops)
    session = Session(settings, site)
    first = session.rebuild()
    fig.first, fig.first_full = first.seconds, first.full
    echo(
        f"first build: {first.seconds:.2f} s ({'full' if first.full else 'incremental'}, "
        f"{len(first.changed):,} files emitted)"
    )
    originals: dict[Path, str] = {}
    try:
        for n, path in enumerate(_targets(settings.content, edits), 1):
            originals[path] = path.read_text(encoding="utf-8")
            fig.edits.append(_edit(session, settings, path, n, site, echo))
    finally:  # leave the handbook as it was
        for path, text in originals.items():
            path.write_text(text, encoding="utf-8")
        shutil.rmtree(site, ignore_errors=True)
    return fig


def _edit(session, settings, path: Path, n: int, site: Path, echo) -> Edit:  # noqa: ANN001
    """Append a sentence to `path`, rebuild, and check the loop's page holds it."""
    from kb.templating import url_of

    rel = path.relative_to(settings.content)
    key = rel.with_suffix("").as_posix()
    sentence = f"Benchmark edit {n} appended this sentence at {time.time():.0f}."
    html = site / url_of(key) / "index.html"
    began = time.perf_counter()
    text = path.read_text(encoding="utf-8")
    path.write_text(text.rstrip("\n") + f"\n\n{sentence}\n", encoding="utf-8")
    result = session.rebuild()
    seconds = time.perf_counter() - began
    found = html.is_file() and sentence in html.read_text(encoding="utf-8")
    echo(
        f"edit {n}: {rel.as_posix()}: {seconds:.2f} s, "
        f"{'full' if result.full else 'incremental'}, {len(result.changed)} files re-emitted "
        f"({', '.join(result.changed[:4])}{', …' if len(result.changed) > 4 else ''}), "
        f"new text {'in' if found else 'NOT in'} the HTML"
    )
    return Edit(rel.as_posix(), seconds, result.changed, result.full, found)


def summary(fig: ServeFigures) -> str:
    changed = sorted({len(e.changed) for e in fig.edits})
    kinds = {"full" if e.full else "incremental" for e in fig.edits}
    return (
        f"{verdict(fig.ok)}  edit -> reload at {fig.loops:,} loops: median {fig.median:.2f} s of "
        f"{len(fig.edits)} edits (target < {TARGET:.0f} s); "
        f"{'/'.join(map(str, changed))} files re-emitted per edit; rebuilds {' and '.join(sorted(kinds))}"
        + ("" if all(e.found for e in fig.edits) else "; the new text was MISSING from some pages")
    )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--loops", type=int, default=1000)
    parser.add_argument("--edits", type=int, default=5)
    parser.add_argument("--dir", type=Path, help="keep the handbook under this folder (its files get edited)")
    args = parser.parse_args(argv)
    base = args.dir or Path(tempfile.mkdtemp(prefix="kb-bench-serve-"))
    try:
        print(f"machine: {machine()}")
        fig = edit_reload(handbook(base, args.loops), args.edits, args.loops)
    finally:
        if args.dir is None:
            shutil.rmtree(base, ignore_errors=True)
    print(summary(fig))
    sys.exit(0 if fig.ok else 1)


if __name__ == "__main__":
    main()
