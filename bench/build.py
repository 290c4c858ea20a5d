"""Benchmark: `kb build` stage by stage, time per page, and a second emit with no change.

For each size (default 1,000 loop cycles) a handbook with git history by several authors is
generated with bench/gen.py, then:

1. `kb build` runs once as a subprocess, from a cold cache (no .kb-cache/, no site/): its wall
   time, which includes starting Python and importing MkDocs, gives the time per page;
2. `kb.build.build` runs in this process, again from a cold cache, and its own timings give
   each stage (load+validate+link, history, emit, render) and kb's own stages' share of it;
3. `kb.emit.emit` runs twice on the same checked graph and history, and the second run (no
   change, so no file is rewritten) is timed.

    python bench/build.py [--loops 1000 5000] [--dir DIR] [--no-git]

Targets (issue 3): kb's own stages under 10% of the build; time per page flat within 1.5x from
1,000 to 5,000 loops; second emit under 0.3 s. With --dir the handbooks are kept in
DIR/loops-N (reused when already there).
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent / "builder"))  # a checkout without kb installed

from gen import generate  # noqa: E402

OWN_STAGES = ("load+validate+link", "history", "emit")
SHARE_TARGET = 0.10
FLAT_TARGET = 1.5
SECOND_EMIT_TARGET = 0.3


# -- shared helpers (bench/run.py and bench/serve.py use them too) ----------------------------
def machine() -> str:
    model = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return (
        f"{os.cpu_count()} CPUs ({model}), Python {platform.python_version()}, "
        f"{platform.system()} {platform.release()}"
    )


def kb_command(*args: str) -> list[str]:
    """`kb ARGS…` with the kb next to this Python, else `python -m kb`."""
    script = Path(sys.executable).with_name("kb")
    return [str(script), *args] if script.exists() else [sys.executable, "-m", "kb", *args]


def handbook(base: Path | None, loops: int, git: bool = True) -> Path:
    """A generated handbook of `loops` loop cycles under `base` (kept and reused), else a temp dir."""
    if base is None:
        base = Path(tempfile.mkdtemp(prefix="kb-bench-"))
    root = base / (f"loops-{loops}" + ("" if git else "-nogit"))
    if not (root / "content").is_dir():
        began = time.perf_counter()
        if root.exists():
            shutil.rmtree(root)
        paths = generate(root, loops, git=git)
        print(
            f"generated {len(paths):,} files ({loops:,} loops{', git history' if git else ''}) "
            f"in {root} ({time.perf_counter() - began:.1f} s)",
            file=sys.stderr,
        )
    return root


def clean(root: Path) -> None:
    """Forget everything kb wrote, so the next build is a cold one."""
    for name in (".kb-cache", "site"):
        shutil.rmtree(root / name, ignore_errors=True)


def run_timed(
    cmd: list[str], cwd: Path, log: Path | None = None, env: dict[str, str] | None = None
) -> tuple[float, int, int, float, int]:
    """Wall seconds, peak RSS in bytes, exit code, CPU seconds (user + system) of `cmd`, and
    the peak of its process tree's summed RSS in bytes (`TreePeak`; 0 where there is no /proc).

    The peak is the kernel's ru_maxrss from wait4 for that child, which on Linux is the largest
    of the child's own peak and its waited-for descendants' (git for kb, for instance): the
    same figure as `/usr/bin/time -v`'s "Maximum resident set size", without the wrapper.
    CPU time counts the whole tree (children it waited for included); unlike wall time it
    hardly moves when other processes compete for the cores.
    """
    out = open(log, "wb") if log else subprocess.DEVNULL  # noqa: SIM115
    try:
        began = time.perf_counter()
        proc = subprocess.Popen(cmd, cwd=cwd, stdout=out, stderr=subprocess.STDOUT, env=env)
        with TreePeak(proc.pid) as tree:
            _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - began
    finally:
        if log:
            out.close()  # type: ignore[union-attr]
    proc.returncode = os.waitstatus_to_exitcode(status)
    return wall, usage.ru_maxrss * 1024, proc.returncode, usage.ru_utime + usage.ru_stime, tree.peak


class TreePeak(threading.Thread):
    """The peak, over a process's life, of the RSS summed over it and all its descendants
    (kb's render forks a process per core, and each has its own pages): /proc read every 0.1 s
    by a thread (a few ms a read: more often would take CPU from the build it measures).
    ru_maxrss gives only the largest single process. Pages the forked processes share (copy on
    write) count once per process, as RSS counts them, which overstates what the tree holds;
    a peak shorter than the interval can be missed."""

    def __init__(self, pid: int, interval: float = 0.1) -> None:
        super().__init__(daemon=True)
        self.pid, self.interval, self.peak = pid, interval, 0
        self.done = threading.Event()

    def __enter__(self) -> TreePeak:
        if Path("/proc/self/stat").exists():
            self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.done.set()
        if self.is_alive():
            self.join()

    def run(self) -> None:
        while not self.done.is_set():
            self.peak = max(self.peak, self.sample())
            self.done.wait(self.interval)

    def sample(self) -> int:
        parents: dict[int, list[int]] = {}
        rss: dict[int, int] = {}
        page = os.sysconf("SC_PAGE_SIZE")
        for entry in os.scandir("/proc"):
            if not entry.name.isdigit():
                continue
            try:
                stat = Path(entry.path, "stat").read_text()
                statm = Path(entry.path, "statm").read_text().split()
            except OSError:
                continue  # gone meanwhile
            fields = stat[stat.rfind(")") + 2 :].split()  # after the command's name
            pid = int(entry.name)
            parents.setdefault(int(fields[1]), []).append(pid)
            rss[pid] = int(statm[1]) * page
        total, stack = 0, [self.pid]
        while stack:
            pid = stack.pop()
            total += rss.get(pid, 0)
            stack.extend(parents.get(pid, ()))
        return total


# -- the benchmark ----------------------------------------------------------------------------
@dataclass
class BuildFigures:
    loops: int
    files: int = 0
    pages: int = 0
    wall: float = 0.0  # the subprocess `kb build`
    peak: int = 0
    tree: int = 0  # the peak of its process tree's summed RSS (TreePeak)
    in_process: float = 0.0  # kb.build.build in this process
    stages: dict[str, float] = field(default_factory=dict)
    second_emit: float = 0.0
    second_emit_changed: int = -1

    @property
    def own(self) -> float:
        return sum(self.stages.get(s, 0.0) for s in OWN_STAGES)

    @property
    def share(self) -> float:
        return self.own / self.in_process if self.in_process else 0.0

    @property
    def per_page(self) -> float:
        return self.wall / self.pages if self.pages else 0.0


def measure(root: Path, loops: int, log_dir: Path | None = None) -> BuildFigures:
    from kb.build import build
    from kb.emit import emit
    from kb.history import read_history
    from kb.pipeline import check
    from kb.settings import load_settings

    fig = BuildFigures(loops)
    clean(root)
    log = (log_dir or root) / f"kb-build-{loops}.log"
    fig.wall, fig.peak, code, _, fig.tree = run_timed(kb_command("build", "-v"), root, log)
    if code != 0:
        raise SystemExit(f"kb build failed (exit {code}), see {log}")

    clean(root)
    settings = load_settings(root)
    began = time.perf_counter()
    result = build(settings)
    fig.in_process = time.perf_counter() - began
    fig.stages = dict(result.timings)
    fig.stages["other"] = max(0.0, fig.in_process - sum(result.timings.values()))
    fig.files, fig.pages = result.files, result.pages

    checked = check(settings)
    hist = read_history(settings.root, [d.path for d in checked.corpus.documents])
    docs = settings.cache / "bench-docs"
    shutil.rmtree(docs, ignore_errors=True)
    emit(checked, hist, settings, docs)
    began = time.perf_counter()
    again = emit(checked, hist, settings, docs)
    fig.second_emit = time.perf_counter() - began
    fig.second_emit_changed = len(again.changed)
    shutil.rmtree(docs, ignore_errors=True)
    return fig


def verdict(ok: bool) -> str:
    return "PASS" if ok else "FAIL"


def report(figs: list[BuildFigures]) -> list[tuple[str, bool]]:
    """Print the figures; return (target, passed) pairs."""
    print(f"machine: {machine()}")
    stages = list(dict.fromkeys(s for f in figs for s in f.stages))
    head = [
        "loops",
        "files",
        "pages",
        *stages,
        "in-process",
        "kb share",
        "kb build (subprocess)",
        "peak RSS",
        "per page",
        "2nd emit",
    ]
    print("\n| " + " | ".join(head) + " |")
    print("|" + "|".join("---:" for _ in head) + "|")
    for f in figs:
        cells = [
            f"{f.loops:,}",
            f"{f.files:,}",
            f"{f.pages:,}",
            *(f"{f.stages.get(s, 0.0):.2f} s" for s in stages),
            f"{f.in_process:.2f} s",
            f"{f.share:.1%}",
            f"{f.wall:.2f} s",
            f"{f.peak / 2**20:.0f} MB",
            f"{f.per_page * 1000:.1f} ms",
            f"{f.second_emit:.3f} s ({f.second_emit_changed} written)",
        ]
        print("| " + " | ".join(cells) + " |")
    results = []
    print()
    for f in figs:
        ok = f.share < SHARE_TARGET
        results.append((f"kb's own stages < {SHARE_TARGET:.0%} of the build, {f.loops:,} loops", ok))
        print(
            f"{verdict(ok)}  kb's own stages (load+validate+link, history, emit): {f.own:.2f} s "
            f"= {f.share:.1%} of the {f.in_process:.2f} s build at {f.loops:,} loops "
            f"(target < {SHARE_TARGET:.0%})"
        )
        ok = f.second_emit < SECOND_EMIT_TARGET and f.second_emit_changed == 0
        results.append((f"second emit < {SECOND_EMIT_TARGET} s, {f.loops:,} loops", ok))
        print(
            f"{verdict(ok)}  second emit with no change: {f.second_emit:.3f} s, "
            f"{f.second_emit_changed} files written at {f.loops:,} loops (target < {SECOND_EMIT_TARGET} s, none)"
        )
    if len(figs) > 1:
        small, large = min(figs, key=lambda f: f.loops), max(figs, key=lambda f: f.loops)
        ratio = large.per_page / small.per_page
        ok = ratio <= FLAT_TARGET
        results.append((f"time per page flat {small.loops:,} -> {large.loops:,} (<= {FLAT_TARGET}x)", ok))
        print(
            f"{verdict(ok)}  time per page: {small.per_page * 1000:.1f} ms at {small.loops:,} loops, "
            f"{large.per_page * 1000:.1f} ms at {large.loops:,}: {ratio:.2f}x (target <= {FLAT_TARGET}x)"
        )
    return results


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--loops",
        type=int,
        nargs="+",
        default=[1000],
        help="sizes in loop cycles (default 1000; e.g. --loops 1000 5000)",
    )
    parser.add_argument("--dir", type=Path, help="keep (and reuse) the handbooks under this folder")
    parser.add_argument("--no-git", action="store_true", help="generate without git history")
    args = parser.parse_args(argv)
    base = args.dir or Path(tempfile.mkdtemp(prefix="kb-bench-build-"))
    try:
        figs = [measure(handbook(base, n, git=not args.no_git), n) for n in sorted(set(args.loops))]
    finally:
        if args.dir is None:
            shutil.rmtree(base, ignore_errors=True)
    results = report(figs)
    sys.exit(0 if all(ok for _, ok in results) else 1)


if __name__ == "__main__":
    main()
