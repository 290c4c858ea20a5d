"""Plain pages behave as in MkDocs: titles from file names, keys of their own, folder indexes
(`index.md`, `README.md`, Hugo's `_index.md`), site-root links, hidden folders, GitBook's
`SUMMARY.md`. Each through the CLI, on a handbook written to disk as an adopter has it."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from site_helpers import PNG, run_kb, write_tree

FILES: dict[str, str | bytes] = {
    "content/index.md": """\
# Team handbook

- [Airbase](how-to-access-airbase.md), [engineering](departments/engineering/),
  [engineering again](departments/engineering), [product](product/), [legal](/legal/)
- [About](/handbook/about/) and [our people](/team/index.md#people), [sales](/departments/sales)
- [The summary](SUMMARY.md), [home](/)
""",
    "content/how-to-access-airbase.md": """\
---
data_source: https://example.com/sheet.csv
hide_sidebar: true
weight: 3
menu: {main: {parent: Tools, name: "<b>Airbase</b>"}}
aliases: [/old/airbase/]
draft: false
---

Ask IT for an account. Back [home](/).
""",
    "content/departments/engineering/README.md": "Engineering works in [teams](teams/).\n\n"
    '<p>Ask <a href="../sales.md">sales in HTML</a></p>\n',
    "content/departments/engineering/teams/_index.md": "# Teams\n\nSee [about](/handbook/about.md).\n",
    "content/departments/sales.md": "# Sales\n\n![logo](/img/logo.png)\n",
    "content/product/_index.md": "# Product\n\nStart at [Airbase](/how-to-access-airbase/) or [teams][t].\n\n"
    "[t]: /departments/engineering/teams/\n",
    "content/legal/index.md": "# Legal\n\nThe [old page](_index.md).\n",
    "content/legal/_index.md": "# Legal, as Hugo had it\n",
    "content/handbook/about.md": '# About us\n\n![logo](/img/logo.png) <img src="/img/logo.png" alt="l">\n',
    "content/team/index.md": "# Team\n\n## People\n\nEveryone.\n",
    "content/img/logo.png": PNG,
    "content/SUMMARY.md": "# Summary\n\n* [Airbase](how-to-access-airbase.md)\n",
}


@pytest.fixture(scope="module")
def handbook(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_tree(tmp_path_factory.mktemp("mkdocs-like") / "handbook", FILES)


@pytest.fixture(scope="module")
def site(handbook: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("mkdocs-like-site") / "site"
    result = run_kb(["build", "--strict", "--out", str(out)], handbook)
    assert result.exit_code == 0, result.output
    return out


def lint(root: Path) -> list[tuple[str, int, str, str, str]]:
    result = run_kb(["lint", "--format", "json"], root)
    assert result.exit_code in (0, 1), result.output
    return [(f["path"], f["line"], f["code"], f["severity"], f["message"]) for f in json.loads(result.stdout)]


def test_the_handbook_lints_clean(handbook: Path) -> None:
    """No title, keys of its own, folder and site-root links, SUMMARY.md: nothing to report."""
    assert lint(handbook) == []


def hrefs(page: Path) -> dict[str, str]:
    html = page.read_text(encoding="utf-8")
    article = html[html.index("<article") : html.index("</article>")]
    return {m.group(2): m.group(1) for m in re.finditer(r'<a href="([^"]*)"[^>]*>([^<]+)</a>', article)}


def lands(site: Path, page: Path, href: str) -> Path:
    """The file a relative href from `page` opens, wherever the site is served."""
    assert not href.startswith("/") and "://" not in href, href
    target = (page.parent / href.split("#")[0]).resolve()
    return target / "index.html" if target.is_dir() else target


def test_a_page_without_title_or_heading_is_titled_as_mkdocs_does(site: Path) -> None:
    page = site / "how-to-access-airbase" / "index.html"
    html = page.read_text(encoding="utf-8")
    assert "<h1>How to access airbase</h1>" in html
    assert "<title>How to access airbase - Team handbook</title>" in html
    home = (site / "index.html").read_text(encoding="utf-8")
    assert re.search(
        r'href="how-to-access-airbase/"[^>]*>\s*<span class="md-ellipsis">\s*How to access airbase', home
    ), "the nav entry shows the title too"
    readme = (site / "departments" / "engineering" / "index.html").read_text(encoding="utf-8")
    assert "<h1>Engineering</h1>" in readme  # an index page is named after its folder
    assert "<title>Engineering - Team handbook</title>" in readme


def test_keys_of_its_own_reach_the_renderer_escaped(site: Path, handbook: Path) -> None:
    build = handbook / ".kb-cache"
    emitted = next(build.rglob("how-to-access-airbase.md")).read_text(encoding="utf-8")
    assert "data_source: https://example.com/sheet.csv" in emitted and "weight: 3" in emitted
    assert "&lt;b&gt;Airbase&lt;/b&gt;" in emitted and "<b>" not in emitted


def test_folder_and_site_root_links_land_on_their_pages(site: Path) -> None:
    home = site / "index.html"
    links = hrefs(home)
    expected = {
        "Airbase": "how-to-access-airbase",
        "engineering": "departments/engineering",
        "engineering again": "departments/engineering",
        "product": "product",
        "legal": "legal",
        "About": "handbook/about",
        "our people": "team",
        "sales": "departments/sales",
        "The summary": "SUMMARY",
        "home": "",
    }
    for label, folder in expected.items():
        assert lands(site, home, links[label]) == (site / folder / "index.html").resolve(), label
    assert links["our people"].endswith("#people")
    deep = site / "product" / "index.html"  # from Hugo's _index.md
    deep_links = hrefs(deep)
    assert (
        lands(site, deep, deep_links["Airbase"]) == (site / "how-to-access-airbase" / "index.html").resolve()
    )
    assert (
        lands(site, deep, deep_links["teams"])
        == (site / "departments/engineering/teams/index.html").resolve()
    )
    readme = site / "departments" / "engineering" / "index.html"  # README.md: the folder's page
    assert (
        lands(site, readme, hrefs(readme)["sales in HTML"])
        == (site / "departments/sales/index.html").resolve()
    )
    assert (
        lands(site, readme, hrefs(readme)["teams"])
        == (site / "departments/engineering/teams/index.html").resolve()
    )
    about = (site / "handbook" / "about" / "index.html").read_text(encoding="utf-8")
    assert about.count('src="../../img/logo.png"') == 2  # markdown and raw HTML alike


def test_hugo_index_is_the_folder_page_unless_the_folder_has_one(site: Path) -> None:
    assert '<h1 id="product">Product' in (site / "product" / "index.html").read_text(encoding="utf-8")
    assert not (site / "product" / "_index").exists()
    legal = site / "legal" / "index.html"
    assert '<h1 id="legal">Legal' in legal.read_text(encoding="utf-8")
    assert (
        lands(site, legal, hrefs(legal)["old page"]) == (site / "legal" / "_index" / "index.html").resolve()
    )


def test_kb_json_urls_are_the_sites(site: Path) -> None:
    docs = {d["path"]: d for d in json.loads((site / "kb.json").read_text(encoding="utf-8"))["documents"]}
    assert docs["content/departments/engineering/README.md"]["url"] == "departments/engineering/"
    assert docs["content/product/_index.md"]["url"] == "product/"
    assert docs["content/legal/_index.md"]["url"] == "legal/_index/"
    assert docs["content/how-to-access-airbase.md"]["title"] == "How to access airbase"
    assert docs["content/how-to-access-airbase.md"]["frontmatter"]["weight"] == 3
    for doc in docs.values():
        assert (site / doc["url"] / "index.html").is_file(), doc["path"]


BROKEN = {
    "content/index.md": "# Home\n\n[g](guide.md)\n",
    "content/guide.md": """\
---
titel: Guide
tags: [a]
tgas: [b]
data_source: x
---

![shot](.gitbook/assets/shot.png) [cfg](.gitbook/config.yml) [gone](.gitbook/assets/gone.png)
[root](/handbook/missing/) [passwd](/etc/passwd) [up](/../outside.md) [file](file:///etc/passwd)
[anchor](/guide.md#nowhere)
""",
    "content/.gitbook/assets/shot.png": PNG,
    "content/.gitbook/config.yml": "root: .\n",
}


def test_what_is_really_wrong_is_reported(tmp_path: Path) -> None:
    root = write_tree(tmp_path / "handbook", BROKEN)
    path = "content/guide.md"
    assert lint(root) == [
        (path, 2, "KB202", "warning", "unknown field 'titel'"),
        (path, 4, "KB202", "warning", "unknown field 'tgas'"),
        (
            path,
            8,
            "KB415",
            "error",
            "'.gitbook/assets/shot.png' is in a hidden folder the site does not publish",
        ),
        (path, 8, "KB415", "error", "'.gitbook/config.yml' is in a hidden folder the site does not publish"),
        (path, 8, "KB406", "error", "link to missing file '.gitbook/assets/gone.png'"),
        (path, 9, "KB406", "error", "link to missing file '/handbook/missing/'"),
        (path, 9, "KB406", "error", "link to missing file '/etc/passwd'"),
        (path, 9, "KB408", "error", "link '/../outside.md' leaves the content folder"),
        (path, 9, "KB408", "error", "link 'file:///etc/passwd' is an absolute path"),
        (path, 10, "KB407", "error", "no heading '#nowhere' in guide.md"),
    ]
    found = json.loads(run_kb(["lint", "--format", "json"], root).stdout)
    hidden = next(f for f in found if f["code"] == "KB415")
    assert hidden["hint"].startswith("rename '.gitbook' to a name without the leading '.'")


def test_summary_and_root_readme_are_never_orphans(tmp_path: Path) -> None:
    root = write_tree(
        tmp_path / "handbook",
        {
            "content/README.md": "# Handbook\n",
            "content/SUMMARY.md": "# Summary\n\n* [Guide](guide.md)\n",
            "content/guide.md": "# Guide\n",
            "content/lonely.md": "# Lonely\n",
        },
    )
    assert [(p, code) for p, _l, code, _s, _m in lint(root)] == [("content/lonely.md", "KB601")]


def test_a_readme_at_the_root_is_the_home_page(tmp_path: Path) -> None:
    root = write_tree(
        tmp_path / "handbook",
        {
            "content/README.md": "# Our handbook\n\n[Guide](guide/)\n",
            "content/guide/README.md": "# Guide\n\n[Home](../)\n",
        },
    )
    out = tmp_path / "site"
    result = run_kb(["build", "--strict", "--out", str(out)], root)
    assert result.exit_code == 0, result.output
    home = out / "index.html"
    assert "<title>Our handbook - Our handbook</title>" in home.read_text(encoding="utf-8")  # the site's name
    assert lands(out, home, hrefs(home)["Guide"]) == (out / "guide" / "index.html").resolve()
    guide = out / "guide" / "index.html"
    assert lands(out, guide, hrefs(guide)["Home"]) == home.resolve()
    docs = json.loads((out / "kb.json").read_text(encoding="utf-8"))["documents"]
    assert {d["path"]: d["url"] for d in docs} == {
        "content/README.md": "",
        "content/guide/README.md": "guide/",
    }
