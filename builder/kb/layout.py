"""Which files under the content folder are the handbook: what the walk reads and the site publishes.

The content folder may be any folder of the repository, the root included (`content_dir = "."`,
markdown beside README.md and pyproject.toml). In every layout kb leaves out:
- hidden files and folders (`.github/`, `.gitbook/`, `.DS_Store`), as MkDocs does;
- `templates/` at the content root (MkDocs never publishes it either; at the repository root it
  is kb's own template folder);
- `README.md` in a folder that also has `index.md` (MkDocs publishes the index and drops the
  README); without an `index.md`, `README.md` is the folder's page, the home page at the top;
- `CODEOWNERS`, `node_modules/`, `__pycache__/`, any virtual environment (a folder holding
  `pyvenv.cfg`), and any site kb built (a folder holding its `.kb-site` marker), besides the
  output and cache folders themselves;
- the `exclude` setting's globs, and MkDocs' `exclude_docs` (gitignore-style lines in mkdocs.yml).

With the handbook at the repository root, the files directly at the root that are not markdown
are the repository's (LICENSE, Makefile, package.json, kb.toml, mkdocs.yml...): of those only files
a page shows or offers for download (images, media, PDFs and office documents, archives,
stylesheets: `ROOT_ASSETS`) are published. Files in folders are published whatever their type.
"""

from __future__ import annotations

import fnmatch
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from kb.settings import Settings

#: File types published from the repository root when it is the content folder.
ROOT_ASSETS = frozenset(
    (
        ".png",
        ".jpg",
        ".jpeg",
        ".gif",
        ".svg",
        ".webp",
        ".avif",
        ".ico",
        ".bmp",
        ".tif",
        ".tiff",
        ".mp4",
        ".webm",
        ".mov",
        ".mp3",
        ".ogg",
        ".wav",
        ".m4a",
        ".pdf",
        ".docx",
        ".xlsx",
        ".pptx",
        ".odt",
        ".ods",
        ".odp",
        ".csv",
        ".zip",
        ".css",
    )
)
NEVER_FILES = frozenset(("CODEOWNERS",))
NEVER_FOLDERS = frozenset(("node_modules", "__pycache__"))
SITE_MARKER = ".kb-site"  # kb.output.MARKER: not imported, so lint never loads the output module


@dataclass(frozen=True)
class Layout:
    """The exclusion rules of one handbook, decided once per walk."""

    at_root: bool
    skip_folders: frozenset[str]  # real paths: the output and cache folders
    patterns: tuple[str, ...]  # [tool.kb] exclude globs, relative to the content folder
    spec: Any  # MkDocs' exclude_docs as a pathspec GitIgnoreSpec, or None

    @classmethod
    def of(cls, settings: Settings) -> Layout:
        from kb.siteconfig import exclude_docs

        lines = exclude_docs(settings.root)
        spec = None
        if lines.strip():
            import pathspec  # MkDocs' own matcher; imported only for a mkdocs.yml that uses it

            spec = pathspec.GitIgnoreSpec.from_lines(lines.splitlines())
        folders = frozenset(os.path.realpath(p) for p in (settings.output, settings.cache))
        return cls(settings.at_root, folders, settings.exclude, spec)

    def skips_folder(self, rel: str, name: str, path: str) -> bool:
        if name.startswith(".") or name in NEVER_FOLDERS or rel == "templates":
            return True
        if os.path.isfile(os.path.join(path, "pyvenv.cfg")) or os.path.isfile(
            os.path.join(path, SITE_MARKER)
        ):
            return True
        return os.path.realpath(path) in self.skip_folders or self._excluded(rel)

    def skips_file(self, rel: str, name: str, names: frozenset[str]) -> bool:
        if name.startswith(".") or name in NEVER_FILES:
            return True
        if name == "README.md" and "index.md" in names:
            return True
        if (
            self.at_root
            and "/" not in rel
            and not name.endswith(".md")
            and (Path(name).suffix.lower() not in ROOT_ASSETS)
        ):
            return True
        return self._excluded(rel) or (self.spec is not None and self.spec.match_file(rel))

    def _excluded(self, rel: str) -> bool:
        return any(fnmatch.fnmatchcase(rel, p) for p in self.patterns)
