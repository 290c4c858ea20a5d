"""Interface contracts between products (KB412-KB414, KB402 in `consumes`) and "Swap this product".

Five product cards in a real git repository (two commits): `kb` provides three interfaces and
names `docsite` (which lists it back) and a free name as alternatives; `docsite` offers one
interface of the same name; `wiki` lists `kb` one-sidedly; `ci` consumes in block style (one
good entry, an undeclared interface, an entry without '/', an unknown product, a blank
interface name), `portal` in flow style. Positions are those of the list items in the files
below, counted by hand.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from gitrepo import GitRepo
from site_helpers import FIXED_NOW, run_kb

HEAD = "summary: A product.\nproblem: A problem.\nusers: [Builders]\nowner: Team\nstatus: live\n"

FILES = {
    "content/index.md": "---\ntitle: Home\n---\n\nHello.\n",
    "content/principles/ownership.md": "---\ntitle: Ownership\nsummary: Own it.\n---\n\nText.\n",
    "content/products/kb.md": f"""\
---
title: kb
{HEAD}interfaces:
  - name: kb lint
    kind: cli
    description: Checks the handbook.
  - name: kb build
    kind: cli
    description: Builds the site.
  - name: kb.json
    kind: file
    description: The graph.
alternatives: [docsite, A wiki page]
non_goals: [Hosting]
---

Text.
""",
    "content/products/docsite.md": f"""\
---
title: Docsite
{HEAD}interfaces:
  - name: kb build
    kind: cli
    description: Also builds a site.
  - name: search
    kind: ui
    description: Finds pages.
alternatives: [kb]
non_goals: [Linting]
---

Text.
""",
    "content/products/wiki.md": f"""\
---
title: Wiki
{HEAD}interfaces:
  - name: kb.json
    kind: file
    description: Not an alternative of kb, so never offered as its swap.
alternatives:
  - Confluence
  - kb
---

Text.
""",
    "content/products/ci.md": f"""\
---
title: CI
{HEAD}consumes:
  - kb/kb lint
  - kb/kb serve
  - kb
  - ghost/api
  - docsite/search
  - kb/
---

Text.
""",
    "content/products/portal.md": f"""\
---
title: Portal
{HEAD}consumes: [kb/kb build, kb/kb.json, docsite/serch]
---

