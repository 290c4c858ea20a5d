"""The markdown extensions a handbook's site renders with, as far as the body scanner cares.

The site renders with the repository's `mkdocs.yml` (or `mkdocs.yaml`) `markdown_extensions`,
else with the built-in configuration (`templates/mkdocs.builtin.yml`, or a handbook's own
`templates/mkdocs.builtin.yml`), plus the three MkDocs always adds: `toc`, `tables`,
`fenced_code`. This module reads that list as text, without importing MkDocs, Python-Markdown
or pymdownx (`kb lint` stays light): YAML's `!!python/...` and `!ENV` tags are kept as `Tag`
values, never resolved.
"""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

CONFIG_NAMES = ("mkdocs.yml", "mkdocs.yaml")
BUILTIN = "mkdocs.builtin.yml"
#: Extensions MkDocs adds to every configuration.
MKDOCS_BUILTINS = ("toc", "tables", "fenced_code")


@dataclass(frozen=True)
class Tag:
    """A YAML value with a Python or `!ENV` tag, kept as written."""

    tag: str
    value: Any = None


@dataclass(frozen=True)
class MarkdownConfig:
    """What the body scanner must know of the configured extensions."""

    footnotes: bool = True
    md_in_html: bool = True
    attr_list: bool = True
    superfences: bool = True  # fences at any indentation (else fenced_code's: column 1 only)
    admonition: bool = True  # `!!! note` with an indented body
    details: bool = True  # `??? note`
    tabbed: bool = True  # `=== "Tab"`
    def_list: bool = True  # `:   definition`
    #: toc's slugify: "default" (Python-Markdown's ASCII one), "unicode" (slugify_unicode),
    #: "pymdownx" (pymdownx.slugs.slugify with `slug_case`, `slug_percent`, `slug_normalize`)
    slugify: str = "default"
    slug_case: str = "lower"
    slug_percent: bool = False
    slug_normalize: str = "NFC"
    separator: str = "-"
    #: the extension names and their configurations as written (for the differential test)
    extensions: tuple[str, ...] = field(default=(), compare=False)
    configs: dict[str, Any] = field(default_factory=dict, compare=False, hash=False)
    source: str = ""  # the file it came from ("" = kb's defaults)


class _Loader(getattr(yaml, "CSafeLoader", yaml.SafeLoader)):  # type: ignore[misc]
    """SafeLoader (libyaml's when there) that keeps `!!python/...` and `!ENV` values as `Tag`s
    instead of failing."""


def _tagged(loader: Any, suffix: str, node: yaml.Node) -> Tag:
    if isinstance(node, yaml.ScalarNode):
        value: Any = loader.construct_scalar(node)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    else:
        value = loader.construct_mapping(node, deep=True)
    return Tag(suffix, value)


_Loader.add_multi_constructor("tag:yaml.org,2002:python/", _tagged)
_Loader.add_multi_constructor("!", _tagged)


def config_path(root: Path) -> Path | None:
    """The file the site's extensions come from, as `kb.render.config_file` picks it."""
    for name in CONFIG_NAMES:
        if (root / name).is_file():
            return root / name
    own = root / "templates" / BUILTIN
    if own.is_file():
        return own
    here = Path(__file__).resolve().parent
    for folder in (here / "templates", here.parents[1] / "templates"):
        if (folder / BUILTIN).is_file():
            return folder / BUILTIN
    return None


_CACHE: dict[tuple[str, int, int], MarkdownConfig] = {}


def for_root(root: Path) -> MarkdownConfig:
    """The configuration for a handbook root (cached by the file's path, size and mtime)."""
    path = config_path(root)
    if path is None:
        return MarkdownConfig()
    try:
        st = path.stat()
    except OSError:
        return MarkdownConfig()
    key = (str(path), st.st_size, st.st_mtime_ns)
    if key not in _CACHE:
        try:
            text = path.read_text(encoding="utf-8", errors="replace")
        except OSError:
            return MarkdownConfig()
        _CACHE[key] = from_text(text, str(path))
    return _CACHE[key]


def read_extensions(text: str) -> tuple[list[str], dict[str, Any]]:
    """`markdown_extensions` of an mkdocs.yml text: names in order (MkDocs' own three added)
    and each one's configuration. Unreadable YAML gives MkDocs' three alone."""
    try:
        data = yaml.load(text, Loader=_Loader)  # noqa: S506 - a SafeLoader subclass
    except yaml.YAMLError:
        data = None
    raw = data.get("markdown_extensions") if isinstance(data, dict) else None
    items: list[tuple[str, Any]] = []
    if isinstance(raw, dict):
        items = [(str(k), v) for k, v in raw.items()]
    elif isinstance(raw, list):
        for item in raw:
            if isinstance(item, str):
                items.append((item, None))
            elif isinstance(item, dict) and len(item) == 1:
                ((name, conf),) = item.items()
                items.append((str(name), conf))
    names: list[str] = []
    configs: dict[str, Any] = {}
    for name, conf in [(b, None) for b in MKDOCS_BUILTINS] + items:
        if name not in names:
            names.append(name)
        if isinstance(conf, dict):
            configs[name] = conf
    return names, configs


