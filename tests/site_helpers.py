"""Helpers for the site tests (emit, build, browser, serve, scaffold, adoption).

`SMALL` is a small handbook that exercises every generated page: two principles (one with an
alias), two products (depends_on, interfaces, alternatives), three loops in a `follows` chain
across two years at different stages (one with feedback), and plain pages with every wikilink
form, a relative link with an anchor, an adopted page without frontmatter, and an image asset.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Mapping, Sequence
from pathlib import Path

from click.testing import CliRunner, Result

from kb.cli import main

REPO = Path(__file__).resolve().parents[1]

#: A 1×1 transparent PNG, the smallest real image asset.
PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d49444154789c63000100000500010d0a2db40000000049454e44ae426082"
)

SMALL: dict[str, str | bytes] = {
    "content/index.md": """\
---
title: Team Handbook
summary: How we build products.
---

# Welcome

Start with [[ownership]] and the [[products/journal|journal]] card.
""",
    "content/principles/ownership.md": """\
---
title: Ownership
summary: Treat the problems you touch as yours to see through.
order: 1
aliases: [take ownership]
related: [root-cause]
---

## Why it matters

Owners see problems through.
""",
    "content/principles/root-cause.md": """\
---
title: Root-cause problem solving
summary: Fix the cause, not the symptom.
order: 2
---

## In practice

Ask why five times. See [[ownership]].
""",
    "content/products/journal.md": """\
---
title: Loop Journal
summary: Where builders write their loop cycles.
problem: Reflections get lost in chat threads.
users: [Product builders, Coaches]
owner: Ana Lima
status: live
interfaces:
  - name: kb new loop
    kind: cli
    description: Scaffolds a cycle with all five steps.
  - name: Loop pages
    kind: ui
    description: One page per cycle, linked to its principles.
depends_on: [inbox]
alternatives: [inbox, Paper notebook]
principles: [ownership]
tags: [writing]
---

## What it is

A folder of markdown files, one per cycle.
""",
    "content/products/inbox.md": """\
---
title: Feedback Inbox
summary: Collects user feedback in one place.
problem: Feedback is scattered across tools.
users: [Product builders]
owner: Team Inbox
status: building
interfaces:
  - name: Feedback feed
    kind: file
    description: A JSON file of quotes with their sources.
principles: [root-cause]
---

## What it is

One inbox for every quote.
""",
    "content/loops/2025/2025-12-01-lost-notes.md": """\
---
title: Lost notes
date: 2025-12-01
stage: repeat
principles: [ownership]
product: journal
authors: [Ana Lima]
---

## 1. Observe

Notes from the last cycle were lost.

## 2. Reflect

Nobody owned the notes.

## 3. Design

One file per cycle.

## 4. Implement

Wrote the template.

## 5. Repeat

Check next month whether notes survive.
""",
    "content/loops/2026/2026-01-10-notes-survive.md": """\
---
title: Notes survive
date: 2026-01-10
stage: repeat
principles: [ownership, root-cause]
product: journal
follows: 2025-12-01-lost-notes
authors: [Ana Lima, Ben Okafor]
feedback:
  - source: Coach survey
    quote: I can finally find last month's notes.
    url: https://example.com/survey
---

## 1. Observe

Coaches said notes are findable now.

## 2. Reflect

The [[take ownership|owner]] habit stuck.

## 3. Design

Add a search box.

## 4. Implement

Search is built in.

## 5. Repeat

Watch for duplicate cycles.
""",
    "content/loops/2026/2026-02-20-duplicate-cycles.md": """\
---
title: Duplicate cycles
date: 2026-02-20
stage: design
principles: [root-cause]
product: inbox
follows: 2026-01-10-notes-survive
authors: [Ben Okafor]
---

## 1. Observe

Two people wrote the same cycle.

## 2. Reflect

The [[inbox]] shows no owner per quote.

## 3. Design

Assign each quote to one builder.
""",
    "content/handbook/guide.md": """\
---
title: Writing guide
summary: How to write a loop cycle.
---

