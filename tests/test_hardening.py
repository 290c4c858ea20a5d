"""Hardening beyond the fault corpus: resource bounds, escaping everywhere, safe output paths.

- **Bounds**: a handbook where *every* file is broken (a generated mix of fault kinds) lints in
  bounded time and memory, as a real subprocess. 1,000 files run by default; 10,000 are marked
  `slow` (`pytest -m slow tests/test_hardening.py -s` prints the measured figures).
- **Escaping**: hostile strings in every frontmatter field that reaches the site (titles,
  summaries, owners, users, tags, feedback, interface names, aliases, authors, alternatives,
  non-goals, consumes, page keys passed to Material) and in file names are built with
  `kb build`; every HTML, XML and JSON file is scanned for markup that got through unescaped.
- **Output safety**: ids, titles, tags and names holding `..`, `/` and `%2e%2e` never place a
  file outside the output folder or the cache's docs tree (every real path is checked), and
  nothing appears beside them.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from conftest import make_base, make_kb
from kb.cli import main
from test_faults import RUNNER, injected, scan_site, state

# -- resource bounds ------------------------------------------------------------------------

REPEAT = "".join(
    f"## {n}. {s}\n\n{s} notes.\n\n"
    for n, s in enumerate(("Observe", "Reflect", "Design", "Implement", "Repeat"), 1)
)
BOMB = "".join(
    f"  {chr(98 + i)}: &{chr(98 + i)} [" + ", ".join(f"*{chr(97 + i)}" for _ in range(9)) + "]\n"
    for i in range(4)
)


def _loop(i: int, front: str, body: str = REPEAT) -> str:
    return f"---\ntitle: Loop {i}\ndate: 2026-01-{1 + i % 28:02d}\nstage: repeat\nprinciples: [p]\n{front}---\n\n{body}"


#: One way to break a file per entry: (folder, name suffix, text or bytes) from the file's number.
FAULTS = [
    lambda i: _loop(i, "tags: [unclosed\n"),  # KB103
    lambda i: _loop(i, "feedback:\n\t- source: tab\n"),  # KB103 tabs
    lambda i: _loop(i, "title: again\n"),  # KB105
    lambda i: f"---\ntitle: Loop {i}\ndate: 2026-01-01\n\n## 1. Observe\n",  # KB102
    lambda i: _loop(i, "").encode("utf-8").replace(b"Loop", b"L\xe9op"),  # KB101
    lambda i: _loop(i, "").replace("notes", "no\x00tes", 1),  # KB101 NUL
    lambda i: _loop(i, "extra:\n  a: &a [x, x, x, x, x, x, x, x, x]\n" + BOMB),  # KB107 aliases
    lambda i: _loop(i, "extra: " + "[" * 1000 + "]" * 1000 + "\n"),  # KB107 depth
    lambda i: _loop(i, "evil: !!python/object/apply:os.system [x]\n"),  # KB108
    lambda i: _loop(i, "stage2: x\nsumary: typo\n"),  # KB202
    lambda i: _loop(i, "product: [a, b]\nauthors: someone\n").replace("stage: repeat", "stage: 5"),
    lambda i: _loop(i, "").replace("2026-01", "2026-02-30 #"),  # KB204 date
    lambda i: _loop(i, f"follows: l{i:05d}\n"),  # KB411 (itself)
    lambda i: _loop(i, "", REPEAT + f"[[nowhere-{i}]] [x](../missing-{i}.md#a) [y](#nope)\n"),
    lambda i: _loop(i, "", REPEAT + "<script>x</script> [z](javascript:alert(1))\n"),
    lambda i: _loop(i, "", "## 1. Observe\n\n"),  # KB501/KB502
    lambda i: "+++\ntitle = 'toml'\n+++\n",  # KB102 TOML
    lambda i: _loop(i, "") + "padding " * 700,  # KB106 (> 4 KiB)
    lambda i: _loop(i, "").replace("[p]", "[" + ", ".join(f"unknown-{j}" for j in range(30)) + "]"),
    lambda i: "---\n- a list\n- not a mapping\n---\n\n" + REPEAT,  # KB104
]


def broken_handbook(root: Path, files: int) -> Path:
    """`files` loop files under content/loops/, each broken one of the FAULTS ways, and the
    one principle they practice (so that no fault hides behind an unknown principle)."""
    folder = root / "content" / "loops" / "2026"
    folder.mkdir(parents=True)
    (root / "kb.toml").write_text("max_file_bytes = 4096\n", encoding="utf-8")
    (root / "content" / "principles").mkdir()
    (root / "content" / "principles" / "p.md").write_text("---\ntitle: P\nsummary: S.\n---\n\nText.\n")
    for i in range(files):
        data = FAULTS[i % len(FAULTS)](i)
        (folder / f"l{i:05d}.md").write_bytes(data if isinstance(data, bytes) else data.encode("utf-8"))
    return root


MEASURE = """\
import resource, subprocess, sys, time
start = time.perf_counter()
done = subprocess.run(sys.argv[1:], capture_output=True, text=True)
seconds = time.perf_counter() - start
rss = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
lines = done.stdout.splitlines()
print(f"{seconds:.2f} {rss} {done.returncode} {len(lines) - 1} {lines[-1] if lines else ''}")
sys.stderr.write(done.stderr[-2000:])
"""


def measure_lint(root: Path, timeout: float) -> tuple[float, int, int, int, str]:
    """(seconds, max RSS in KiB, exit status, finding lines, summary) of `kb lint` on `root`."""
    command = [
        sys.executable,
        "-c",
        MEASURE,
        sys.executable,
        "-c",
        RUNNER,
        "--root",
        str(root),
        "lint",
        "--format",
        "text",
    ]
    done = subprocess.run(command, capture_output=True, text=True, timeout=timeout, check=True)
    seconds, rss, code, count, summary = done.stdout.strip().split(" ", 4)
    assert "Traceback" not in done.stderr and "internal error" not in done.stderr, done.stderr
    return float(seconds), int(rss), int(code), int(count), summary


def _bounded(tmp_path: Path, files: int, timeout: float, max_rss_mib: int) -> None:
    root = broken_handbook(tmp_path / "kb", files)
    before = state(root / "content")
    seconds, rss, code, count, summary = measure_lint(root, timeout)
    print(
        f"\n{files} broken files: {seconds:.1f} s, max RSS {rss / 1024:.0f} MiB, {count} findings; {summary}"
    )
    assert code == 1
    assert count >= files, "every file is broken: each must give at least one finding"
    assert summary.endswith(f" in {files + 1} files")
    assert rss < max_rss_mib * 1024
    assert state(root / "content") == before


def test_a_thousand_broken_files_lint_in_bounded_time_and_memory(tmp_path: Path) -> None:
    _bounded(tmp_path, 1_000, timeout=60, max_rss_mib=400)


@pytest.mark.slow
def test_ten_thousand_broken_files_lint_in_bounded_time_and_memory(tmp_path: Path) -> None:
    _bounded(tmp_path, 10_000, timeout=120, max_rss_mib=1500)


def test_every_fault_kind_is_found(tmp_path: Path) -> None:
    """The generator really breaks each file (a fault that lints clean would make the bound test weak)."""
    root = broken_handbook(tmp_path / "kb", len(FAULTS))
    done = CliRunner().invoke(main, ["--root", str(root), "lint", "--format", "json"])
    codes: dict[str, set[str]] = {}
    for f in json.loads(done.stdout):
        if f["severity"] == "error":
            codes.setdefault(f["path"].rsplit("/", 1)[1], set()).add(f["code"])
    assert sorted(codes) == [f"l{i:05d}.md" for i in range(len(FAULTS))]
    assert len(set().union(*codes.values())) >= 18  # distinct kinds of fault, not one repeated


# -- escaping everywhere --------------------------------------------------------------------

#: Payloads carry the marker FM that test_faults.INJECTED looks for.
PAYLOADS = [
    "<script>alert('FM')</script>",
    "<img src=x onerror=alert('FM')>",
    "\"><svg onload=alert('FM')>",
    "'><script>alert('FM')</script>",
    "T{{ 7*7 }}T",
    "{% raw %}R{% endraw %}",
    "](javascript:alert('FM'))",
    "[x](javascript:alert('FM'))",
    "<iframe src=javascript:alert('FM')>",
    "&lt;script&gt;alert('FM')&lt;/script&gt;",
    "<!-- ]]> | ` * _ # \\",
]


def hostile(i: int) -> str:
    """All payloads, rotated so each field starts with a different one (JSON-quoted for YAML)."""
    return json.dumps(" ".join(PAYLOADS[i % len(PAYLOADS) :] + PAYLOADS[: i % len(PAYLOADS)]))


def one(i: int) -> str:
    return json.dumps(PAYLOADS[i % len(PAYLOADS)])


REPEAT_BODY = "## 1. Observe\n\nx\n\n## 2. Reflect\n\nx\n\n## 3. Design\n\nx\n\n## 4. Implement\n\nx\n\n## 5. Repeat\n\nx\n"
HOSTILE: dict[str, str] = {
    "content/index.md": f"---\ntitle: {hostile(0)}\nsummary: {one(1)}\n---\n\n# Home\n\n"
    "[[ownership]] [[products/kb]] [[evil]] [[handbook/page]] [[handbook/untitled]]\n",
    "content/principles/ownership.md": f"---\ntitle: {hostile(1)}\nsummary: {one(2)}\n"
    f"aliases: [{one(3)}, {one(4)}]\ntags: [{one(0)}, {one(2)}, {one(4)}]\n---\n\n"
    "## Why\n\nBecause.\n",
    "content/products/kb.md": f"---\ntitle: {hostile(2)}\nsummary: {one(5)}\nproblem: {hostile(3)}\n"
    f"users: [{hostile(4)}, {one(1)}]\nowner: {hostile(5)}\nstatus: live\n"
    f"interfaces:\n  - name: {hostile(6)}\n    kind: api\n    description: {hostile(7)}\n"
    f"  - name: {one(2)}\n    kind: ui\n    description: d\n"
    f"alternatives: [{hostile(8)}, evil]\nnon_goals: [{hostile(9)}]\n"
    f"consumes: [{json.dumps('evil/' + PAYLOADS[2])}]\nprinciples: [ownership]\n"
    f"tags: [{one(1)}]\n---\n\n## What\n\nIt is.\n",
    "content/products/evil.md": f"---\ntitle: {one(2)}\nsummary: {one(0)}\nproblem: p\nusers: [u]\n"
    f"owner: {one(4)}\nstatus: idea\ninterfaces:\n  - name: {one(2)}\n    kind: api\n"
    "    description: d\ndepends_on: [kb]\nalternatives: [kb]\n---\n\nText.\n",
    "content/loops/2026/2026-11-23-a.md": f"---\ntitle: {hostile(10)}\ndate: 2026-11-23\nstage: repeat\n"
    f"principles: [ownership]\nproduct: kb\n"
    f"authors: [{hostile(1)}, {one(0)}, {one(4)}]\n"
    f"feedback:\n  - source: {hostile(2)}\n    quote: {hostile(3)}\n"
    f"    url: {json.dumps('https://example.com/' + PAYLOADS[2])}\n"
    f"  - source: {one(1)}\n    quote: {one(6)}\n    url: \"javascript:alert('FM')\"\n"
    f"tags: [{one(5)}]\n---\n\n{REPEAT_BODY}",
    "content/loops/2026/2026-11-24-b.md": f"---\ntitle: {one(0)}\ndate: 2026-11-24\nstage: implement\n"
    "principles: [ownership]\nproduct: evil\nfollows: 2026-11-23-a\n"
    f"authors: [{one(1)}]\n---\n\n" + REPEAT_BODY.split("## 5.")[0],
    "content/handbook/page.md": f"---\ntitle: {hostile(6)}\nsummary: {one(2)}\ndescription: {hostile(7)}\n"
    f"subtitle: {hostile(8)}\nstatus: {one(2)}\nicon: {one(0)}\n"
    f"template: {one(1)}\ntags: [{one(0)}, {one(3)}]\n---\n\n[[index]]\n",
    "content/handbook/untitled.md": "A page without a title: its name is its title.\n\n[[index]]\n",
    "content/handbook/<svg onload=alert('FM')>.md": "No title either.\n\n[[index]]\n",
}


@pytest.fixture(scope="module")
def hostile_site(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    root = make_kb(tmp_path_factory.mktemp("hostile") / "kb", HOSTILE)
    site = root.parent / "site"
    result = CliRunner().invoke(main, ["--root", str(root), "build", "--out", str(site)])
    assert result.exit_code == 0, result.output
    assert "Traceback" not in result.output and "internal error" not in result.output
    return site, result.output


def test_no_injected_markup_anywhere(hostile_site: tuple[Path, str]) -> None:
    site, _ = hostile_site
    assert scan_site(site) == []


def test_every_hostile_page_was_built(hostile_site: tuple[Path, str]) -> None:
    site, output = hostile_site
    assert "kb: left out" not in output
    for page in (
        "index.html",
        "principles/ownership/index.html",
        "products/kb/index.html",
        "products/evil/index.html",
        "loops/2026/2026-11-23-a/index.html",
        "handbook/page/index.html",
        "handbook/untitled/index.html",
        "handbook/<svg onload=alert('FM')>/index.html",
    ):
        assert (site / page).is_file(), page


def test_titles_and_nav_show_the_text(hostile_site: tuple[Path, str]) -> None:
    """The payload reaches <title> and the nav as text: escaped once, readable, not dropped."""
    site, _ = hostile_site
    page = (site / "principles/ownership/index.html").read_text(encoding="utf-8")
    title = re.search(r"<title>(.*?)</title>", page, re.S).group(1)
    assert "&lt;script&gt;alert(" in title and "<script" not in title
    assert "T{{ 7*7 }}T" in title
    nav = (site / "index.html").read_text(encoding="utf-8")
    assert nav.count("&lt;svg onload=alert(") >= 1


def test_kb_json_is_valid_and_holds_the_raw_text(hostile_site: tuple[Path, str]) -> None:
    site, _ = hostile_site
    data = json.loads((site / "kb.json").read_text(encoding="utf-8"))
    product = next(d for d in data["documents"] if d["id"] == "kb")
    names = [i["name"] for i in product["frontmatter"]["interfaces"]]
    assert names[1] == PAYLOADS[2]  # JSON carries the raw string: consumers escape for their medium
    assert product["frontmatter"]["consumes"] == ["evil/" + PAYLOADS[2]]


def test_unsafe_feedback_url_is_not_linked(hostile_site: tuple[Path, str]) -> None:
    site, _ = hostile_site
    page = (site / "loops/2026/2026-11-23-a/index.html").read_text(encoding="utf-8")
    assert not re.search(r"""href=["']?javascript:""", page, re.I)


