"""kb build against tuned MkDocs on a plain-page handbook (no frontmatter, nested folders).

    python bench/pages.py [--pages 900] [--small 100] [--runs 3] [--dir DIR] [--git]

Generates the handbook with `bench/gen.py --plain` (or uses DIR: a handbook root whose markdown
is in its content folder), then, interleaved, `--runs` times each:

- `kb build` cold: `.kb-cache/` and the site deleted before every run;
- `mkdocs build` of the same markdown with what a knowledgeable user would write: theme
  material with `navigation.prune`, the search plugin, and docs_dir pointing at the content folder
  (leaving out kb's `site/`, for a handbook at the repository root).

Prints the median and min/max wall time of each, their ratio, the same for CPU time (user +
system of the whole process tree: what a busy machine's wall time follows), the size of both sites (du -sb),
and the size of one page (`about/team/who-we-are/`, whose folder is the same at every size) at
`--small` pages and at `--pages` pages: a page must not grow with the pages of other folders.
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import gen  # noqa: E402 - bench/gen.py, beside this file

BIN = Path(sys.executable).parent
PROBE = Path("about/team/who-we-are/index.html")
MKDOCS_YML = """site_name: Plain pages
theme:
  name: material
  features:
    - navigation.prune
plugins:
  - search
docs_dir: {docs}
site_dir: {site}
exclude_docs: |
  /site/
"""


def du(path: Path) -> int:
    return int(
        subprocess.run(["du", "-sb", str(path)], capture_output=True, text=True, check=True).stdout.split()[0]
    )


def timed(command: list[str], **kwargs: object) -> tuple[float, float]:
    """Wall time and CPU time (user + system of the process and the children it waited for)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    began = time.perf_counter()
    subprocess.run(command, check=True, capture_output=True, **kwargs)
    wall = time.perf_counter() - began
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def kb_build(root: Path) -> tuple[float, float]:
    shutil.rmtree(root / ".kb-cache", ignore_errors=True)
    shutil.rmtree(root / "site", ignore_errors=True)
    return timed([str(BIN / "kb"), "build", "-q"], cwd=root)


def mkdocs_build(config: Path, site: Path) -> tuple[float, float]:
    shutil.rmtree(site, ignore_errors=True)
    return timed([str(BIN / "mkdocs"), "build", "-q", "-f", str(config)])


def content_of(root: Path) -> Path:
    sys.path.insert(0, str(HERE.parent / "builder"))
    from kb.settings import load_settings

    return load_settings(root).content


def compare(root: Path, runs: int, work: Path) -> dict[str, object]:
    site = work / "mkdocs-site"
    config = work / "mkdocs.yml"
    config.write_text(MKDOCS_YML.format(docs=content_of(root), site=site), encoding="utf-8")
    kb_times, mk_times, kb_cpu, mk_cpu = [], [], [], []
    for _ in range(runs):
        wall, cpu = kb_build(root)
        kb_times.append(wall)
        kb_cpu.append(cpu)
        wall, cpu = mkdocs_build(config, site)
        mk_times.append(wall)
        mk_cpu.append(cpu)
    probe_kb, probe_mk = root / "site" / PROBE, site / PROBE
    return {
        "files": sum(
            1
            for p in content_of(root).rglob("*.md")
            if not any(part.startswith(".") for part in p.relative_to(root).parts)
        ),
        "kb": kb_times,
        "mkdocs": mk_times,
        "kb_cpu": kb_cpu,
        "mkdocs_cpu": mk_cpu,
        "kb_size": du(root / "site"),
        "mkdocs_size": du(site),
        "kb_probe": probe_kb.stat().st_size if probe_kb.is_file() else None,
        "mkdocs_probe": probe_mk.stat().st_size if probe_mk.is_file() else None,
    }


def row(name: str, times: list[float]) -> str:
    return f"{name:<38} {statistics.median(times):7.2f} s  (min {min(times):.2f}, max {max(times):.2f})"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pages", type=int, default=900)
    parser.add_argument(
        "--small", type=int, default=100, help="the smaller handbook, for page sizes (0: skip)"
    )
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--dir", type=Path, help="an existing handbook root instead of a generated one")
    parser.add_argument("--git", action="store_true", help="generate with git history")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="kb-pages-") as tmp:
        work = Path(tmp)
        if args.dir:
            root = args.dir.resolve()
        else:
            root = work / "big"
            gen.generate_plain(root, args.pages, git=args.git)
        print(f"load average {os.getloadavg()[0]:.2f}; {args.runs} runs each, interleaved", flush=True)
        big = compare(root, args.runs, work)
        print(f"\n{big['files']} markdown files ({root})")
        print(row("kb build (cold: no cache, no site)", big["kb"]))
        print(row("mkdocs build (material, prune, search)", big["mkdocs"]))
        ratio = statistics.median(big["kb"]) / statistics.median(big["mkdocs"])
        print(f"{'kb / mkdocs':<38} {ratio:7.2f}x   (target <= 0.6x)")
        print(row("CPU time: kb build", big["kb_cpu"]))
        print(row("CPU time: mkdocs build", big["mkdocs_cpu"]))
        cpu_ratio = statistics.median(big["kb_cpu"]) / statistics.median(big["mkdocs_cpu"])
        print(f"{'CPU time: kb / mkdocs':<38} {cpu_ratio:7.2f}x")
        print(f"{'site size: kb':<38} {big['kb_size'] / 1e6:7.1f} MB")
        print(
            f"{'site size: mkdocs':<38} {big['mkdocs_size'] / 1e6:7.1f} MB"
            f"   (kb/mkdocs {big['kb_size'] / big['mkdocs_size']:.2f}x)"
        )
        if args.small and not args.dir:
            small_root = work / "small"
            gen.generate_plain(small_root, args.small, git=args.git)
            (work / "small-work").mkdir()
            small = compare(small_root, 1, work / "small-work")
            print(f"\n{PROBE.parent}/ page: {args.small} → {args.pages} pages")
            print(f"{'  kb':<38} {small['kb_probe']:>9,} → {big['kb_probe']:,} bytes")
            print(f"{'  mkdocs (prune)':<38} {small['mkdocs_probe']:>9,} → {big['mkdocs_probe']:,} bytes")
        print(f"load average {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
