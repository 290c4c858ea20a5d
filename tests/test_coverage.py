"""Principle coverage: the heatmap page, its tables, and `kb index principles --since`.

One handbook in a real git repository, built once through the CLI with "today" fixed at
2026-08-15 (SOURCE_DATE_EPOCH). Its loop cycles span 2025-Q1 … 2026-Q2 and the map runs on to
today's quarter, 2026-Q3 — seven quarters, three of them empty; loops sit on quarter and year
boundaries, one has no `authors` (its author comes from git), and one product has no loop at
all. Every expected number is computed here from the loop specs (`LOOPS`), never read back
from kb.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import xml.etree.ElementTree as ET
from collections import Counter
from pathlib import Path
from typing import NamedTuple

import pytest

from gitrepo import GIT_ENV, GitRepo
from site_helpers import run_kb

SVG_NS = "{http://www.w3.org/2000/svg}"
NOW = dt.date(2026, 8, 15)
FIXED_NOW = {"SOURCE_DATE_EPOCH": "1786752000"}  # NOW, 00:00 UTC
WINDOW = 195  # coverage_window_days: since 2026-02-01, inclusive
GIT_AUTHOR = GIT_ENV["GIT_AUTHOR_NAME"]

#: id → (title, order); `craft` is never practiced, `dormant` only long ago.
PRINCIPLES = {
    "ownership": ("Ownership", 1),
    "root-cause": ("Root-cause problem solving", 2),
    "listening": ("Listening & <learning>", 3),
    "dormant": ("Dormant habit", 4),
    "craft": ("Craft", 5),
}
PRODUCTS = {"journal": "Loop Journal", "inbox": "Feedback Inbox", "idle": "Idle Tool"}


class LoopSpec(NamedTuple):
    id: str
    date: str
    principles: tuple[str, ...]
    product: str | None
    authors: tuple[str, ...]  # empty: the git author


LOOPS = [
    LoopSpec("2025-02-14-old-habit", "2025-02-14", ("dormant",), "journal", ("Ana Lima",)),
    LoopSpec("2025-11-10-lost-notes", "2025-11-10", ("ownership",), "journal", ("Ana Lima",)),
    LoopSpec("2025-12-31-year-end", "2025-12-31", ("ownership", "root-cause"), "inbox", ("Ben Okafor",)),
    LoopSpec("2026-01-01-new-year", "2026-01-01", ("root-cause",), "journal", ()),
    LoopSpec("2026-02-01-listen", "2026-02-01", ("listening",), None, ("Ana Lima", "Ben Okafor")),
    LoopSpec("2026-03-31-quarter-end", "2026-03-31", ("ownership",), "inbox", ("Ben Okafor",)),
    LoopSpec("2026-04-01-quarter-start", "2026-04-01", ("ownership", "root-cause"), "journal", ("Cy Diaz",)),
]
QUARTERS = ["2025-Q1", "2025-Q2", "2025-Q3", "2025-Q4", "2026-Q1", "2026-Q2", "2026-Q3"]


def principle_file(pid: str) -> str:
    title, order = PRINCIPLES[pid]
    return (
        f'---\ntitle: "{title}"\nsummary: The {pid} principle.\norder: {order}\n---\n\n## Why\n\nBecause.\n'
    )


def product_file(pid: str) -> str:
    return (
        f"---\ntitle: {PRODUCTS[pid]}\nsummary: A product.\nproblem: A problem.\nusers: [Builders]\n"
        f"owner: Team\nstatus: live\n---\n\n## What\n\nIt works.\n"
    )


def loop_file(spec: LoopSpec) -> str:
    lines = [
        "---",
        f"title: Loop {spec.id[11:]}",
        f"date: {spec.date}",
        "stage: repeat",
        f"principles: [{', '.join(spec.principles)}]",
    ]
    if spec.product:
        lines.append(f"product: {spec.product}")
    if spec.authors:
        lines.append(f"authors: [{', '.join(spec.authors)}]")
    steps = "".join(
        f"## {n}. {s}\n\nNotes on {s.lower()}.\n\n"
        for n, s in enumerate(("Observe", "Reflect", "Design", "Implement", "Repeat"), 1)
    )
    return "\n".join(lines) + "\n---\n\n" + steps


def loop_path(spec: LoopSpec) -> str:
    return f"content/loops/{spec.date[:4]}/{spec.id}.md"


def quarter(day: str) -> str:
    return f"{day[:4]}-Q{(int(day[5:7]) - 1) // 3 + 1}"


def expected_counts() -> dict[tuple[str, str], int]:
    counts: Counter[tuple[str, str]] = Counter()
    for spec in LOOPS:
        for p in spec.principles:
            counts[(p, quarter(spec.date))] += 1
    return {(p, q): counts[(p, q)] for p in PRINCIPLES for q in QUARTERS}


def expected_stale() -> list[str]:
    since = NOW - dt.timedelta(days=WINDOW)
    practiced = {p for s in LOOPS if dt.date.fromisoformat(s.date) >= since for p in s.principles}
    return [title for pid, (title, _o) in PRINCIPLES.items() if pid not in practiced]


def expected_table(group: str) -> dict[str, tuple[int, str, list[str]]]:
    """name → (loops, "practiced / of", titles not yet practiced in principle order)."""
    groups: dict[str, list[LoopSpec]] = (
        {title: [] for title in PRODUCTS.values()} if group == "product" else {}
    )
    for spec in LOOPS:
        names = [PRODUCTS[spec.product]] if group == "product" and spec.product else []
        if group == "person":
            names = list(spec.authors or (GIT_AUTHOR,))
        for name in names:
            groups.setdefault(name, []).append(spec)
    out = {}
    for name, specs in groups.items():
        done = {p for s in specs for p in s.principles}
        missing = [t for pid, (t, _o) in PRINCIPLES.items() if pid not in done]
        out[name] = (len(specs), f"{len(done)} / {len(PRINCIPLES)}", missing)
    return out


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """The handbook committed in three steps, built once: (root, site)."""
    repo = GitRepo(
        tmp_path_factory.mktemp("coverage") / "hb", author=f"{GIT_AUTHOR} <{GIT_ENV['GIT_AUTHOR_EMAIL']}>"
    )
    repo.write(
        {
            "pyproject.toml": f"[tool.kb]\ncoverage_window_days = {WINDOW}\n",
            "content/index.md": "---\ntitle: Home\n---\n\nStart here.\n",
            **{f"content/principles/{p}.md": principle_file(p) for p in PRINCIPLES},
            **{f"content/products/{p}.md": product_file(p) for p in PRODUCTS},
        }
    )
    repo.write({loop_path(s): loop_file(s) for s in LOOPS[:3]})
    repo.commit(message="principles, products, first loops", when="2025-12-31T18:00:00Z")
    repo.write({loop_path(s): loop_file(s) for s in LOOPS[3:]})
    repo.commit(message="more loops", when="2026-04-02T09:00:00Z")
    repo.write({"content/index.md": "---\ntitle: Home\n---\n\nStart with the coverage.\n"})
    repo.commit(message="home", when="2026-04-03T09:00:00Z")
    out = repo.root.parent / "site"
    result = run_kb(["build", "--out", str(out)], repo.root, FIXED_NOW)
    assert result.exit_code == 0, result.output
    return repo.root, out


def svg_of(text: str) -> ET.Element:
    found = re.findall(r"<svg class=\"kb-coverage\".*?</svg>", text, flags=re.S)
    assert len(found) == 1, "exactly one coverage SVG"
    return ET.fromstring(found[0])


def emitted(root: Path) -> str:
    return (root / ".kb-cache/docs/principles/coverage.md").read_text(encoding="utf-8")


def cells(svg: ET.Element) -> dict[tuple[str, str], tuple[int, str]]:
    """(principle id, quarter) → (data-count, the number written in the cell)."""
    out = {}
    for g in svg.iter(SVG_NS + "g"):
        if g.get("class") != "kb-cell":
            continue
        key = (g.attrib["data-principle"], g.attrib["data-quarter"])
        assert key not in out, f"duplicate cell {key}"
        (text,) = g.findall(SVG_NS + "text")
        out[key] = (int(g.attrib["data-count"]), text.text or "")
    return out


def rows(svg: ET.Element) -> list[ET.Element]:
    """The ARIA rows: the quarter headings first, then one per principle."""
    return [g for g in svg.findall(SVG_NS + "g") if g.get("role") == "row"]


def headings(svg: ET.Element) -> list[str]:
    return [t.text or "" for t in rows(svg)[0].findall(SVG_NS + "text") if t.get("role") == "columnheader"]


def row_labels(svg: ET.Element) -> list[str]:
    return [
        t.text or ""
        for r in rows(svg)[1:]
        for t in r.findall(SVG_NS + "text")
        if t.get("role") == "rowheader"
    ]


@pytest.mark.parametrize("where", ["markdown", "html"])
def test_heatmap_cells_match_the_content(site: tuple[Path, Path], where: str) -> None:
    root, out = site
    text = (
        emitted(root) if where == "markdown" else (out / "principles/coverage/index.html").read_text("utf-8")
    )
    svg = svg_of(text)
    got = cells(svg)
    want = expected_counts()
    assert len(got) == len(PRINCIPLES) * len(QUARTERS)
    assert {k: v[0] for k, v in got.items()} == want
    assert all(written == str(count) for count, written in got.values())
    assert sum(want.values()) == sum(len(s.principles) for s in LOOPS)
    assert headings(svg) == ["Principle", *QUARTERS]
    # A table a screen reader can walk: each principle row holds its header and one cell per quarter.
    assert svg.get("role") == "table" and svg.find(SVG_NS + "title") is not None
    assert len(rows(svg)) == 1 + len(PRINCIPLES)
    for row, pid in zip(rows(svg)[1:], PRINCIPLES, strict=True):
        row_cells = [g for g in row.findall(SVG_NS + "g") if g.get("role") == "cell"]
        assert [(g.get("data-principle"), g.get("data-quarter")) for g in row_cells] == [
            (pid, q) for q in QUARTERS
        ]


def test_heatmap_rows_flag_principles_not_practiced_in_the_window(site: tuple[Path, Path]) -> None:
    root, _out = site
    stale = expected_stale()
    assert stale == ["Dormant habit", "Craft"]  # listening, on the window's first day, counts
    want = [title + (" ⚠" if title in stale else "") for title, _o in PRINCIPLES.values()]
    assert row_labels(svg_of(emitted(root))) == want
    section = emitted(root).split("## Not practiced in the last 195 days", 1)[1].split("## By product")[0]
    assert re.findall(r"^- \[(.+?)\]", section, flags=re.M) == stale
    assert "last practiced 2025-02-14" in section and "last practiced —" in section
    assert "(to 2026-08-15)" in emitted(root)


def table_rows(text: str, heading: str) -> dict[str, tuple[int, str, list[str]]]:
    section = text.split(f"## {heading}\n", 1)[1].split("\n## ", 1)[0]
    out = {}
    for line in section.splitlines():
        m = re.fullmatch(r"\| \[(.+?)\]\(.+?\) \| (\d+) \| (\d+ / \d+) \| (.*) \|", line)
        if m:
            missing = [] if m[4] == "—" else m[4].split(", ")
            out[m[1].replace("\\", "")] = (int(m[2]), m[3], missing)
    return out


def test_per_product_and_per_person_tables(site: tuple[Path, Path]) -> None:
    text = emitted(site[0])
    unescape = {"Listening &amp; &lt;learning&gt;": "Listening & <learning>"}

    def clean(rows: dict[str, tuple[int, str, list[str]]]) -> dict[str, tuple[int, str, list[str]]]:
        return {k: (n, frac, [unescape.get(m, m) for m in miss]) for k, (n, frac, miss) in rows.items()}

    assert clean(table_rows(text, "By product")) == expected_table("product")
    assert clean(table_rows(text, "By person")) == expected_table("person")
    assert GIT_AUTHOR in table_rows(text, "By person")  # the loop without `authors`


def index_json(root: Path, *args: str) -> dict[str, dict[str, object]]:
    result = run_kb(["index", "principles", "--format", "json", *args], root)
    assert result.exit_code == 0, result.output
    return {row["id"]: row for row in json.loads(result.stdout)}


@pytest.mark.parametrize("since", [None, "2025-12-31", "2026-02-02", "2026-04-02"])
def test_index_since_filters_loops_by_date(site: tuple[Path, Path], since: str | None) -> None:
    rows = index_json(site[0], *(["--since", since] if since else []))
    assert list(rows) == list(PRINCIPLES)
    for pid, row in rows.items():
        specs = [s for s in LOOPS if pid in s.principles and (since is None or s.date >= since)]
        specs.sort(key=lambda s: s.date, reverse=True)
        assert row["loops"] == [s.id for s in specs]
        assert row["last_practiced"] == (specs[0].date if specs else None)


def test_index_since_in_markdown_counts_and_bad_date(site: tuple[Path, Path]) -> None:
    result = run_kb(["index", "principles", "--since", "2026-01-01"], site[0])
    assert result.exit_code == 0
    assert "| Ownership | The ownership principle. | 2 | 0 | 2026-04-01 |" in result.stdout
    assert "| Dormant habit | The dormant principle. | 0 | 0 | — |" in result.stdout
    bad = run_kb(["index", "principles", "--since", "2026-13-01"], site[0])
    assert bad.exit_code == 2 and "Traceback" not in bad.output
