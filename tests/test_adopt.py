"""Adopting an existing handbook: ~300 plain markdown pages, no frontmatter at all.

The generated tree looks like a real team's docs folder: nested sections, file names such as
`cost_estimation.md` and `Code-Review.md`, a `# ` heading as each page's title, relative links
between pages (some with `#anchors`), images in `img/` folders, and a few pages without any
heading. kb must report only what is really wrong (two planted broken links, KB406 and KB407;
a page without a heading is titled from its file name, as MkDocs does) and build the site
without touching a single file.
"""

from __future__ import annotations

import json
import posixpath
import re
from pathlib import Path

import pytest

from site_helpers import PNG, run_kb, snapshot, write_tree

SECTIONS = [
    "engineering",
    "engineering/backend",
    "engineering/frontend",
    "product",
    "product/discovery",
    "people_ops",
    "finance",
    "finance/planning",
    "onboarding",
    "how-we-work",
]
WORDS = [
    "cost",
    "estimation",
    "review",
    "release",
    "budget",
    "hiring",
    "roadmap",
    "incident",
    "design",
    "metrics",
    "pricing",
    "support",
    "testing",
    "security",
    "planning",
    "vendor",
    "travel",
    "api",
]
PER_SECTION = 30
NO_HEADING = 5


def page_name(i: int) -> str:
    a, b = WORDS[i % len(WORDS)], WORDS[(i * 7 + 3) % len(WORDS)]
    styles = (f"{a}_{b}", f"{a}-{b}", f"{a.capitalize()}-{b.capitalize()}", f"{a}_{b}.v2")
    return f"{styles[i % len(styles)]}-{i}"


def title_of(i: int) -> str:
    return f"{WORDS[i % len(WORDS)].capitalize()} {WORDS[(i * 7 + 3) % len(WORDS)]} & notes #{i}"


def generate() -> tuple[dict[str, str | bytes], list[str]]:
    """The tree, and the content-relative paths of its pages, in order."""
    paths = [
        f"{s}/{page_name(n)}.md"
        for n, s in ((n, SECTIONS[n // PER_SECTION]) for n in range(len(SECTIONS) * PER_SECTION))
    ]
    files: dict[str, str | bytes] = {
        "content/index.md": "# Team handbook\n\nStart at [the first page](" + paths[0] + ").\n",
    }
    for top in sorted({s.split("/")[0] for s in SECTIONS}):
        files[f"content/{top}/img/diagram.png"] = PNG
    for i, path in enumerate(paths):
        files["content/" + path] = page(i, path, paths)
    return files, paths


def page(i: int, path: str, paths: list[str]) -> str:
    folder = posixpath.dirname(path)
    nxt, far = paths[(i + 1) % len(paths)], paths[(i * 13 + 5) % len(paths)]
    image = posixpath.relpath(f"{path.split('/')[0]}/img/diagram.png", folder)
    heading = "" if i % (len(paths) // NO_HEADING) == 7 else f"# {title_of(i)}\n\n"
    return (
        f"{heading}Intro to page {i}, written long before kb.\n\n"
        f"## How we do it\n\nNext: [{title_of(i + 1)}]({posixpath.relpath(nxt, folder)}).\n"
        f"Also see [the process]({posixpath.relpath(far, folder)}#how-we-do-it) and "
        f"[checklist](#checklist-for-v2).\n\n"
        f"![Diagram of page {i}]({image})\n\n"
        f"## Checklist for v2\n\n- step one\n- step two\n"
    )


@pytest.fixture(scope="module")
def adopted(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[str]]:
    files, paths = generate()
    broken = paths[40]
    text = files["content/" + broken]
    assert isinstance(text, str)
    files["content/" + broken] = (
        text + "\nSee [the old page](gone_page.md) and [a section](#no-such-section).\n"
    )
    root = write_tree(tmp_path_factory.mktemp("adopt") / "handbook", files)
    return root, paths


def test_the_tree_is_realistic(adopted: tuple[Path, list[str]]) -> None:
    root, paths = adopted
    assert len(paths) == 300
    assert not any((root / "content" / p).read_text().startswith("---") for p in paths)
    names = {Path(p).name for p in paths}
    assert (
        any("_" in n for n in names) and any(n[0].isupper() for n in names) and any(".v2" in n for n in names)
    )


def test_lint_reports_only_what_is_really_wrong(adopted: tuple[Path, list[str]]) -> None:
    root, paths = adopted
    result = run_kb(["lint", "--format", "json"], root)
    assert result.exit_code == 1
    found = [(f["path"], f["line"], f["col"], f["code"]) for f in json.loads(result.stdout)]
    headingless = [p for i, p in enumerate(paths) if i % (len(paths) // NO_HEADING) == 7]
    assert len(headingless) == NO_HEADING
    broken = "content/" + paths[40]
    last = len((root / broken).read_text().splitlines())
    assert sorted(found) == sorted([(broken, last, 5, "KB406"), (broken, last, 38, "KB407")])
    assert "2 errors, 0 warnings in 301 files" in result.stderr


@pytest.fixture(scope="module")
def built(
    adopted: tuple[Path, list[str]], tmp_path_factory: pytest.TempPathFactory
) -> tuple[Path, dict, dict]:
    """The adopted handbook built once: (site, content hashes before, content hashes after)."""
    root, _paths = adopted
    before = snapshot(root / "content")
    site = tmp_path_factory.mktemp("adopt-site") / "site"
    result = run_kb(["build", "--out", str(site)], root)
    assert result.exit_code == 0, result.output
    return site, before, snapshot(root / "content")


def test_build_changes_no_file(built: tuple[Path, dict, dict]) -> None:
    _site, before, after = built
    assert after == before


def test_build_copies_the_images(built: tuple[Path, dict, dict]) -> None:
    site, _before, _after = built
    for top in {s.split("/")[0] for s in SECTIONS}:
        assert (site / top / "img" / "diagram.png").read_bytes() == PNG


def test_titles_come_from_first_headings_and_links_work(
    adopted: tuple[Path, list[str]], built: tuple[Path, dict, dict]
) -> None:
    _root, paths = adopted
    site = built[0]
    first = (site / paths[0][:-3] / "index.html").read_text(encoding="utf-8")
    assert f"<title>{title_of(0).replace('&', '&amp;')} - Team handbook</title>" in first
    assert re.search(r'<img alt="Diagram of page 0" src="\.\./img/diagram\.png"', first)
    href = re.search(r'Also see <a href="([^"]+)">the process</a>', first)
    assert href and href.group(1).endswith("/#how-we-do-it")
    assert (site / paths[0][:-3] / href.group(1).split("#")[0] / "index.html").resolve().is_file()


def test_a_headingless_page_is_titled_from_its_file_name_as_mkdocs_does(
    adopted: tuple[Path, list[str]], built: tuple[Path, dict, dict]
) -> None:
    _root, paths = adopted
    headingless = [p for i, p in enumerate(paths) if i % (len(paths) // NO_HEADING) == 7]
    for path in headingless:
        stem = Path(path).stem
        spaced = stem.replace("-", " ").replace("_", " ")
        title = spaced.capitalize() if spaced.lower() == spaced else spaced  # mkdocs/structure/pages.py
        html = (built[0] / path[:-3] / "index.html").read_text(encoding="utf-8")
        assert f"<h1>{title}</h1>" in html
        assert f"<title>{title} - Team handbook</title>" in html
    first = (built[0] / headingless[0][:-3] / "index.html").read_text(encoding="utf-8")
    assert "Intro to page 7, written long before kb." in first
    assert "<h1>Incident travel.v2 7</h1>" in first  # incident_travel.v2-7.md
