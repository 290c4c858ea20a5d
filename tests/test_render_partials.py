"""Theme partials rendered once and given again (`kb.render_partials`): faster, never different.

Each test builds one handbook (a git repository of loops and plain pages in nested folders)
with `kb build` twice, with the cache and without it (`KB_PARTIALS_CACHE=0`), and every file
of the two sites must have the same bytes: for kb's built-in configuration (palette, tags,
features), a site's own small `mkdocs.yml`, and a `custom_dir` that overrides partials, imports
one as a module, or brings an icon that reads the page.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from gitrepo import GitRepo
from kb import render
from site_helpers import FIXED_NOW, many_loops, run_kb, snapshot

WORDS = "team process budget review roadmap hiring onboarding incident".split()

TUNED = (
    "site_name: Tuned\ntheme:\n  name: material\n  features:\n    - navigation.prune\nplugins:\n  - search\n"
)
#: A custom_dir whose partials read the page (search box, copyright) and whose main.html imports
#: the logo partial as a module, for a name it sets (the dispatch would set none).
CUSTOM = (
    "site_name: Custom\nrepo_url: https://github.com/example/handbook\ntheme:\n  name: material\n"
    "  custom_dir: overrides\n  features:\n    - navigation.prune\n    - navigation.footer\n"
    "  palette:\n    - scheme: default\n      toggle:\n        icon: material/weather-night\n"
    "        name: Dark\n    - scheme: slate\n      toggle:\n        icon: material/weather-sunny\n"
    "        name: Light\nplugins:\n  - search\n  - tags\n"
)
CUSTOM_FILES = {
    "overrides/partials/search.html": '<div class="md-search">{{ page.title }} {{ base_url }}</div>\n',
    "overrides/partials/copyright.html": '<div class="md-copyright">{{ page.url }}</div>\n',
    "overrides/main.html": (
        '{% extends "base.html" %}\n{% block extrahead %}'
        '{% import "partials/logo.html" as logo with context %}<meta name="x" content="{{ logo.icon }}">'
        "{% endblock %}\n"
    ),
}
#: A logo icon of the site's own that prints the page's URL: under ".icons/", which the theme's
#: logo partial includes by a computed name.
ICON = "site_name: Icon\ntheme:\n  name: material\n  custom_dir: overrides\n  icon:\n    logo: kb/page\nplugins:\n  - search\n"
ICON_FILES = {"overrides/.icons/kb/page.svg": '<svg data-page="{{ page.url }}"></svg>\n'}

CONFIGS: dict[str, tuple[str | None, dict[str, str]]] = {
    "builtin": (None, {}),
    "tuned": (TUNED, {}),
    "custom": (CUSTOM, CUSTOM_FILES),
    "icon": (ICON, ICON_FILES),
}


def plain_pages(count: int) -> dict[str, str | bytes]:
    """`count` plain pages in folders two and three deep, each folder with an index."""
    files: dict[str, str | bytes] = {}
    for i in range(count):
        folder = f"guide/{WORDS[i % 3]}" + ("" if i % 2 else f"/{WORDS[3 + i % 5]}")
        files[f"content/{folder}/page-{i:02d}.md"] = f"# Page {i}\n\n## Part\n\nText about {WORDS[i % 8]}.\n"
        files.setdefault(f"content/{folder}/index.md", f"# {folder.rsplit('/', 1)[-1].title()}\n\nIndex.\n")
    return files


def handbook(tmp_path: Path, name: str) -> Path:
    config, extra = CONFIGS[name]
    files = {**many_loops(12), **plain_pages(24), **extra}
    if config is not None:
        files["mkdocs.yml"] = config
    repo = GitRepo(tmp_path / "hb")
    repo.write(files)
    repo.git("add", "-A")
    repo.git("commit", "-q", "-m", "handbook")
    return repo.root


def build(root: Path, out: Path, **env: str) -> dict[str, str]:
    result = run_kb(["build", "-q", "--out", str(out)], root, env={"KB_JOBS": "1", **FIXED_NOW, **env})
    assert result.exit_code == 0, result.output
    return snapshot(out)


@pytest.mark.parametrize("name", list(CONFIGS))
def test_the_cached_partials_give_the_theme_s_own_site_byte_for_byte(tmp_path: Path, name: str) -> None:
    root = handbook(tmp_path, name)
    cached = build(root, tmp_path / "cached")
    plain = build(root, tmp_path / "plain", KB_PARTIALS_CACHE="0")
    assert len(plain) > 60
    assert {page for page in plain if cached.get(page) != plain[page]} == set()
    assert set(cached) == set(plain)


def partials_of(root: Path, tmp_path: Path) -> object:
    """The partial cache of one in-process render of `root` (kb's plugin keeps the last one)."""
    from kb.emit import emit
    from kb.pipeline import check
    from kb.settings import load_settings

    settings = load_settings(root)
    emitted = emit(check(settings), None, settings, settings.cache / "docs")
    config, _ = render.load(root, emitted, tmp_path / "site", strict=False)
    render.render(config, quiet=True)
    return config["plugins"]["kb/render"].partials


def test_the_theme_s_partials_are_given_again(tmp_path: Path) -> None:
    partials = partials_of(handbook(tmp_path, "builtin"), tmp_path)
    assert partials is not None and not partials.off
    assert {"partials/search.html", "partials/palette.html", "partials/logo.html"} <= partials.served
    assert partials.hits > 100  # several partials on each of some 60 pages
    assert "partials/header.html" not in partials.served  # it prints the page's title
    assert partials.words  # the translations, worked out once


def test_a_custom_dir_s_partials_and_imported_ones_are_rendered_as_usual(tmp_path: Path) -> None:
    partials = partials_of(handbook(tmp_path, "custom"), tmp_path)
    assert partials is not None
    assert "partials/search.html" not in partials.served  # the site's own file
    assert "partials/logo.html" not in partials.served  # imported by the site's main.html
    assert "partials/palette.html" in partials.served


def test_an_icon_that_reads_the_page_stops_the_cache(tmp_path: Path) -> None:
    partials = partials_of(handbook(tmp_path, "icon"), tmp_path)
    assert partials is not None and partials.off


def test_the_switch_turns_it_off(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KB_PARTIALS_CACHE", "0")
    assert partials_of(handbook(tmp_path, "tuned"), tmp_path) is None