def from_text(text: str, source: str = "") -> MarkdownConfig:
    names, configs = read_extensions(text)
    on = {n.removeprefix("markdown.extensions.") for n in names}
    toc = configs.get("toc", {})
    slug = _slugify_choice(toc.get("slugify"))
    sep = toc.get("separator", "-")
    return MarkdownConfig(
        footnotes="footnotes" in on or "extra" in on,
        md_in_html="md_in_html" in on or "extra" in on,
        attr_list="attr_list" in on or "extra" in on,
        superfences="pymdownx.superfences" in on,
        admonition="admonition" in on,
        details="pymdownx.details" in on,
        tabbed="pymdownx.tabbed" in on,
        def_list="def_list" in on or "extra" in on,
        slugify=slug[0],
        slug_case=slug[1],
        slug_percent=slug[2],
        slug_normalize=slug[3],
        separator=sep if isinstance(sep, str) else "-",
        extensions=tuple(names),
        configs=configs,
        source=source,
    )


#: Older pymdownx.slugs functions: (case, percent-encoded).
_LEGACY = {
    "uslugify": ("lower", False),
    "uslugify_encoded": ("lower", True),
    "uslugify_cased": ("none", False),
    "uslugify_cased_encoded": ("none", True),
    "gfm": ("lower-ascii", False),
    "gfm_encoded": ("lower-ascii", True),
}


def _slugify_choice(value: Any) -> tuple[str, str, bool, str]:
    """(kind, case, percent, normalize) from toc's `slugify` setting."""
    default = ("default", "lower", False, "NFC")
    if not isinstance(value, Tag):
        return default
    if value.tag.startswith("name:"):
        name = value.tag[5:]
        if name == "markdown.extensions.toc.slugify_unicode":
            return ("unicode", "lower", False, "NFC")
        module, _, func = name.rpartition(".")
        if module == "pymdownx.slugs" and func in _LEGACY:
            case, percent = _LEGACY[func]
            return ("pymdownx", case, percent, "NFC")
        return default
    if value.tag == "object/apply:pymdownx.slugs.slugify":
        kwds: Any = {}
        if isinstance(value.value, dict):
            kwds = value.value.get("kwds") or {}
        if not isinstance(kwds, dict):
            kwds = {}
        normalize = kwds.get("normalize", "NFC")
        return (
            "pymdownx",
            str(kwds.get("case", "none")),
            bool(kwds.get("percent_encode", False)),
            normalize if normalize in ("NFC", "NFD", "NFKC", "NFKD") else "NFC",
        )
    return default


def _material_icons() -> Path | None:
    """Material's own icon folder, found without importing the package (`kb lint` stays light)."""
    try:
        spec = importlib.util.find_spec("material")
    except (ImportError, ValueError):
        return None
    for location in (spec.submodule_search_locations or []) if spec else []:
        folder = Path(location) / "templates" / ".icons"
        if folder.is_dir():
            return folder
    return None


_ICONS: dict[str, tuple[Path, ...] | None] = {}


def icon_dirs(root: Path) -> tuple[Path, ...] | None:
    """The `.icons` folders a page's `icon:` is looked up in (Material includes
    `.icons/<icon>.svg` from its template path: the handbook's `templates/overrides/`, the
    theme's `custom_dir`, then Material's own), or None when the site's theme is not Material
    (no other theme reads `icon`) or Material cannot be found: nothing to check against."""
    path = config_path(root)
    key = f"{root}\0{path}"
    if key in _ICONS:
        return _ICONS[key]
    theme: Any = "material"
    if path is not None:
        try:
            data = yaml.load(path.read_text(encoding="utf-8", errors="replace"), Loader=_Loader)  # noqa: S506
        except (OSError, yaml.YAMLError):
            data = None
        theme = data.get("theme") if isinstance(data, dict) else None
    name = theme.get("name") if isinstance(theme, dict) else theme
    material = _material_icons()
    found: tuple[Path, ...] | None = None
    if name == "material" and material is not None:
        folders = [root / "templates" / "overrides" / ".icons"]
        custom = theme.get("custom_dir") if isinstance(theme, dict) else None
        if isinstance(custom, str) and path is not None:
            folders.append(path.parent / custom / ".icons")
        found = (*[f for f in folders if f.is_dir()], material)
    _ICONS[key] = found
    return found


def icon_exists(folders: tuple[Path, ...], icon: str) -> bool:
    """Whether `icon` (`material/book`) names an `.svg` in one of the folders."""
    return any((folder / f"{icon}.svg").is_file() for folder in folders)
