"""Settings: `[tool.kb]` in pyproject.toml, or kb.toml, with a default for everything.

Zero configuration is the rule: a repository holding only `content/` works. Unknown keys are
an environment error (exit 2) rather than silently ignored, because a misspelt setting that
does nothing is exactly the kind of mistake kb exists to catch.
"""

from __future__ import annotations

import posixpath
import re
import tomllib
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from kb.errors import KbError
from kb.findings import RULES, Severity


@dataclass(frozen=True)
class Settings:
    """Every setting kb reads. Each field's comment is its documentation (README table)."""

    root: Path
    #: folder holding the handbook, relative to the root
    content_dir: str = "content"
    #: where `kb build` writes the site, relative to the root
    output_dir: str = "site"
    #: cache of the emitted docs tree, kept between builds
    cache_dir: str = ".kb-cache"
    #: files larger than this are not read (KB106)
    max_file_bytes: int = 1024 * 1024
    #: deepest YAML nesting accepted in frontmatter (KB107)
    max_yaml_depth: int = 32
    #: most YAML nodes a frontmatter block may expand to, aliases included (KB107)
    max_yaml_nodes: int = 5000
    #: an open loop older than this many days is stale (KB602)
    stale_days: int = 90
    #: principles not practiced within this many days are flagged on the coverage page
    coverage_window_days: int = 180
    #: glob patterns (relative to the content folder) of files kb ignores entirely
    exclude: tuple[str, ...] = ()
    #: per-rule severity overrides, e.g. {KB601 = "off", KB410 = "error"}
    severity: dict[str, Severity] = field(default_factory=dict)
    #: ask every product card for `non_goals`, its boundary (KB414)
    require_non_goals: bool = False
    #: plain pages may embed https or same-site iframes, video, audio, objects and <style>;
    #: false reports them (KB409) as in the collections
    allow_embeds: bool = True
    #: site URL used for feeds and canonical links when mkdocs.yml gives no site_url
    site_url: str = ""

    @property
    def content(self) -> Path:
        return self.root / self.content_dir

    @property
    def content_prefix(self) -> str:
        """What goes before a content-relative path to make it root-relative: `content/`, or
        nothing when the handbook is the repository root (`content_dir = "."`)."""
        return "" if self.content_dir == "." else self.content_dir + "/"

    def repo_path(self, rel: str) -> str:
        """A content-relative path as a root-relative one (`x.md` → `content/x.md`)."""
        return self.content_prefix + rel

    @property
    def at_root(self) -> bool:
        """The handbook is the repository root itself (markdown beside pyproject.toml, README...)."""
        return self.content_dir == "."

    @property
    def output(self) -> Path:
        return (self.root / self.output_dir).resolve()

    @property
    def cache(self) -> Path:
        return self.root / self.cache_dir


def find_root(start: Path) -> Path:
    """The nearest folder at or above `start` that holds `kb.toml`, a `pyproject.toml` with a
    `[tool.kb]` table, or a `content/` folder (like git finds `.git`)."""
    start = start.resolve()
    for folder in (start, *start.parents):
        if is_root(folder):
            return folder
    raise KbError(
        f"no kb.toml, [tool.kb] in pyproject.toml or content/ folder in {start} or any folder "
        "above it (run kb inside a handbook repository, or pass --root DIR)"
    )


def is_root(folder: Path) -> bool:
    """Does `folder` hold kb's settings or a `content/` folder?"""
    if (folder / "kb.toml").is_file() or (folder / "content").is_dir():
        return True
    pyproject = folder / "pyproject.toml"
    if not pyproject.is_file():
        return False
    try:
        data = tomllib.loads(pyproject.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError):
        return False  # not kb's to judge here; load_settings reports it where it is kb's root
    tool = data.get("tool")
    return isinstance(tool, dict) and "kb" in tool


