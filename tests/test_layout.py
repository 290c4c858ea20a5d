"""Any layout, through the CLI: the root found from kb.toml / [tool.kb] / content/, a content
folder anywhere (the repository root included) with only the handbook read and published, a
mkdocs.yml printed by `kb config` that builds as it is, and a nav whose share of each page does
not grow with the pages of other folders."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from click.testing import CliRunner

from kb.cli import main

PAGE = "# {title}\n\nSee [the guide]({link}).\n"


def write(root: Path, files: dict[str, str]) -> Path:
    for rel, text in files.items():
        target = root / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text, encoding="utf-8")
    return root


def kb(*args: str) -> tuple[int, str, str]:
    """Run kb in the current folder (no --root: the root is discovered)."""
    result = CliRunner().invoke(main, list(args), catch_exceptions=False)
    return result.exit_code, result.stdout, result.stderr


def lint_paths(cwd: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[list[dict], set[str]]:
    monkeypatch.chdir(cwd)
    code, out, err = kb("lint", "--format", "json")
    assert code in (0, 1), err
    found = json.loads(out)
    return found, {f["path"] for f in found}


def site_files(site: Path) -> set[str]:
    return {p.relative_to(site).as_posix() for p in site.rglob("*") if p.is_file()}


ROOT_HANDBOOK = {
    "kb.toml": 'content_dir = "."\n',
    "pyproject.toml": '[project]\nname = "tool"\nversion = "1"\n',
    "package.json": "{}\n",
    "LICENSE": "MIT\n",
    "Makefile": "all:\n",
    "CODEOWNERS": "* @someone\n",
    ".github/workflows/ci.yml": "on: push\n",
    ".gitbook/assets/x.md": "# hidden\n",
    "index.md": "# Team handbook\n\n[Guide](guides/guide.md), [drafts](drafts/wip.md) ![logo](logo.png)\n",
    "README.md": "# For GitHub readers\n",  # index.md exists: README.md is not the site's
    "logo.png": "png",
    "guides/guide.md": "# Guide\n\nBack [home](../index.md). ![chart](chart.svg) [data](data.json)\n",
    "guides/chart.svg": "<svg/>",
    "guides/data.json": "{}",
    "guides/CODEOWNERS": "* @x\n",
    "guides/sub/README.md": "# Sub\n\n[Guide](../guide.md)\n",
    "drafts/wip.md": "# Work in progress\n",
    "templates/header_page.md.j2": "{# kb's own template folder, never content #}\n",
    "venv/pyvenv.cfg": "home = /usr\n",
    "venv/lib/notes.md": "# not content\n",
    "node_modules/pkg/readme.md": "# not content\n",
    "build/site-from-before/.kb-site": "",
    "build/site-from-before/old.md": "# an old site\n",
}


def test_a_handbook_at_the_repository_root_reads_and_publishes_only_the_handbook(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = write(tmp_path / "repo", ROOT_HANDBOOK)
    monkeypatch.chdir(root)
    code, config, _ = kb("config")
    assert code == 0
    (root / "mkdocs.yml").write_text(config + "exclude_docs: |\n  drafts/\n", encoding="utf-8")
    found, paths = lint_paths(root / "guides" / "sub", monkeypatch)  # found from kb.toml above
    assert paths <= {"index.md", "guides/guide.md", "guides/sub/README.md"}, found
    assert {f["code"] for f in found if f["path"] == "index.md"} == {"KB406"}  # drafts/ is excluded
    monkeypatch.chdir(root)
    for _ in range(2):  # the second build must not read the first one's site or cache
        code, _, err = kb("build", "-q")
        assert code == 0, err
        assert "site/" not in err and ".kb-cache" not in err
    site = root / "site"
    files = site_files(site)
    assert {
        "index.html",
        "guides/guide/index.html",
        "guides/sub/index.html",
        "logo.png",
        "guides/chart.svg",
        "guides/data.json",
    } <= files
    assert "Team handbook" in (site / "index.html").read_text(encoding="utf-8")
    leaked = {
        f
        for f in files
        if re.search(
            r"kb\.toml|pyproject|package\.json|LICENSE|Makefile|CODEOWNERS|mkdocs\.yml|README|\.github|"
            r"\.gitbook|drafts|templates|venv|node_modules|site-from-before|\.kb-cache|^site/",
            f,
        )
    }
    assert not leaked


def test_content_dir_names_any_folder_and_paths_stay_repository_relative(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = write(
        tmp_path / "repo",
        {
            "pyproject.toml": '[project]\nname = "x"\n\n[tool.kb]\ncontent_dir = "./docs/"\n',
            "docs/README.md": "# Docs home\n\n[Broken](missing.md) and [ok](team/a.md)\n",
            "docs/team/a.md": "# A\n\n[Home](../README.md)\n",
            "content/ignored.md": "# kb reads docs/, not content/\n",
        },
    )
    found, paths = lint_paths(root / "docs" / "team", monkeypatch)
    assert paths == {"docs/README.md"}
    assert [f["code"] for f in found] == ["KB406"]
    monkeypatch.chdir(root)
    code, _, err = kb("build", "-q")
    assert code == 0, err
    home = (root / "site" / "index.html").read_text(encoding="utf-8")
    assert "Docs home" in home  # README.md is the home page where there is no index.md
    assert not (root / "site" / "ignored").exists()


def test_root_discovery_and_its_errors(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    bare = tmp_path / "bare"
    bare.mkdir()
    monkeypatch.chdir(bare)
    code, _, err = kb("lint")
    assert code == 2 and "no kb.toml, [tool.kb] in pyproject.toml or content/ folder" in err
    write(bare, {"pyproject.toml": '[project]\nname = "x"\n'})  # a pyproject without [tool.kb]
    assert kb("lint")[0] == 2
    write(bare, {"kb.toml": 'content_dir = "handbook"\n'})
    code, _, err = kb("lint")
    assert code == 2 and "has no handbook/ folder (its content_dir setting)" in err
    write(bare, {"kb.toml": 'content_dir = "../elsewhere"\n'})
    code, _, err = kb("lint")
    assert code == 2 and "must be a folder inside the repository" in err


def test_kb_config_prints_a_mkdocs_yml_that_builds_with_kb_overrides(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = write(
        tmp_path / "repo",
        {
            "content/index.md": "# Home\n\n[Other](other.md)\n",
            "content/other.md": "# Other\n\n[Home](index.md)\n",
        },
    )
    monkeypatch.chdir(root)
    code, config, _ = kb("config")
    assert code == 0 and "docs_dir" in config and not re.search(r"^\s*custom_dir:", config, re.M)
    assert not re.search(r"^\s*- pymdownx\.snippets", config, re.M)
    (root / "mkdocs.yml").write_text(
        config.replace("site_name: Handbook", "site_name: Copied"), encoding="utf-8"
    )
    code, _, err = kb("build", "-q")
    assert code == 0, err
    page = (root / "site" / "other" / "index.html").read_text(encoding="utf-8")
    assert "<title>Other - Copied</title>" in page
    assert 'rel="alternate" type="application/atom+xml"' in page  # kb's overrides, found by kb

    # a custom_dir of the site's own works beside kb's, and its files win over kb's
    theme = write(root / "theme", {"partials/copyright.html": "<p>OWN COPYRIGHT</p>\n"})
    (root / "mkdocs.yml").write_text(
        config.replace("  name: material\n", "  name: material\n  custom_dir: theme\n"), encoding="utf-8"
    )
    assert kb("build", "-q")[0] == 0
    page = (root / "site" / "other" / "index.html").read_text(encoding="utf-8")
    assert "OWN COPYRIGHT" in page and 'type="application/atom+xml"' in page
    write(
        theme,
        {"main.html": '{% extends "base.html" %}\n{% block extrahead %}<meta name="own">{% endblock %}\n'},
    )
    assert kb("build", "-q")[0] == 0
    page = (root / "site" / "other" / "index.html").read_text(encoding="utf-8")
    assert '<meta name="own">' in page and 'type="application/atom+xml"' not in page


def _sidebar(page: Path) -> str:
    html = page.read_text(encoding="utf-8")
    start = html.index('<nav class="md-nav md-nav--primary"')
    return html[start : html.index('class="md-content"', start)]


def test_a_page_does_not_grow_with_the_pages_of_other_folders(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def handbook(name: str, pages: int) -> Path:
        files = {
            "content/index.md": "# Home\n\n[About](about/index.md)\n",
            "content/about/index.md": "# About\n\n[Us](us.md)\n",
            "content/about/us.md": "# Us\n\n[About](index.md)\n",
        }
        for dept in ("sales", "eng"):
            files[f"content/{dept}/index.md"] = f"# {dept}\n\n" + "".join(
                f"[p{k}](team/p{k}.md)\n" for k in range(pages)
            )
            for k in range(pages):
                files[f"content/{dept}/team/p{k}.md"] = f"# Page {k}\n\n[Up](../index.md)\n"
        return write(tmp_path / name, files)

    sizes = []
    for name, pages in (("small", 2), ("large", 15)):
        monkeypatch.chdir(handbook(name, pages))
        code, _, err = kb("build", "-q")
        assert code == 0, err
        sizes.append(len(_sidebar(Path("site/about/us/index.html"))))
    assert sizes[0] == sizes[1]
    assert "Page 3" in _sidebar(Path("site/sales/team/p1/index.html"))  # its own folder is listed


def test_kb704_a_large_nav_without_prune_is_reported_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    files = {f"content/f{k // 50}/p{k}.md": "# P\n" for k in range(520)}
    files["mkdocs.yml"] = "site_name: X\ntheme:\n  name: material\n  features:\n    - navigation.tabs\n"
    root = write(tmp_path / "repo", files)
    found, _ = lint_paths(root, monkeypatch)
    kb704 = [f for f in found if f["code"] == "KB704"]
    assert len(kb704) == 1 and kb704[0]["path"] == "mkdocs.yml" and kb704[0]["line"] == 4
    assert "navigation.prune" in kb704[0]["hint"]
    (root / "mkdocs.yml").write_text(
        "site_name: X\ntheme:\n  name: material\n  features: [navigation.prune]\n"
    )
    found, _ = lint_paths(root, monkeypatch)
    assert not [f for f in found if f["code"] == "KB704"]


def test_changed_with_the_handbook_at_the_repository_root(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`kb lint --changed` lints the merge base of a root handbook too (the whole tree, not '.')."""
    from gitrepo import GitRepo

    repo = GitRepo(tmp_path / "repo")
    repo.write(
        {
            "kb.toml": 'content_dir = "."\n',
            "index.md": "# Home\n\n[A](a.md) [B](b.md)\n",
            "a.md": "# A\n\n[Home](index.md)\n",
            "b.md": "# B\n\n[Home](index.md)\n",
        }
    )
    repo.commit(message="base")
    repo.git("checkout", "-q", "-b", "feature")
    (repo.root / "a.md").unlink()
    (repo.root / "b.md").write_text("# B\n\n[Home](index.md) [gone](missing.md)\n")
    repo.commit(message="feature")
    monkeypatch.chdir(repo.root)
    code, out, err = kb("lint", "--changed", "--base", "main", "--format", "json")
    assert code == 1, err
    found = {(f["path"], f["code"]) for f in json.loads(out)}
    assert found == {("b.md", "KB406"), ("index.md", "KB406")}  # index.md: caused by deleting a.md


def test_serve_watches_a_root_handbook_but_never_its_site_or_cache(tmp_path: Path) -> None:
    from kb.serve import watched
    from kb.settings import load_settings

    root = write(
        tmp_path / "repo", {k: v for k, v in ROOT_HANDBOOK.items() if k != "build/site-from-before/.kb-site"}
    )
    (root / "site").mkdir()
    (root / "site" / ".kb-site").write_text("")
    (root / ".kb-cache").mkdir()
    paths = {p.relative_to(root).as_posix(): recursive for p, recursive in watched(load_settings(root))}
    assert paths == {".": False, "guides": True, "drafts": True, "build": True, "templates": True}
