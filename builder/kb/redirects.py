"""Renamed documents keep their old URLs: a static redirect page at each old location.

Plain HTML (meta refresh plus a canonical link and a visible link), written into the built
site after rendering, so it works with any renderer and needs no MkDocs plugin.
"""

from __future__ import annotations

import html
import os
import posixpath
from pathlib import Path
from typing import Any
from urllib.parse import quote

from kb.templating import url_of

PAGE = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>Moved: {title}</title>
<meta http-equiv="refresh" content="0; url={target}">
<link rel="canonical" href="{target}">
<meta name="robots" content="noindex">
</head>
<body>
<p>This page moved to <a href="{target}">{title}</a>.</p>
</body>
</html>
"""


def redirects(docs: Any, history: Any, content_dir: str) -> dict[str, tuple[str, str]]:
    """old URL → (new URL, title) for every document whose history shows a rename."""
    if history is None:
        return {}
    prefix = "" if content_dir == "." else content_dir + "/"
    out: dict[str, tuple[str, str]] = {}
    for doc in docs:
        if not doc.readable:  # left out of the site: nothing to redirect to
            continue
        hist = history.files.get(doc.path)
        for old in hist.previous_paths if hist else ():
            if old.startswith(prefix) and old.endswith(".md") and old != doc.path:
                old_url = url_of(old[len(prefix) : -3])
                if old_url != url_of(doc.key):
                    out[old_url] = (url_of(doc.key), doc.title)
    return out


def write(site: Path, moved: dict[str, tuple[str, str]]) -> list[str]:
    """Write a redirect page for each old URL that no current page occupies.

    A handbook with years of renames has more old URLs than pages (Sourcegraph's: 1,455 for
    883 pages), so this stays at a few system calls a page: no path resolved, each folder
    made once."""
    written = []
    made: set[str] = set()
    root = os.fspath(site)
    for old_url, (new_url, title) in sorted(moved.items()):
        if not _inside(old_url):
            continue
        folder = os.path.join(root, old_url)
        target = os.path.join(folder, "index.html")
        if os.path.exists(target):
            continue
        relative = quote(posixpath.relpath(new_url or ".", old_url.rstrip("/") or ".") + "/")
        if folder not in made:
            os.makedirs(folder, exist_ok=True)
            made.add(folder)
        with open(target, "w", encoding="utf-8") as fh:
            fh.write(PAGE.format(title=html.escape(title), target=html.escape(relative, quote=True)))
        written.append(old_url)
    return written


def _inside(url: str) -> bool:
    """Whether a site URL (`a/b/`) stays inside the site: relative, no `.` or `..` part. The
    site folder is kb's own staging folder, which holds no symbolic link to leave it by."""
    parts = url.rstrip("/").split("/")
    return not url.startswith("/") and "\\" not in url and not any(p in (".", "..") for p in parts)
