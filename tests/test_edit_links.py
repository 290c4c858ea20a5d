"""Edit links and write links on the built site (kb.emit + kb's theme override).

Every page from a source file links to that file's real path in the repository, wherever the
content folder is and under whatever name emit publishes it (README.md, _index.md); generated
pages (indexes, coverage, people, years, tags) have no edit link. The write links prefill the
forge's new-file page with exactly what `kb new` / `kb next` write (one scaffold function).
"""

from __future__ import annotations

import html
import re
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import yaml

from kb.init import REPOSITORY
from site_helpers import REPO, SMALL, html_files, run_kb, write_tree

_LINK = re.compile(r"<a\b[^>]*>", re.S)
_ATTR = re.compile(r'([\w-]+)="([^"]*)"')


def links(page: Path) -> list[dict[str, str]]:
    """Every <a> of a page as its attributes, unescaped."""
    return [
        {k: html.unescape(v) for k, v in _ATTR.findall(tag)} for tag in _LINK.findall(page.read_text("utf-8"))
    ]


def edit_links(page: Path) -> list[str]:
    return [a["href"] for a in links(page) if a.get("rel") == "edit"]


def actions(page: Path) -> dict[str, str]:
    return {a["data-kb-action"]: a["href"] for a in links(page) if "data-kb-action" in a}


def prefilled(url: str) -> tuple[str, str]:
    """(repository path, text) of a GitHub new-file URL."""
    parts = urlsplit(url)
    query = parse_qs(parts.query, keep_blank_values=True)
    folder = parts.path.split("/new/", 1)[1].split("/", 1)[1] if parts.path.count("/") > 4 else ""
    path = f"{folder}/{query['filename'][0]}" if folder else query["filename"][0]
    return path, query.get("value", [""])[0]


def kb_json(site: Path) -> dict[str, Any]:
    import json

    return json.loads((site / "kb.json").read_text(encoding="utf-8"))


def page_of(site: Path, url: str) -> Path:
    return site / url / "index.html"


@pytest.fixture(scope="module")
def shipped(tmp_path_factory: pytest.TempPathFactory) -> Path:
    site = tmp_path_factory.mktemp("shipped") / "site"
    result = run_kb(["build", "-q", "--out", str(site)], REPO)
    assert result.exit_code == 0, result.output
    return site


def repo_config() -> dict[str, Any]:
    from kb.siteconfig import read_config

    return read_config(REPO / "mkdocs.yml")


def test_the_root_mkdocs_yml_names_the_project_repository() -> None:
    config = repo_config()
    assert config["repo_url"] == f"https://github.com/{REPOSITORY}"
    assert config["edit_uri"] == "edit/main/content/"
    assert "nav" not in config and "docs_dir" not in config
    assert "content.action.edit" in config["theme"]["features"]
    assert "navigation.prune" in config["theme"]["features"]
    result = run_kb(["lint", "--format", "json"], REPO)
    assert not [f for f in yaml.safe_load(result.stdout) if f["code"] in ("KB703", "KB704")]


def test_every_edit_link_on_the_shipped_site_points_at_a_file_that_exists(shipped: Path) -> None:
    config = repo_config()
    prefix = f"{config['repo_url']}/edit/main/"
    documents = {d["url"]: d["path"] for d in kb_json(shipped)["documents"]}
    seen = 0
    for page in html_files(shipped):
        if page.name != "index.html":
            assert edit_links(page) == [], page  # 404.html
            continue
        url = page.relative_to(shipped).parent.as_posix()
        url = "" if url == "." else url + "/"
        found = edit_links(page)
        if url in documents:
            assert found == [prefix + documents[url]], (url, found)
        else:
            assert found == [], f"generated page {url} has an edit link: {found}"
        for href in found:
            assert href.startswith(prefix)
            assert (REPO / href[len(prefix) :]).is_file(), href
            seen += 1
    assert seen == len(documents) > 30
    for generated in ("principles/", "products/", "loops/", "principles/coverage/", "people/", "loops/2026/"):
        assert edit_links(page_of(shipped, generated)) == []


def test_the_shipped_site_offers_its_write_links(shipped: Path) -> None:
    data = kb_json(shipped)
    by_collection: dict[str, list[str]] = {}
    for d in data["documents"]:
        by_collection.setdefault(d["collection"], []).append(d["url"])
    for url in by_collection["loop"]:
        assert set(actions(page_of(shipped, url))) == {"continue"}, url
    for url in by_collection["product"] + by_collection["principle"]:
        assert set(actions(page_of(shipped, url))) == {"start"}, url
    for url in by_collection["page"]:
        assert actions(page_of(shipped, url)) == {}, url
    assert set(actions(page_of(shipped, "loops/"))) == {"start"}
    assert set(actions(page_of(shipped, "products/"))) == {"propose"}
    assert actions(page_of(shipped, "principles/")) == {}
    for page in html_files(shipped):
        for href in actions(page).values():
            assert href.startswith(f"https://github.com/{REPOSITORY}/new/main/content")
            assert len(href) <= 8000


@pytest.fixture
def copy(tmp_path: Path) -> Iterator[Path]:
    """The shipped handbook's files in a temporary folder (what `kb next` may write into)."""
    target = tmp_path / "repo"
    shutil.copytree(REPO / "content", target / "content")
    for name in ("mkdocs.yml", "pyproject.toml"):
        shutil.copyfile(REPO / name, target / name)
    yield target


