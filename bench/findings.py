"""Benchmark: `kb lint` on a handbook migrated from another generator, full of findings.

A handbook moved over from Hugo or GitBook arrives with tens of thousands of findings (broken
site-root links, anchors that the old generator made differently, files that never came
along). Issue 11 asks that 4,500 such pages with 50,000 findings lint in under 3 s and
300 MB for the whole process tree, and that 900 clean plain pages lint in under 1 s.

Generates --pages plain pages with bench/gen.py's plain layout, then appends to each page
--per-page broken links of the kinds real migrations bring (missing files, missing anchors,
site-root links to pages that were never moved, near-miss frontmatter keys), and prints the
median wall and CPU time of --runs `kb lint` runs, the number of findings, and the process
tree's peak RSS (bench/lint.py's sampler).

    python bench/findings.py [--pages 4500] [--per-page 11] [--runs 3] [--dir DIR]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from build import machine  # noqa: E402
from gen import generate_plain  # noqa: E402
from lint import Command, kb_argv, load_average, run_once, tree_peak  # noqa: E402

#: Broken things a migrated page carries, each one finding: (frontmatter key or None, body line).
BROKEN = [
    "[old section](/handbook/gone-{i}/)",
    "[a heading that moved](index.md#old-heading-{i})",
    "[an attachment](files/report-{i}.pdf)",
    "[a sibling that was renamed](renamed-page-{i}.md)",
    "![a diagram](/images/diagram-{i}.png)",
    "[[missing-wikilink-{i}]]",
]


def break_pages(root: Path, per_page: int) -> int:
    """Append `per_page` broken links to every non-index page; a near-miss key on every tenth.
    Returns the number of findings planted."""
    planted = 0
    for n, path in enumerate(sorted((root / "content").rglob("*.md"))):
        if path.name == "index.md":
            continue
        text = path.read_text(encoding="utf-8")
        lines = [BROKEN[k % len(BROKEN)].format(i=n * per_page + k) for k in range(per_page)]
        if n % 10 == 0 and not text.startswith("---"):
            text = "---\ntitel: Misspelt\n---\n" + text
            planted += 1
        path.write_text(text + "\n" + "\n\n".join(lines) + "\n", encoding="utf-8")
        planted += per_page
    return planted


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pages", type=int, default=4500)
    parser.add_argument("--per-page", type=int, default=11)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--dir", type=Path)
    args = parser.parse_args(argv)
    root = args.dir or Path(tempfile.mkdtemp(prefix="kb-findings-"))
    if not (root / "content").is_dir():
        generate_plain(root, args.pages)
        planted = break_pages(root, args.per_page) if args.per_page else 0
        print(f"generated {args.pages} pages with {planted} planted findings in {root}")
    print(machine(), "| load before:", load_average())
    cmd = Command("kb lint", kb_argv())
    walls, cpus, summary = [], [], ""
    for _ in range(args.runs):
        run = run_once(cmd, root)
        walls.append(run.wall)
        cpus.append(run.cpu)
        summary = run.out.strip().splitlines()[-1] if run.out.strip() else "(no output)"
    peak = tree_peak(cmd, root)
    print(
        f"kb lint: median {statistics.median(walls):.2f} s of {args.runs} "
        f"(min {min(walls):.2f} s), CPU median {statistics.median(cpus):.2f} s (user + sys, "
        f"children too), tree peak {peak / 2**20:.0f} MB | {summary}"
    )
    print("load after:", load_average())


if __name__ == "__main__":
    main()