def test_the_scanner_finds_what_it_looks_for(tmp_path: Path) -> None:
    """A site with each kind of injection in it: the scan must report every one."""
    pages = {
        "a.html": "<p><script>alert('FM')</script></p>",
        "b.html": "<img src=x onerror=alert('FM')>",
        "c.html": "<a href=\"javascript:alert('FM')\">x</a>",
        "d.html": "<title>T49T</title>",
        "e.xml": "<feed><title>unclosed</feed>",
        "search/search_index.json": json.dumps({"docs": [{"title": "<svg onload=alert('FM')>", "text": ""}]}),
        "f.json": "{not json",
        "ok.html": "&lt;script&gt;alert('FM')&lt;/script&gt;",
        "kb.json": json.dumps({"raw": "<script>alert('FM')</script>"}),
    }
    for rel, text in pages.items():
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_text(text, encoding="utf-8")
    found = scan_site(tmp_path)
    assert sorted({line.split(":")[0] for line in found}) == [
        "a.html",
        "b.html",
        "c.html",
        "d.html",
        "e.xml",
        "f.json",
        "search/search_index.json",
    ]
    assert injected("<a href=javascript:alert('FM')>") and not injected("<b>FM</b>")


# -- output safety --------------------------------------------------------------------------

ODD = ["..", "../..", "%2e%2e", "..%2f..%2f", "/etc/passwd", "a/../../b", "\\..\\..", "~root"]
ESCAPES: dict[str, str] = {
    "content/index.md": "---\ntitle: Home\n---\n\n[[handbook/%2e%2e]] [[handbook/a..b]] [[handbook/..%2f..%2f]]\n",
    "content/handbook/%2e%2e.md": "---\ntitle: ../../../../etc/passwd\n---\n\n[[index]]\n",
    "content/handbook/a..b.md": f"---\ntitle: '/etc/shadow'\ntags: {json.dumps(ODD)}\n---\n\n[[index]]\n",
    "content/handbook/..%2f..%2f.md": "---\ntitle: '%2e%2e/%2e%2e'\n---\n\n[[index]]\n",
    "content/handbook/~root.md": "# \\.\\./\\.\\.\n\n[[index]]\n",
    "content/principles/ownership.md": f"---\ntitle: ../..\nsummary: '..'\naliases: {json.dumps(ODD)}\n---\n\nText.\n",
    "content/products/kb.md": "---\ntitle: '../../kb'\nsummary: s\nproblem: p\nusers: ['../..']\nowner: '../../../x'\n"
    f"status: live\nalternatives: {json.dumps(ODD)}\nconsumes: ['../../etc/passwd']\n"
    "interfaces:\n  - name: '../../../../tmp/x'\n    kind: file\n    description: '..'\n---\n\nText.\n",
    "content/loops/2026/2026-11-23-a.md": "---\ntitle: '../../../../../tmp/loop'\ndate: 2026-11-23\nstage: repeat\n"
    f"principles: [ownership]\nproduct: kb\nauthors: {json.dumps(ODD)}\n"
    f"tags: {json.dumps(ODD)}\n---\n\n{REPEAT_BODY}",
}


