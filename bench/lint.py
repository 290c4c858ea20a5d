"""Benchmark: `kb lint` on a large generated handbook against a bare read-and-parse floor.

Generates N loop cycles (plus principles, products and pages) with bench/gen.py, then runs,
each as a subprocess and interleaved, `kb lint` and a floor script that only reads every .md
file and parses its frontmatter with `yaml.load(..., Loader=yaml.CSafeLoader)` in one process.
Prints the median wall time of --runs runs of each, their ratio, and peak memory: the largest
process's peak RSS (from wait4) and, in one extra run, the whole process tree's RSS summed
(sampled every 5 ms, so pool workers count too; shared pages count once per process).

    python bench/lint.py [--loops 10000] [--runs 5] [--dir DIR]

With --dir, a handbook already there is reused, otherwise one is generated there and kept.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from gen import generate  # noqa: E402

FLOOR = """
import os, sys, yaml
loader = yaml.CSafeLoader
parsed = 0
for folder, _, names in os.walk(sys.argv[1]):
    for name in names:
        if name.endswith(".md"):
            with open(os.path.join(folder, name), encoding="utf-8") as fh:
                text = fh.read()
            end = text.find("\\n---\\n", 3)
            if text.startswith("---\\n") and end > 0:
                yaml.load(text[4:end], Loader=loader)
                parsed += 1
print(parsed, "frontmatter blocks parsed")
"""
PAGE = os.sysconf("SC_PAGE_SIZE")


def kb_command() -> list[str]:
    script = Path(sys.executable).with_name("kb")
    return [str(script), "lint"] if script.exists() else [sys.executable, "-m", "kb", "lint"]


def run_once(cmd: list[str], cwd: Path) -> tuple[float, int, str, int]:
    """Wall seconds, peak RSS in bytes of the largest process in the tree, stdout, exit code."""
    began = time.perf_counter()
    proc = subprocess.Popen(cmd, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    out = proc.stdout.read()  # type: ignore[union-attr]
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - began
    proc.returncode = os.waitstatus_to_exitcode(status)
    return wall, usage.ru_maxrss * 1024, out.decode(errors="replace"), proc.returncode


def tree_peak(cmd: list[str], cwd: Path) -> int:
    """Peak of the summed RSS of a command and all its descendants, sampled every 5 ms."""
    proc = subprocess.Popen(cmd, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    peak = 0
    done = threading.Event()

    def sample() -> None:
        nonlocal peak
        while not done.is_set():
            peak = max(peak, sum(_rss(pid) for pid in _tree(proc.pid)))
            time.sleep(0.005)

    watcher = threading.Thread(target=sample)
    watcher.start()
    proc.wait()
    done.set()
    watcher.join()
    return peak


def _tree(pid: int) -> list[int]:
    out, todo = [], [pid]
    while todo:
        current = todo.pop()
        out.append(current)
        try:
            with open(f"/proc/{current}/task/{current}/children") as fh:
                todo.extend(int(p) for p in fh.read().split())
        except OSError:
            pass
    return out


def _rss(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/statm") as fh:
            return int(fh.read().split()[1]) * PAGE
    except (OSError, IndexError, ValueError):
        return 0


def machine() -> str:
    model = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{os.cpu_count()} CPUs ({model}), Python {platform.python_version()}, {platform.system()}"


def bench(root: Path, runs: int) -> None:
    content = root / "content"
    files = [p for p in content.rglob("*.md")]
    size = sum(p.stat().st_size for p in files)
    print(f"corpus: {len(files):,} markdown files, {size / 1e6:.1f} MB ({root})")
    print(f"machine: {machine()}")
    commands = {"kb lint": kb_command(), "floor: read + yaml.load (CSafeLoader)":
                [sys.executable, "-c", FLOOR, str(content)]}
    for name, cmd in commands.items():  # warm the page cache; check that lint is clean
        _, _, out, code = run_once(cmd, root)
        if name == "kb lint" and (code != 0 or not out.strip().endswith(f"0 warnings in {len(files)} files")):
            print(f"warning: kb lint is not clean (exit {code}):\n{out[-2000:]}")
    times: dict[str, list[float]] = {name: [] for name in commands}
    rss: dict[str, int] = dict.fromkeys(commands, 0)
    for _ in range(runs):
        for name, cmd in commands.items():
            wall, peak, _, _ = run_once(cmd, root)
            times[name].append(wall)
            rss[name] = max(rss[name], peak)
    tree = {name: tree_peak(cmd, root) for name, cmd in commands.items()}
    print(f"\n| {'command':<40} | median | min    | max    | peak RSS (largest process) | peak RSS (tree) |")
    print(f"|{'-' * 42}|--------|--------|--------|----------------------------|-----------------|")
    for name in commands:
        t = times[name]
        print(f"| {name:<40} | {statistics.median(t):5.2f}s | {min(t):5.2f}s | {max(t):5.2f}s "
              f"| {rss[name] / 2**20:>23.0f} MB | {tree[name] / 2**20:>12.0f} MB |")
    kb, floor = (statistics.median(times[n]) for n in commands)
    print(f"\nkb lint / floor: {kb / floor:.2f}x (median of {runs} runs each; target <= 1.5x, < 300 MB)")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--loops", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--dir", type=Path, help="handbook to reuse, or where to generate it")
    args = parser.parse_args(argv)
    if args.dir is not None:
        if not (args.dir / "content").is_dir():
            generate(args.dir, args.loops, seed=args.seed)
        bench(args.dir, args.runs)
        return
    with tempfile.TemporaryDirectory(prefix="kb-bench-lint-") as tmp:
        generate(Path(tmp), args.loops, seed=args.seed)
        bench(Path(tmp), args.runs)


if __name__ == "__main__":
    main()