Text.
""",
}

#: (path, line, col, code, severity, message, hint) — every contract finding, in lint order.
EXPECTED = [
    (
        "content/products/ci.md",
        10,
        5,
        "KB412",
        "error",
        "'kb' declares no interface 'kb serve'",
        "kb declares: kb lint, kb build, kb.json",
    ),
    (
        "content/products/ci.md",
        11,
        5,
        "KB412",
        "error",
        "consumes 'kb' is not product-id/interface-name",
        "write it as e.g. kb/kb lint",
    ),
    (
        "content/products/ci.md",
        12,
        5,
        "KB402",
        "error",
        "unknown product 'ghost' in consumes",
        "no product has that id",
    ),
    (
        "content/products/ci.md",
        14,
        5,
        "KB412",
        "error",
        "consumes 'kb/' is not product-id/interface-name",
        "write it as e.g. kb/kb lint",
    ),
    (
        "content/products/portal.md",
        8,
        37,
        "KB412",
        "error",
        "'docsite' declares no interface 'serch'",
        "did you mean 'search'?",
    ),
    (
        "content/products/wiki.md",
        14,
        5,
        "KB413",
        "warning",
        "'kb' is an alternative here but does not list 'wiki'",
        "add 'wiki' to the alternatives of content/products/kb.md",
    ),
]
CONTRACT_CODES = {"KB402", "KB412", "KB413", "KB414"}


@pytest.fixture(scope="module")
def repo(tmp_path_factory: pytest.TempPathFactory) -> GitRepo:
    repo = GitRepo(tmp_path_factory.mktemp("contracts") / "hb")
    repo.write({k: v for k, v in FILES.items() if "portal" not in k})
    repo.commit(message="products", when="2026-01-05T10:00:00Z")
    repo.write(FILES)
    repo.commit(message="portal", when="2026-01-06T10:00:00Z")
    return repo


def contract_findings(root: Path) -> list[tuple[object, ...]]:
    result = run_kb(["lint", "--format", "json"], root)
    assert result.exit_code in (0, 1), result.output
    return [
        (f["path"], f["line"], f["col"], f["code"], f["severity"], f["message"], f["hint"])
        for f in json.loads(result.stdout)
        if f["code"] in CONTRACT_CODES
    ]


def test_contract_findings_at_the_list_items(repo: GitRepo) -> None:
    assert contract_findings(repo.root) == EXPECTED


def test_text_output_names_each_position(repo: GitRepo) -> None:
    result = run_kb(["lint", str(repo.root / "content/products/portal.md")], repo.root)
    assert result.exit_code == 1
    assert result.stdout.splitlines()[0] == (
        "content/products/portal.md:8:37: KB412 'docsite' declares no interface 'serch' (did you mean 'search'?)"
    )


def test_non_goals_only_when_required(tmp_path: Path, repo: GitRepo) -> None:
    assert not [f for f in contract_findings(repo.root) if f[3] == "KB414"]
    (repo.root / "pyproject.toml").write_text("[tool.kb]\nrequire_non_goals = true\n", encoding="utf-8")
    try:
        missing = [f for f in contract_findings(repo.root) if f[3] == "KB414"]
    finally:
        (repo.root / "pyproject.toml").unlink()
    assert [(f[0], f[1], f[2], f[4], f[5]) for f in missing] == [
        (f"content/products/{p}.md", 1, 1, "warning", f"product '{p}' has no non_goals")
        for p in ("ci", "portal", "wiki")
    ]


def test_one_sided_alternative_is_only_a_warning(tmp_path: Path) -> None:
    root = GitRepo(tmp_path / "hb")
    root.write({k: v for k, v in FILES.items() if "ci." not in k and "portal" not in k})
    root.commit(message="no consumers", when="2026-01-05T10:00:00Z")
    result = run_kb(["lint"], root.root)
    assert result.exit_code == 0, result.output
    assert "content/products/wiki.md:14:5: KB413" in result.stdout
    assert run_kb(["lint", "--strict"], root.root).exit_code == 1
    # Items that are not product names (blank, a number) still count for the position.
    wiki = FILES["content/products/wiki.md"].replace(
        "alternatives:\n  - Confluence\n  - kb\n", 'alternatives: [" ", 7, kb]\n'
    )
    root.write({"content/products/wiki.md": wiki})
    root.commit(message="flow style", when="2026-01-06T10:00:00Z")
    assert contract_findings(root.root) == [
        (
            "content/products/wiki.md",
            12,
            24,
            "KB413",
            "warning",
            "'kb' is an alternative here but does not list 'wiki'",
            "add 'wiki' to the alternatives of content/products/kb.md",
        )
    ]


def swap_table(page: str) -> dict[str, tuple[list[str], list[str]]]:
    """Interface → (consumer links, provider links) from the emitted page's swap table."""
    section = page.split("## Swap this product\n", 1)[1].split("\n## ", 1)[0]
    out = {}
    for line in section.splitlines():
        cells = [c.strip() for c in line.strip("|").split(" | ")]
        if len(cells) != 3 or cells[0] in ("Interface", "---"):
            continue
        links = [re.findall(r"\]\(([^)]+)\)", c) for c in cells[1:]]
        out[cells[0].replace("\\", "")] = (links[0], links[1])
    return out


def test_swap_this_product(tmp_path: Path, repo: GitRepo) -> None:
    out = tmp_path / "site"
    result = run_kb(["build", "--out", str(out)], repo.root, FIXED_NOW)
    assert result.exit_code == 0, result.output
    docs = repo.root / ".kb-cache/docs/products"
    kb = swap_table((docs / "kb.md").read_text(encoding="utf-8"))
    assert kb == {
        "kb lint": (["ci.md"], []),
        "kb build": (["portal.md"], ["docsite.md"]),
        "kb.json": (["portal.md"], []),  # wiki offers kb.json, but is not one of kb's alternatives
    }
    assert swap_table((docs / "docsite.md").read_text(encoding="utf-8")) == {
        "kb build": ([], ["kb.md"]),
        "search": (["ci.md"], []),  # portal's 'docsite/serch' is not a consumer
    }
    assert "## Swap this product" not in (docs / "ci.md").read_text(encoding="utf-8")  # no interfaces
    html = (out / "products/kb/index.html").read_text(encoding="utf-8")
    assert 'id="swap-this-product"' in html
    swap = html.split('id="swap-this-product"', 1)[1]
    row = re.search(r"<tr>\s*<td>kb build</td>(.*?)</tr>", swap, flags=re.S)
    assert row and re.findall(r'href="([^"]+)"', row[1]) == ["../portal/", "../docsite/"]
    for href in ("../portal/", "../docsite/", "../ci/"):
        assert (out / "products/kb" / href / "index.html").resolve().is_file()