def _inside(folder: Path) -> list[str]:
    """Paths under `folder` whose real path is outside it (through `..` or symlinks)."""
    real = folder.resolve()
    out = []
    for dirpath, dirs, files in os.walk(folder):
        for name in dirs + files:
            path = Path(dirpath) / name
            if not path.resolve().is_relative_to(real):
                out.append(str(path))
    return out


def test_no_emitted_path_leaves_the_output_folders(tmp_path: Path) -> None:
    root = make_kb(tmp_path / "deep" / "kb", ESCAPES)
    site = tmp_path / "deep" / "site"
    outside_before = state(tmp_path)
    result = CliRunner().invoke(main, ["--root", str(root), "build", "--out", str(site)])
    assert result.exit_code == 0 and "internal error" not in result.output, result.output
    assert _inside(site) == [] and _inside(root / ".kb-cache" / "docs") == []
    after = state(tmp_path)
    new = sorted(
        k for k in set(after) - set(outside_before) if not k.startswith(("deep/site", "deep/kb/.kb-cache"))
    )
    assert new == []
    assert {k: v for k, v in after.items() if k in outside_before} == outside_before
    people = sorted(p.name for p in (site / "people").iterdir() if p.is_dir())
    assert all(".." not in name and "/" not in name for name in people)
    assert scan_site(site) == []


