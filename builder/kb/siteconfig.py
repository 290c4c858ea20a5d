"""Checks of the site configuration a handbook keeps beside content/ (mkdocs.yml).

Text-only, so `kb lint` reports them without importing MkDocs.
"""

from __future__ import annotations

from pathlib import Path

from kb.findings import Finding, finding

CONFIG_NAMES = ("mkdocs.yml", "mkdocs.yaml")


def site_config_findings(root: Path) -> list[Finding]:
    """KB703: kb generates the nav, so a hand-written `nav:` in mkdocs.yml is ignored."""
    for name in CONFIG_NAMES:
        path = root / name
        if not path.is_file():
            continue
        try:
            text = path.read_text(encoding="utf-8", errors="replace")
        except OSError:
            return []
        for number, line in enumerate(text.split("\n"), 1):
            if line.startswith("nav:"):
                return [finding(name, number, 1, "KB703", f"{name} has a hand-written nav; kb generates it",
                                "remove 'nav:'; kb builds the nav from content/")]
        return []
    return []