def load_settings(root: Path) -> Settings:
    """Read `[tool.kb]` from pyproject.toml, else kb.toml; defaults for the rest. A bad
    setting is a KbError (exit 2) naming the file and the setting's line."""
    raw, source, text = _read_table(root)
    known = {f.name for f in fields(Settings)} - {"root"}
    values: dict[str, Any] = {}
    for key, value in raw.items():
        name = key.replace("-", "_")
        line = _line_of(text, key, source)
        if name not in known:
            where = f"{line[2:-1]}; " if line else ""
            raise KbError(f"{source}: unknown setting '{key}' ({where}known: {', '.join(sorted(known))})")
        try:
            values[name] = _coerce(name, value, source)
        except KbError as exc:
            raise KbError(f"{exc}{line}") from None
    return Settings(root=root, **values)


def _read_table(root: Path) -> tuple[dict[str, Any], str, str]:
    """The settings table, the name of the file it came from, and that file's text."""
    for name, path in (("pyproject.toml", ("tool", "kb")), ("kb.toml", ())):
        file = root / name
        if not file.is_file():
            continue
        try:
            text = file.read_text(encoding="utf-8")
            data = tomllib.loads(text)
        except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
            raise KbError(f"{name}: cannot read settings: {exc}") from exc
        for key in path:
            data = data.get(key, {}) if isinstance(data, dict) else {}
        if data or name == "kb.toml":
            if not isinstance(data, dict):
                raise KbError(f"{name}: [tool.kb] must be a table")
            return data, name, text
    return {}, "defaults", ""


def _line_of(text: str, key: str, source: str) -> str:
    """' (line N)' of the line that sets `key` in kb's table (after `[tool.kb]` in
    pyproject.toml, or its `[tool.kb.KEY]` sub-table), else ''. tomllib gives no positions,
    and a message that points at the line is the one a user can act on."""
    lines = text.split("\n")
    start = 0
    if source == "pyproject.toml":
        headers = [i for i, line in enumerate(lines) if re.match(r"\s*\[\s*tool\s*\.\s*kb\s*[\].]", line)]
        if not headers:
            return ""
        start = headers[0]
    setter = re.compile(rf"""\s*(?:\[\s*(?:tool\s*\.\s*kb\s*\.\s*)?)?["']?{re.escape(key)}["']?\s*[=\]]""")
    for i in range(start, len(lines)):
        if setter.match(lines[i]):
            return f" (line {i + 1})"
    return ""


_INTS = {"max_file_bytes", "max_yaml_depth", "max_yaml_nodes", "stale_days", "coverage_window_days"}
_STRS = {"content_dir", "output_dir", "cache_dir", "site_url"}
_FOLDERS = {"content_dir"}
_BOOLS = {"require_non_goals", "allow_embeds"}


def _folder(name: str, value: str, source: str) -> str:
    """A folder inside the root, written one way: `./docs/` → `docs`, `.` stays `.`."""
    folder = posixpath.normpath(value.replace("\\", "/"))
    if (
        folder.startswith("/")
        or folder == ".."
        or folder.startswith("../")
        or (len(folder) > 1 and folder[1] == ":")
    ):
        raise KbError(f"{source}: setting '{name}' must be a folder inside the repository ('{value}')")
    return folder


def _coerce(name: str, value: Any, source: str) -> Any:
    if name in _INTS:
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise KbError(f"{source}: setting '{name}' must be a non-negative integer")
        return value
    if name in _STRS:
        if not isinstance(value, str) or not value:
            raise KbError(f"{source}: setting '{name}' must be a non-empty string")
        return _folder(name, value, source) if name in _FOLDERS else value
    if name in _BOOLS:
        if not isinstance(value, bool):
            raise KbError(f"{source}: setting '{name}' must be true or false")
        return value
    if name == "exclude":
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise KbError(f"{source}: setting 'exclude' must be a list of glob strings")
        return tuple(value)
    return _severities(value, source)


def _severities(value: Any, source: str) -> dict[str, Severity]:
    if not isinstance(value, dict):
        raise KbError(f"{source}: setting 'severity' must be a table of CODE = level")
    out = {}
    for code, level in value.items():
        if code not in RULES:
            raise KbError(f"{source}: unknown rule '{code}' in severity")
        try:
            out[code] = Severity(level)
        except ValueError:
            raise KbError(f"{source}: severity of {code} must be error, warning or off") from None
    return out
