"""The site configuration a handbook keeps beside its content (mkdocs.yml), read as text.

Text and PyYAML only, so `kb lint` reads it without importing MkDocs: kb's checks of it
(KB703, KB704), and the keys the lint stages need (`exclude_docs`, `theme.features`).
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any, Protocol

import yaml

from kb.findings import Finding, finding
from kb.mdconfig import CONFIG_NAMES
from kb.model import Collection


class Listed(Protocol):
    """What KB704 reads of a document to count the nav's entries: a `Document`, or the lighter
    `kb.link.Node` that `kb lint` keeps of each document."""

    @property
    def rel(self) -> str: ...

    @property
    def collection(self) -> Collection: ...

    @property
    def readable(self) -> bool: ...


def config_path(root: Path) -> Path | None:
    """The repository's own mkdocs.yml (or .yaml), if it has one."""
    for name in CONFIG_NAMES:
        if (root / name).is_file():
            return root / name
    return None


#: Beyond this many nav entries, a theme that prints the whole nav into every page (Material
#: without navigation.prune) makes every page, and the build, grow with the handbook (KB704).
NAV_MAX = 500


def site_config_findings(root: Path, documents: Iterable[Listed] = ()) -> list[Finding]:
    """KB703: kb generates the nav, so a hand-written `nav:` in mkdocs.yml is ignored.
    KB704: the site's Material theme lacks `navigation.prune` while the nav is large."""
    path = config_path(root)
    if path is None:
        return []  # the built-in configuration prunes the nav
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return []
    lines = text.split("\n")
    found = []
    for number, line in enumerate(lines, 1):
        if line.startswith("nav:"):
            found.append(
                finding(
                    path.name,
                    number,
                    1,
                    "KB703",
                    f"{path.name} has a hand-written nav; kb generates it",
                    "remove 'nav:'; kb builds the nav from the content folder",
                )
            )
            break
    entries = nav_entries(documents)
    if entries > NAV_MAX:
        config = read_config(path)
        if _theme_name(config) == "material" and "navigation.prune" not in theme_features(config):
            number = next(
                (n for n, line in enumerate(lines, 1) if line.strip().startswith("features:")),
                next((n for n, line in enumerate(lines, 1) if line.startswith("theme:")), 1),
            )
            found.append(
                finding(
                    path.name,
                    number,
                    1,
                    "KB704",
                    f"the nav has about {entries} entries and Material prints them all into every page "
                    "(the site and its build grow with the handbook)",
                    "add 'navigation.prune' to theme.features: each page then carries only its own path "
                    "of the nav (it does not combine with navigation.expand)",
                )
            )
    return found


def nav_entries(documents: Iterable[Listed]) -> int:
    """How many entries kb's nav gets from plain pages: one per page, one per folder."""
    pages = [d.rel for d in documents if d.collection is Collection.PAGE and d.readable]
    folders = {rel.rsplit("/", 1)[0] for rel in pages if "/" in rel}
    return len(pages) + len(folders)


def _theme_name(config: dict[str, Any]) -> str | None:
    theme = config.get("theme")
    name = theme.get("name") if isinstance(theme, dict) else theme
    return name if isinstance(name, str) else None


class _AnyTagLoader(yaml.SafeLoader):
    """Safe loading that reads MkDocs' own tags (`!!python/name:…`, `!ENV`, `!relative`) as
    plain values (None), instead of failing on them or running anything."""


def _any_tag(loader: yaml.SafeLoader, suffix: str, node: yaml.Node) -> Any:
    return None


_AnyTagLoader.add_multi_constructor("!", _any_tag)
_AnyTagLoader.add_multi_constructor("tag:yaml.org,2002:python/", _any_tag)


def read_config(path: Path) -> dict[str, Any]:
    """A mkdocs.yml as a mapping ({} when it cannot be read: MkDocs reports that at build time)."""
    try:
        data = yaml.load(path.read_text(encoding="utf-8"), Loader=_AnyTagLoader)  # noqa: S506 - safe loader
    except (OSError, UnicodeDecodeError, yaml.YAMLError):
        return {}
    return data if isinstance(data, dict) else {}


def exclude_docs(root: Path) -> str:
    """MkDocs' `exclude_docs` of the repository's mkdocs.yml: gitignore-style lines, or ""."""
    path = config_path(root)
    value = read_config(path).get("exclude_docs") if path else None
    return value if isinstance(value, str) else ""


def theme_features(config: dict[str, Any]) -> list[str]:
    """The `theme.features` of a loaded config."""
    theme = config.get("theme")
    features = theme.get("features") if isinstance(theme, dict) else None
    return [f for f in features if isinstance(f, str)] if isinstance(features, list) else []