Read [[ownership#Why it matters]] first, then [[journal|the journal card]].
The [[products/inbox]] collects feedback; [[root cause problem solving]] is not a link.
See also [cost estimation](cost_estimation.md#how-we-estimate).

![The loop](img/loop.png)
""",
    "content/handbook/cost_estimation.md": """\
# Cost estimation

## How we estimate

In weeks, never in hours. Back to the [guide](guide.md).
""",
    "content/handbook/img/loop.png": PNG,
}


#: The "now" of builds that must not depend on the calendar (coverage page): 2026-06-01 UTC.
FIXED_NOW = {"SOURCE_DATE_EPOCH": "1780272000"}


def run_kb(args: Sequence[str], root: Path | None = None, env: Mapping[str, str] | None = None) -> Result:
    """Run the `kb` CLI in-process (`--root` first when given), with extra environment `env`."""
    full = (["--root", str(root)] if root is not None else []) + list(args)
    return CliRunner(env=dict(env or {})).invoke(main, full, catch_exceptions=False)


def principle_count(root: Path) -> int:
    """How many principles a handbook holds: its files under `content/principles/` (tests count
    them from the content, so an editor adding a principle breaks no test)."""
    return len(list((root / "content" / "principles").rglob("*.md")))


def write_tree(root: Path, files: Mapping[str, str | bytes]) -> Path:
    """Write files under `root` (str as UTF-8 without newline translation) and return root."""
    (root / "content").mkdir(parents=True, exist_ok=True)
    for rel, data in files.items():
        target = root / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data.encode("utf-8") if isinstance(data, str) else data)
    return root


def snapshot(folder: Path) -> dict[str, str]:
    """Relative path → sha256 of every file under `folder` (the whole tree's state)."""
    out = {}
    for dirpath, _dirs, names in os.walk(folder):
        for name in names:
            path = Path(dirpath) / name
            out[path.relative_to(folder).as_posix()] = hashlib.sha256(path.read_bytes()).hexdigest()
    return out


def mtimes(folder: Path) -> dict[str, int]:
    """Relative path → st_mtime_ns of every file under `folder`."""
    out = {}
    for dirpath, _dirs, names in os.walk(folder):
        for name in names:
            path = Path(dirpath) / name
            out[path.relative_to(folder).as_posix()] = path.stat().st_mtime_ns
    return out


def html_files(site: Path) -> list[Path]:
    return sorted(site.rglob("*.html"))


#: Frontmatter strings that would inject markup or break markdown tables if written raw.
HOSTILE: dict[str, str | bytes] = {
    "content/index.md": """\
---
title: Home & <b>away</b>
---

Start with [[xss]] and [[evil]].
""",
    "content/principles/xss.md": """\
---
title: <script>alert(1)</script>
summary: "Pipes | and *stars* and _under_ and `ticks` and [brackets](x) and <i>tags</i>"
aliases: [injection]
---

## Why

Because.
""",
    "content/products/evil.md": """\
---
title: "Evil \\"quoted\\" product"
summary: "A | B * C"
problem: "Cells | split | here"
users: ["<img src=x onerror=alert(2)>", "Mallory | Eve"]
owner: "<img src=x onerror=alert(1)>"
status: idea
interfaces:
  - name: "<svg onload=alert(3)>"
    kind: api
    description: "a | b"
alternatives: ["<script>alert(4)</script>"]
principles: [xss]
---

## What it is

Text.
""",
    "content/loops/2026/2026-03-01-hostile.md": """\
---
title: "Loop <script>alert(5)</script>"
date: 2026-03-01
stage: observe
principles: [xss]
product: evil
authors: ["<b>Bold</b> | Pipe"]
feedback:
  - source: "<script>alert(6)</script>"
    quote: "It *broke* | badly <img src=x onerror=alert(7)>"
    url: "https://example.com/a b)c"
---

## Observe

Saw it.
""",
}


def many_loops(count: int, base: Mapping[str, str | bytes] = SMALL) -> dict[str, str | bytes]:
    """`base` plus `count` generated loop cycles (big enough that rendering takes seconds)."""
    files = dict(base)
    for i in range(count):
        day = f"2024-{1 + i % 12:02d}-{1 + i % 28:02d}"
        principle = ("ownership", "root-cause")[i % 2]
        files[f"content/loops/2024/{day}-generated-{i:04d}.md"] = (
            f"---\ntitle: Generated cycle {i}\ndate: {day}\nstage: repeat\n"
            f"principles: [{principle}]\nproduct: journal\nauthors: [Author {i % 7}]\n---\n\n"
            + "".join(
                f"## {n}. {step}\n\nCycle {i} {step.lower()} notes, with a [[{principle}]] link.\n\n"
                for n, step in enumerate(("Observe", "Reflect", "Design", "Implement", "Repeat"), 1)
            )
        )
    return files


#: A markdown extension that raises on a marker (`BOOM-MARKER`), put in a handbook's `ext/` and
#: named in its mkdocs.yml: a page the renderer fails on (KB705, kb.render_guard).
BOOM = """\
from markdown.extensions import Extension
from markdown.preprocessors import Preprocessor


class Boom(Preprocessor):
    def run(self, lines):
        if any("BOOM-MARKER" in line for line in lines):
            raise ValueError("boom on purpose")
        return lines


class BoomExtension(Extension):
    def extendMarkdown(self, md):
        md.preprocessors.register(Boom(md), "boom", 5)


def makeExtension(**kwargs):
    return BoomExtension(**kwargs)
"""
