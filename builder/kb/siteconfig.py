"""The site configuration a handbook keeps beside its content (mkdocs.yml), read as text.

Text and PyYAML only, so `kb lint` reads it without importing MkDocs: kb's checks of it
(KB703), and the keys the lint stages need (`exclude_docs`, `theme.features`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from kb.findings import Finding, finding

CONFIG_NAMES = ("mkdocs.yml", "mkdocs.yaml")


def config_path(root: Path) -> Path | None:
    """The repository's own mkdocs.yml (or .yaml), if it has one."""
    for name in CONFIG_NAMES:
        if (root / name).is_file():
            return root / name
    return None


def site_config_findings(root: Path) -> list[Finding]:
    """KB703: kb generates the nav, so a hand-written `nav:` in mkdocs.yml is ignored."""
    path = config_path(root)
    if path is None:
        return []
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return []
    for number, line in enumerate(text.split("\n"), 1):
        if line.startswith("nav:"):
            return [finding(path.name, number, 1, "KB703", f"{path.name} has a hand-written nav; kb generates it",
                            "remove 'nav:'; kb builds the nav from content/")]
    return []


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
