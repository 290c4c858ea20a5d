"""Jinja2 for emitted markdown: autoescaping on, StrictUndefined, and markdown-safe filters.

Templates come from the handbook's own `templates/` first, then from the defaults that ship
inside the package, file by file — so an installed kb works in any repository.
"""

from __future__ import annotations

import functools
import html
import json
import posixpath
import re
from pathlib import Path
from typing import Any

import jinja2
from markupsafe import Markup

_MD_SPECIALS = re.compile(r"([\\`*_\[\]{}|#!~])")


def default_templates() -> Path:
    """The built-in templates: inside the installed package, or the repository's folder."""
    here = Path(__file__).resolve().parent
    installed = here / "templates"
    return installed if installed.is_dir() else here.parents[1] / "templates"


#: The folder, in kb's cache, of compiled Jinja2 templates (kb's own and the theme's).
COMPILED = "templates-compiled"


def bytecode_cache(folder: Path) -> jinja2.BytecodeCache | None:
    """Jinja2's own cache of compiled templates, in `folder`: compiling Material's templates
    costs about 0.5 s a build, and Jinja2 recompiles any template whose source changed."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError:
        return None
    return jinja2.FileSystemBytecodeCache(str(folder))


def environment(root: Path, compiled: Path | None = None) -> jinja2.Environment:
    """kb's own templates (the handbook's `templates/` first); `compiled`: see `bytecode_cache`."""
    folders = [root / "templates", default_templates()]
    loader = jinja2.FileSystemLoader([str(f) for f in folders if f.is_dir()])
    env = jinja2.Environment(
        bytecode_cache=bytecode_cache(compiled) if compiled is not None else None,
        loader=loader,
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters.update(
        md=md,
        cell=cell,
        mermaid_label=mermaid_label,
        date=iso_date,
        fm=fm,
        plural=plural,
        string=string,
        strings=strings,
        mappings=mappings,
    )
    return env


def md(value: Any) -> Markup:
    """Text safe in markdown prose: HTML-escaped, markdown punctuation backslash-escaped."""
    text = _MD_SPECIALS.sub(r"\\\1", " ".join(str(value).split()))
    return Markup(html.escape(text, quote=False))


def cell(value: Any) -> Markup:
    """Text safe in a markdown table cell (pipes escaped too, no line breaks)."""
    return md(value)


def mermaid_label(value: Any) -> Markup:
    """A mermaid node label: quotes and angle brackets as mermaid entity codes."""
    text = " ".join(str(value).split())
    for char, code in (("&", "#amp;"), ('"', "#quot;"), ("<", "#lt;"), (">", "#gt;")):
        text = text.replace(char, code)
    return Markup(text)


def fm(value: Any) -> Markup:
    """A frontmatter string: HTML-escaped (Material prints meta raw), then quoted for YAML."""
    return Markup(json.dumps(html.escape(str(value), quote=True), ensure_ascii=False))


def plural(count: int, noun: str) -> str:
    """`1 loop cycle`, `2 loop cycles` (English nouns that take an s)."""
    return f"{count} {noun}{'' if count == 1 else 's'}"


def string(value: Any) -> str:
    """A frontmatter value that should be text: anything else (reported by lint) shows as nothing.

    `kb build` without --strict renders documents with findings, so a template never trusts a
    value's type: `users: Someone` or `consumes: 3` must not crash the build or print noise.
    """
    return value if isinstance(value, str) else ""


def strings(value: Any) -> list[str]:
    """The string items of a frontmatter list; a value of the wrong type is an empty list."""
    return [v for v in value if isinstance(v, str)] if isinstance(value, list) else []


def mappings(value: Any) -> list[dict[str, Any]]:
    """The mapping items of a frontmatter list (interfaces, feedback); anything else is empty."""
    return [v for v in value if isinstance(v, dict)] if isinstance(value, list) else []


def iso_date(value: Any) -> str:
    return value.isoformat() if value else "—"


def href(from_key: str, to_key: str, anchor: str | None = None) -> str:
    """A relative link between two emitted markdown files (MkDocs turns it into a URL)."""
    folder, _, name = to_key.rpartition("/")
    up = _relative_folder(folder, from_key.rpartition("/")[0])
    rel = f"{up}{name}.md".replace(" ", "%20").replace("(", "%28").replace(")", "%29")
    return f"{rel}#{anchor}" if anchor else rel


@functools.lru_cache(maxsize=4096)
def _relative_folder(target: str, start: str) -> str:
    """The relative path from folder `start` to folder `target`, ending in '/' (or ''):
    a handbook has few folders and many links, so this is computed once per pair."""
    rel = posixpath.relpath(target or ".", start or ".")
    return "" if rel == "." else rel + "/"


def link(from_key: str, to_key: str, title: str, anchor: str | None = None) -> Markup:
    """`[title](relative.md)` with the title made safe."""
    return Markup(f"[{md(title)}]({href(from_key, to_key, anchor)})")


def url_of(key: str) -> str:
    """The directory URL MkDocs gives a page (relative to the site root)."""
    if key == "index":
        return ""
    if key.endswith("/index"):
        return key[: -len("index")]
    return key + "/"


def relative(from_key: str, path: str) -> str:
    """A relative link from a page's markdown file to any file of the emitted tree."""
    return posixpath.relpath(path, posixpath.dirname(from_key + ".md") or ".")