def test_continue_this_loop_prefills_what_kb_next_writes(shipped: Path, copy: Path) -> None:
    data = kb_json(shipped)
    loop = next(
        d for d in data["documents"] if d["collection"] == "loop" and d["frontmatter"]["stage"] == "repeat"
    )
    path, text = prefilled(actions(page_of(shipped, loop["url"]))["continue"])
    date = yaml.safe_load(text.split("---\n")[1])["date"]
    result = run_kb(["next", Path(loop["path"]).stem, "--date", date.isoformat()], copy)
    assert result.exit_code == 0, result.output
    written = result.stdout.strip().splitlines()[-1]
    assert written == path
    assert (copy / written).read_text(encoding="utf-8") == text
    assert "From the previous cycle's Repeat notes" in text


def test_start_a_loop_cycle_on_a_principle_prefills_what_kb_new_writes(shipped: Path, copy: Path) -> None:
    path, text = prefilled(actions(page_of(shipped, "principles/ownership/"))["start"])
    date = yaml.safe_load(text.split("---\n")[1])["date"]
    result = run_kb(
        ["new", "loop", "New loop cycle", "--principle", "ownership", "--date", date.isoformat()], copy
    )
    assert result.exit_code == 0, result.output
    assert result.stdout.strip() == path
    assert (copy / path).read_text(encoding="utf-8") == text


def test_propose_a_product_writes_placeholders_that_say_what_they_want(shipped: Path) -> None:
    path, text = prefilled(actions(page_of(shipped, "products/"))["propose"])
    assert path == "content/products/new-product.md"
    meta = yaml.safe_load(text.split("---\n")[1])
    assert meta["title"] == "New product" and meta["status"] == "idea"
    assert meta["owner"] == "" and meta["users"] == []
    assert re.search(r"(?m)^owner: ''  # .+", text)
    start_path, start_text = prefilled(actions(page_of(shipped, "loops/"))["start"])
    assert re.search(r"(?m)^principles: \[\]  # one or more of: .*ownership", start_text)


def _root_handbook(tmp_path: Path, config: str) -> Path:
    """SMALL moved to the repository root (content_dir "."), with folder pages as README.md
    and _index.md, and the given mkdocs.yml."""
    files = {k.removeprefix("content/"): v for k, v in SMALL.items()}
    files["team/README.md"] = "---\ntitle: Team\n---\n\nThe team. See [[ownership]].\n"
    files["guides/_index.md"] = "---\ntitle: Guides\n---\n\nAll guides.\n"
    files["guides/setup.md"] = "---\ntitle: Setup\n---\n\nSet up.\n"
    files["kb.toml"] = 'content_dir = "."\n'
    files["mkdocs.yml"] = config
    return write_tree(tmp_path / "repo", files)


def test_edit_links_follow_the_source_file_in_a_handbook_at_the_repository_root(tmp_path: Path) -> None:
    root = _root_handbook(
        tmp_path,
        "site_name: Root\nrepo_url: https://gitlab.com/team/handbook\n"
        "edit_uri: -/edit/trunk/\ntheme:\n  name: material\n"
        "  features: [content.action.edit]\n",
    )
    site = tmp_path / "site"
    result = run_kb(["build", "-q", "--out", str(site)], root)
    assert result.exit_code == 0, result.output
    prefix = "https://gitlab.com/team/handbook/-/edit/trunk/"
    assert edit_links(page_of(site, "team/")) == [prefix + "team/README.md"]
    assert edit_links(page_of(site, "guides/")) == [prefix + "guides/_index.md"]
    assert edit_links(page_of(site, "")) == [prefix + "index.md"]
    for page in html_files(site):
        for href in edit_links(page):
            assert (root / href[len(prefix) :]).is_file(), href
    assert edit_links(page_of(site, "principles/")) == []
    start = actions(page_of(site, "loops/"))["start"]
    assert re.match(r"https://gitlab.com/team/handbook/-/new/trunk/loops(/\d{4})?\?file_name=\d{4}-", start)
    assert "&content=" in start


def test_without_a_repo_url_there_are_no_edit_or_write_links(tmp_path: Path) -> None:
    root = write_tree(tmp_path / "repo", SMALL)
    site = tmp_path / "site"
    result = run_kb(["build", "-q", "--out", str(site)], root)
    assert result.exit_code == 0, result.output
    for page in html_files(site):
        assert edit_links(page) == [] and actions(page) == {}, page
        assert "kb_edit" not in page.read_text(encoding="utf-8")


def test_hostile_titles_stay_inside_the_attribute(tmp_path: Path) -> None:
    files = dict(SMALL)
    files["content/principles/ownership.md"] = str(SMALL["content/principles/ownership.md"]).replace(
        "title: Ownership", "title: '\"><script>alert(1)</script>'"
    )
    files["mkdocs.yml"] = "site_name: X\nrepo_url: https://github.com/o/r\n"
    root = write_tree(tmp_path / "repo", files)
    site = tmp_path / "site"
    result = run_kb(["build", "-q", "--out", str(site)], root)
    assert result.exit_code == 0, result.output
    for page in html_files(site):
        assert "<script>alert(1)" not in page.read_text(encoding="utf-8"), page


def test_a_new_file_in_a_folder_that_does_not_exist_yet_names_it_in_the_file_name(tmp_path: Path) -> None:
    from kb.emit import _existing_folder

    (tmp_path / "content" / "loops" / "2026").mkdir(parents=True)
    assert _existing_folder(tmp_path, "content/loops/2026/a.md") == ("content/loops/2026", "a.md")
    assert _existing_folder(tmp_path, "content/loops/2031/a.md") == ("content/loops", "2031/a.md")
    assert _existing_folder(tmp_path, "new/x/a.md") == ("", "new/x/a.md")
