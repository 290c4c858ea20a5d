"""Renamed documents keep their URLs: `kb build` writes a static redirect page at each old URL.

Real git repositories: a loop moved with `git mv` and committed (twice, so a chain of names), a
page renamed and only staged, and an old URL that a current page took over (no redirect there).
(Without git there is no history and so no redirect: test_people builds a folder that is no
repository.)
"""

from __future__ import annotations

import posixpath
import re
from pathlib import Path

import pytest

from gitrepo import GitRepo
from site_helpers import SMALL, run_kb

OLD_LOOP = "content/loops/2025/2025-12-01-lost-notes.md"
MID_LOOP = "content/loops/2025/2025-12-01-notes-lost.md"
NEW_LOOP = "content/loops/2026/2025-12-01-notes-lost-again.md"
GUIDE = "content/handbook/guide.md"
COST = "content/handbook/cost_estimation.md"
MOVED_COST = "content/handbook/writing/My Costs.md"


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One build of a repository where a loop was renamed twice (committed), the guide was
    renamed and a new page took its old name (committed), and a page was renamed (staged only)."""
    repo = GitRepo(tmp_path_factory.mktemp("redirects") / "repo")
    repo.write(SMALL)
    repo.commit(message="handbook")
    (repo.root / "content/loops/2026").mkdir(parents=True, exist_ok=True)
    repo.git("mv", OLD_LOOP, MID_LOOP)
    repo.commit(message="better name", when="2026-02-01T12:00:00Z")
    repo.git("mv", MID_LOOP, NEW_LOOP)
    repo.commit(message="and another folder", when="2026-03-01T12:00:00Z")
    repo.git("mv", GUIDE, "content/handbook/writing-guide.md")
    repo.commit(message="rename the guide", when="2026-03-02T12:00:00Z")
    repo.write({GUIDE: "---\ntitle: A new guide\n---\n\nA different page under the old name.\n"})
    repo.commit(message="a new page takes the old name", when="2026-03-03T12:00:00Z")
    (repo.root / "content/handbook/writing").mkdir()
    repo.git("mv", COST, MOVED_COST)  # staged, not committed
    out = repo.root.parent / "site"
    result = run_kb(["build", "--out", str(out)], repo.root)
    assert result.exit_code == 0, result.output
    return out


def redirect_target(site: Path, old_url: str) -> str | None:
    """The href a redirect page at `old_url` points to, or None if the page there is not one."""
    page = (site / old_url / "index.html").read_text(encoding="utf-8")
    refresh = re.search(r'<meta http-equiv="refresh" content="0; url=([^"]*)">', page)
    if refresh is None:
        return None
    assert f'<link rel="canonical" href="{refresh.group(1)}">' in page
    assert f'<a href="{refresh.group(1)}">' in page
    return refresh.group(1)


def lands_on(site: Path, old_url: str, href: str) -> Path:
    """The file a browser at `old_url` reaches by following the relative `href`."""
    from urllib.parse import unquote

    assert not href.startswith(("/", "http:", "https:")), href  # relative: works under any base URL
    return site / posixpath.normpath(posixpath.join(old_url, unquote(href))) / "index.html"


@pytest.mark.parametrize("old", ["loops/2025/2025-12-01-lost-notes/", "loops/2025/2025-12-01-notes-lost/"])
def test_renamed_loop_redirects_from_each_old_url(site: Path, old: str) -> None:
    new_page = site / "loops/2026/2025-12-01-notes-lost-again/index.html"
    assert new_page.is_file()
    href = redirect_target(site, old)
    assert href == "../../2026/2025-12-01-notes-lost-again/"
    assert lands_on(site, old, href) == new_page


def test_staged_rename_redirects_too_with_an_encoded_url(site: Path) -> None:
    href = redirect_target(site, "handbook/cost_estimation/")
    assert href == "../writing/My%20Costs/"
    assert lands_on(site, "handbook/cost_estimation/", href).is_file()
    assert "<title>Moved: Cost estimation</title>" in (
        site / "handbook/cost_estimation/index.html"
    ).read_text(encoding="utf-8")


def test_no_redirect_where_a_current_page_has_the_old_url(site: Path) -> None:
    page = (site / "handbook/guide/index.html").read_text(encoding="utf-8")
    assert redirect_target(site, "handbook/guide/") is None
    assert "A different page under the old name." in page
    assert (site / "handbook/writing-guide/index.html").is_file()


def test_no_redirect_to_a_page_left_out_of_the_site(tmp_path: Path) -> None:
    from kb import redirects
    from kb.history import read_history
    from kb.pipeline import check
    from kb.settings import load_settings

    repo = GitRepo(tmp_path / "repo")
    repo.write(SMALL)
    repo.commit(message="handbook")
    repo.git("mv", GUIDE, "content/handbook/writing-guide.md")
    repo.git("mv", COST, "content/handbook/costs.md")
    repo.write({"content/handbook/writing-guide.md": "---\ntitle: [unclosed\n---\n\nBroken frontmatter.\n"})
    settings = load_settings(repo.root)
    docs = check(settings).corpus.documents
    moved = redirects.redirects(docs, read_history(repo.root, [d.path for d in docs]), "content")
    assert moved == {"handbook/cost_estimation/": ("handbook/costs/", "Cost estimation")}


def test_redirect_pages_stay_inside_the_site(tmp_path: Path) -> None:
    from kb import redirects

    site = tmp_path / "site"
    site.mkdir()
    written = redirects.write(site, {"../outside/": ("a/", "A"), "x/": ("a/", "<b>A & B</b>")})
    assert written == ["x/"] and not (tmp_path / "outside").exists()
    page = (site / "x" / "index.html").read_text(encoding="utf-8")
    assert "Moved: &lt;b&gt;A &amp; B&lt;/b&gt;" in page and 'url=../a/"' in page
