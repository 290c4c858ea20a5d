"""Benchmark: `kb lint` on a large generated handbook against a bare read-and-parse floor.

Generates N loop cycles (plus principles, products and pages) with bench/gen.py, then runs,
each as a subprocess and interleaved run by run:

- `kb lint` as users run it (on this many files it reads with several processes),
- `kb lint` with `KB_JOBS=1` (one process),
- the floor: one process that only reads every .md file and parses its frontmatter with
  `yaml.load(..., Loader=yaml.CSafeLoader)`.

Prints the median wall time and CPU time (user + sys, children included) of --runs runs of
each, kb's ratio to the floor, and peak memory: the largest process's peak RSS (wait4) and,
in one extra run, the whole process tree's RSS summed (sampled every 5 ms, so pool workers
count too, and pages they share with the parent count twice). The load average before and
after is printed too: on a busy machine wall times mean little.

    python bench/lint.py [--loops 10000] [--runs 5] [--dir DIR]

With --dir, a handbook already there is reused, otherwise one is generated there and kept.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from build import machine  # noqa: E402 - one description of the machine for every benchmark

GEN = Path(__file__).resolve().with_name("gen.py")
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


@dataclass
class Command:
    name: str
    argv: list[str]
    env: dict[str, str] = field(default_factory=dict)
    walls: list[float] = field(default_factory=list)
    cpus: list[float] = field(default_factory=list)
    rss: int = 0  # bytes, largest process
    tree: int = 0  # bytes, whole tree, sampled


@dataclass
class Run:
    wall: float
    cpu: float
    rss: int
    out: str
    code: int


def generate(root: Path, loops: int, seed: int) -> None:
    """In a subprocess, so that this process stays small: a child's peak RSS as wait4 reports
    it starts from its parent's peak (Linux carries it across vfork and exec)."""
    subprocess.run(
        [sys.executable, str(GEN), str(root), "--loops", str(loops), "--seed", str(seed)], check=True
    )


def kb_argv() -> list[str]:
    script = Path(sys.executable).with_name("kb")
    return [str(script), "lint"] if script.exists() else [sys.executable, "-m", "kb", "lint"]


def run_once(cmd: Command, cwd: Path) -> Run:
    """One run: wall and CPU seconds, peak RSS of the largest process in the tree, output."""
    env = {**os.environ, **cmd.env}
    began = time.perf_counter()
    proc = subprocess.Popen(cmd.argv, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    out = proc.stdout.read()  # type: ignore[union-attr]
    _, status, usage = os.wait4(proc.pid, 0)  # usage includes the children it waited for
    wall = time.perf_counter() - began
    proc.returncode = os.waitstatus_to_exitcode(status)
    return Run(
        wall,
        usage.ru_utime + usage.ru_stime,
        usage.ru_maxrss * 1024,
        out.decode(errors="replace"),
        proc.returncode,
    )


def tree_peak(cmd: Command, cwd: Path) -> int:
    """Peak of the summed RSS of a command and all its descendants, sampled every 5 ms."""
    proc = subprocess.Popen(
        cmd.argv, cwd=cwd, env={**os.environ, **cmd.env}, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
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


def load_average() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def compile_kb() -> None:
    """Write kb's bytecode, as an installed kb has it: with PYTHONDONTWRITEBYTECODE set (some CI
    and sandbox shells set it) every run would compile each module edited since the last write
    again (50-300 ms, more than some of what this benchmark compares)."""
    import importlib.util

    spec = importlib.util.find_spec("kb")
    for folder in (spec.submodule_search_locations or []) if spec else []:
        subprocess.run([sys.executable, "-m", "compileall", "-q", folder], check=False)


def bench(root: Path, runs: int) -> None:
    compile_kb()
    content = root / "content"
    files = list(content.rglob("*.md"))
    size = sum(p.stat().st_size for p in files)
    print(f"corpus: {len(files):,} markdown files, {size / 1e6:.1f} MB ({root})")
    print(f"machine: {machine()}")
    print(f"load average before: {load_average()}")
    commands = [
        Command("kb lint", kb_argv()),
        Command("kb lint, one process (KB_JOBS=1)", kb_argv(), {"KB_JOBS": "1"}),
        Command("floor: read + yaml.load (CSafeLoader)", [sys.executable, "-c", FLOOR, str(content)]),
    ]
    for cmd in commands:  # warm the page cache; check that lint is clean
        first = run_once(cmd, root)
        clean = first.out.strip().endswith(f"0 errors, 0 warnings in {len(files)} files")
        if cmd.name.startswith("kb") and (first.code != 0 or not clean):
            print(f"warning: {cmd.name} is not clean (exit {first.code}):\n{first.out[-2000:]}")
    for _ in range(runs):
        for cmd in commands:
            run = run_once(cmd, root)
            cmd.walls.append(run.wall)
            cmd.cpus.append(run.cpu)
            cmd.rss = max(cmd.rss, run.rss)
    for cmd in commands:
        cmd.tree = tree_peak(cmd, root)
    print(f"load average after:  {load_average()}")
    report(commands, runs)


def report(commands: list[Command], runs: int) -> None:
    print(f"\n| {'command':<38} | wall median | min    | max    | CPU median | peak RSS | tree RSS |")
    print(f"|{'-' * 40}|-------------|--------|--------|------------|----------|----------|")
    for cmd in commands:
        print(
            f"| {cmd.name:<38} | {statistics.median(cmd.walls):9.2f} s | {min(cmd.walls):4.2f} s "
            f"| {max(cmd.walls):4.2f} s | {statistics.median(cmd.cpus):8.2f} s "
            f"| {cmd.rss / 2**20:5.0f} MB | {cmd.tree / 2**20:5.0f} MB |"
        )
    floor = statistics.median(commands[-1].walls)
    for cmd in commands[:-1]:
        print(f"{cmd.name} / floor: {statistics.median(cmd.walls) / floor:.2f}x")
    print(f"(medians of {runs} interleaved runs; target: kb lint <= 1.0x the floor, < 300 MB for the tree)")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--loops", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--dir", type=Path, help="handbook to reuse, or where to generate it")
    args = parser.parse_args(argv)
    if args.dir is not None:
        if not (args.dir / "content").is_dir():
            generate(args.dir, args.loops, args.seed)
        bench(args.dir, args.runs)
        return
    with tempfile.TemporaryDirectory(prefix="kb-bench-lint-") as tmp:
        generate(Path(tmp) / "handbook", args.loops, args.seed)
        bench(Path(tmp) / "handbook", args.runs)


if __name__ == "__main__":
    main()
