"""kb build against tuned MkDocs on a plain-page handbook (no frontmatter, nested folders).

    python bench/pages.py [--pages 900] [--small 100] [--runs 3] [--dir DIR] [--git] [--before SRC]

Generates the handbook with `bench/gen.py --plain` (or copies DIR: a handbook root whose markdown
is in its content folder), then, interleaved, `--runs` times each:

- `kb build` cold (`.kb-cache/` and the site deleted before every run) with the SAME mkdocs.yml
  as MkDocs below (kb uses a repository's own mkdocs.yml, adding its theme overrides itself):
  the reported comparison;
- `kb build` cold with kb's built-in configuration (no mkdocs.yml: Material with more features,
  more markdown extensions, the tags plugin), the second row;
- with `--before SRC`, the same two with the kb whose `builder/` is in SRC (an older checkout);
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
TUNED = """site_name: Plain pages
theme:
  name: material
  features:
    - navigation.prune
plugins:
  - search
exclude_docs: |
  /site/
"""
MKDOCS_YML = TUNED + "docs_dir: {docs}\nsite_dir: {site}\n"


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


def kb_build(root: Path, source: Path | None = None) -> tuple[float, float]:
    """`kb build -q` cold; `source`: the checkout whose `builder/` holds the kb to run."""
    shutil.rmtree(root / ".kb-cache", ignore_errors=True)
    shutil.rmtree(root / "site", ignore_errors=True)
    env = dict(os.environ)
    if source is not None:
        env["PYTHONPATH"] = str(source / "builder")
    return timed([str(BIN / "kb"), "build", "-q"], cwd=root, env=env)


def mkdocs_build(config: Path, site: Path) -> tuple[float, float]:
    shutil.rmtree(site, ignore_errors=True)
    return timed([str(BIN / "mkdocs"), "build", "-q", "-f", str(config)])


def content_of(root: Path) -> Path:
    sys.path.insert(0, str(HERE.parent / "builder"))
    from kb.settings import load_settings

    return load_settings(root).content


def compare(roots: dict[str, Path], runs: int, work: Path, before: Path | None) -> dict[str, object]:
    """Interleaved runs of every kb row and the tuned MkDocs; `roots` holds the handbook with
    the tuned mkdocs.yml ("same") and without one ("builtin"), the same markdown."""
    site = work / "mkdocs-site"
    config = work / "mkdocs.yml"
    config.write_text(MKDOCS_YML.format(docs=content_of(roots["same"]), site=site), encoding="utf-8")
    builds = {
        f"kb{tag}_{kind}": (roots[kind], source)
        for tag, source in (("", None),) + ((("_before", before),) if before else ())
        for kind in ("same", "builtin")
    }
    times: dict[str, list[float]] = {name: [] for name in [*builds, "mkdocs"]}
    cpu: dict[str, list[float]] = {name: [] for name in times}
    for _ in range(runs):
        for name, (root, source) in builds.items():
            wall, used = kb_build(root, source)
            times[name].append(wall)
            cpu[name].append(used)
        wall, used = mkdocs_build(config, site)
        times["mkdocs"].append(wall)
        cpu["mkdocs"].append(used)
    probe = roots["same"] / "site" / PROBE
    return {
        "files": sum(
            1
            for p in content_of(roots["same"]).rglob("*.md")
            if not any(part.startswith(".") for part in p.relative_to(roots["same"]).parts)
        ),
        "times": times,
        "cpu": cpu,
        "kb_size": du(roots["same"] / "site"),
        "kb_builtin_size": du(roots["builtin"] / "site"),
        "mkdocs_size": du(site),
        "kb_probe": probe.stat().st_size if probe.is_file() else None,
        "mkdocs_probe": (site / PROBE).stat().st_size if (site / PROBE).is_file() else None,
    }


def twins(root: Path, work: Path) -> dict[str, Path]:
    """The handbook at `root` twice under `work`: with the tuned mkdocs.yml, and without any."""
    out = {}
    for kind in ("same", "builtin"):
        copy = work / kind
        shutil.copytree(root, copy, symlinks=True, ignore=shutil.ignore_patterns("site", ".kb-cache"))
        for name in ("mkdocs.yml", "mkdocs.yaml"):
            (copy / name).unlink(missing_ok=True)
        if kind == "same":
            (copy / "mkdocs.yml").write_text(TUNED, encoding="utf-8")
        out[kind] = copy
    return out


def row(name: str, times: list[float]) -> str:
    return f"{name:<38} {statistics.median(times):7.2f} s  (min {min(times):.2f}, max {max(times):.2f})"


LABELS = {
    "kb_same": "kb build, same mkdocs.yml (cold)",
    "kb_builtin": "kb build, built-in config (cold)",
    "kb_before_same": "kb build BEFORE, same mkdocs.yml",
    "kb_before_builtin": "kb build BEFORE, built-in config",
    "mkdocs": "mkdocs build (material, prune, search)",
}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pages", type=int, default=900)
    parser.add_argument(
        "--small", type=int, default=100, help="the smaller handbook, for page sizes (0: skip)"
    )
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--dir", type=Path, help="an existing handbook root instead of a generated one")
    parser.add_argument("--git", action="store_true", help="generate with git history")
    parser.add_argument("--before", type=Path, help="a checkout of an older kb, measured too (its builder/)")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="kb-pages-") as tmp:
        work = Path(tmp)
        if args.dir:
            root = args.dir.resolve()
        else:
            root = work / "big"
            gen.generate_plain(root, args.pages, git=args.git)
        (work / "twins").mkdir()
        roots = twins(root, work / "twins")
        print(f"load average {os.getloadavg()[0]:.2f}; {args.runs} runs each, interleaved", flush=True)
        big = compare(roots, args.runs, work, args.before)
        times, cpu = big["times"], big["cpu"]
        assert isinstance(times, dict) and isinstance(cpu, dict)
        mk, mk_cpu = statistics.median(times["mkdocs"]), statistics.median(cpu["mkdocs"])
        print(f"\n{big['files']} markdown files ({root}); wall time, then CPU time (user + sys of the tree)")
        for name, walls in times.items():
            ratio = statistics.median(walls) / mk
            used = statistics.median(cpu[name])
            print(f"{row(LABELS[name], walls)}  {ratio:5.2f}x   CPU {used:6.2f} s  {used / mk_cpu:5.2f}x")
        print(
            f"{'target: kb / mkdocs (same mkdocs.yml)':<38} <= 0.6x (issue 11), <= 0.4x (issue 15); mkdocs CPU {mk_cpu:.2f} s"
        )
        print(f"{'site size: kb, same mkdocs.yml':<38} {big['kb_size'] / 1e6:7.1f} MB")
        print(f"{'site size: kb, built-in config':<38} {big['kb_builtin_size'] / 1e6:7.1f} MB")
        print(
            f"{'site size: mkdocs':<38} {big['mkdocs_size'] / 1e6:7.1f} MB"
            f"   (kb/mkdocs {big['kb_size'] / big['mkdocs_size']:.2f}x with the same mkdocs.yml)"
        )
        if args.small and not args.dir:
            small_root = work / "small"
            gen.generate_plain(small_root, args.small, git=args.git)
            (work / "small-work").mkdir()
            small = compare(twins(small_root, work / "small-work"), 1, work / "small-work", None)
            print(f"\n{PROBE.parent}/ page: {args.small} → {args.pages} pages")
            print(f"{'  kb':<38} {small['kb_probe']:>9,} → {big['kb_probe']:,} bytes")
            print(f"{'  mkdocs (prune)':<38} {small['mkdocs_probe']:>9,} → {big['mkdocs_probe']:,} bytes")
        print(f"load average {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