def test_symlink_to_the_repository_root_publishes_nothing_outside_content(tmp_path: Path) -> None:
    root = make_base(
        tmp_path / "kb",
        {"notes/private.md": "---\ntitle: Private\n---\n\nSecret.\n", "secrets.txt": "token\n"},
    )
    os.symlink(root.resolve(), root / "content" / "repo")
    site = tmp_path / "site"
    result = CliRunner().invoke(main, ["--root", str(root), "build", "--out", str(site)])
    assert result.exit_code == 0, result.output
    leaked = sorted(
        p.relative_to(site).as_posix()
        for p in site.rglob("*")
        if "private" in p.as_posix() or p.name in ("secrets.txt", "pyproject.toml", "kb.toml")
    )
    assert leaked == [], "a symlink out of content/ must never be followed"
    assert "KB304" in result.output


def test_lint_takes_no_time_on_pathological_regex_input(tmp_path: Path) -> None:
    """Bodies built to make backtracking regexes explode: unclosed brackets, quotes and tags."""
    body = (
        "[" * 20_000
        + "](" * 20_000
        + "\n"
        + "<a "
        + "x='" * 20_000
        + "\n"
        + "[[" * 20_000
        + "\n"
        + "`" * 20_000
        + "\n"
        + "<!--" * 10_000
        + "\n"
        + "*_" * 20_000
        + "\n"
    )
    root = make_base(tmp_path / "kb", {"content/handbook/regex.md": "---\ntitle: R\n---\n\n" + body})
    start = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-c", RUNNER, "--root", str(root), "lint"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode in (0, 1) and "internal error" not in done.stderr, done.stderr
    assert time.perf_counter() - start < 30
