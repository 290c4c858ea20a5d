"""Stage 6 — render: MkDocs (Material) builds the emitted tree, through its Python API.

kb owns `docs_dir`, `site_dir` and `nav`; everything else is the site's, from the
repository's `mkdocs.yml` or, when there is none, the built-in configuration that ships
with kb (Material, search, tags, light/dark, mermaid, no third-party requests).
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from kb.emit import Emitted
from kb.errors import KbError
from kb.findings import Finding
from kb.mdconfig import BUILTIN, config_path
from kb.rendered import Rendered
from kb.templating import COMPILED, default_templates

__all__ = ["BUILTIN", "Rendered", "config_file", "load", "render", "render_zensical"]


def config_file(root: Path) -> Path:
    """The repository's mkdocs.yml, else the built-in one (a handbook's templates/ may override
    it): `kb.mdconfig.config_path`, which the lint stages read the markdown extensions from."""
    return config_path(root) or default_templates() / BUILTIN


def load(root: Path, emitted: Emitted, site_dir: Path, strict: bool) -> tuple[Any, list[Finding]]:
    """Load the MkDocs config with kb's own keys forced."""
    from mkdocs.config import load_config
    from mkdocs.exceptions import Abort, ConfigurationError

    path = config_file(root)
    found: list[Finding] = []  # a hand-written nav is KB703, reported by the lint stages
    overrides: dict[str, Any] = {
        "docs_dir": str(emitted.docs_dir),
        "site_dir": str(site_dir),
        "nav": emitted.nav,
        "use_directory_urls": True,
        "strict": strict,
    }
    if path.parent != root:  # built-in config: the handbook's own name
        overrides["site_name"] = emitted.site_name
    said: list[str] = []
    try:
        with _collect(said):
            config = load_config(config_file=str(path), **overrides)
    except (Abort, ConfigurationError, OSError) as exc:  # Abort is a SystemExit: never let it through
        raise KbError(f"{path.name}: {'; '.join(said) or exc}") from exc
    add_overrides(config, root)
    from kb import render_speed

    # the same pages for less work and fewer bytes; the theme's templates compiled once, kept
    # in kb's cache beside the emitted tree (kb.render_speed)
    render_speed.add(config, emitted.docs_dir.parent / COMPILED)
    if not config.get("not_in_nav"):
        from mkdocs.config.config_options import PathSpec

        config["not_in_nav"] = PathSpec().run_validation(emitted.not_in_nav)
    return config, found


def overrides_dirs(root: Path) -> list[Path]:
    """kb's theme overrides: the handbook's own `templates/overrides/`, then the built-in ones."""
    return [d for d in (root / "templates" / "overrides", default_templates() / "overrides") if d.is_dir()]


def add_overrides(config: Any, root: Path) -> None:
    """Put kb's theme overrides in the theme's template path, whatever mkdocs.yml says: after the
    site's own `custom_dir` (whose files win), before the theme's. `Theme.dirs` is the public list
    MkDocs builds its Jinja2 loader from (and watches in `mkdocs serve`)."""
    dirs: list[str] = config["theme"].dirs
    at = 1 if config["theme"].custom_dir else 0
    for folder in reversed(overrides_dirs(root)):
        if str(folder) not in dirs and os.path.realpath(folder) not in map(os.path.realpath, dirs):
            dirs.insert(at, str(folder))


def render(config: Any, dirty: bool = False, jobs: int = 1, quiet: bool = False) -> Rendered:
    """Build the site; MkDocs warnings are collected (with --strict they fail the build).

    With `jobs` > 1 (a full build whose plugins allow it) the pages are shared between that
    many processes forked inside the build (`kb.render_parallel`); if one of them fails, the
    site is rendered again in one process, so errors read as a one-process render gives them.
    A full render on a terminal shows its progress unless `quiet` (`kb.render_progress`).
    """
    from kb import render_parallel, render_progress

    progress = None
    if not dirty:
        progress = render_progress.Progress(0, enabled=render_progress.wanted(quiet=quiet))
    usable = render_parallel.usable(config)  # every plugin known to work page by page
    share = usable and not dirty
    material = config["theme"].name == "material"  # kb.render_nav swaps Material's nav entries
    plugin = render_parallel.add(config, jobs if share else 1, progress, nav=usable and material)
    try:
        try:
            # MkDocs' dirty build leaves unread the pages kb's plugin says it may
            result = _build(config, dirty or plugin.leaves_pages_unread(config))
        except render_parallel.ShareFailed:
            plugin.jobs = 1
            result = _build(config, dirty or plugin.leaves_pages_unread(config))
        result.processes = plugin.processes
        return result
    finally:
        plugin.close()


def _build(config: Any, dirty: bool) -> Rendered:
    from jinja2 import TemplateNotFound
    from mkdocs.commands.build import build
    from mkdocs.exceptions import Abort, BuildError, ConfigurationError

    result = Rendered()
    with _collect(result.warnings), _without_dirty_warning():
        try:
            build(config, dirty=dirty)
        except (Abort, BuildError, ConfigurationError) as exc:
            raise KbError(f"MkDocs failed: {exc}") from exc
        except TemplateNotFound as exc:  # a page's `template:` or the theme's `custom_dir`
            raise KbError(
                f"MkDocs failed: the theme has no template '{exc.name}' "
                "(check the pages' template: keys and mkdocs.yml)"
            ) from exc
    return result


def _drop_dirty_warning(record: logging.LogRecord) -> bool:
    from kb.render_parallel import DIRTY_WARNING

    return not record.getMessage().startswith(DIRTY_WARNING)


@contextmanager
def _without_dirty_warning() -> Iterator[None]:
    """Drop MkDocs' warning that a dirty build may miss changes: kb chooses the pages MkDocs
    leaves unread itself (`kb.render_parallel`). A filter on MkDocs' build logger, so neither
    kb's warnings nor MkDocs' strict-mode count see it."""
    logger = logging.getLogger("mkdocs.commands.build")
    logger.addFilter(_drop_dirty_warning)
    try:
        yield
    finally:
        logger.removeFilter(_drop_dirty_warning)


class _ListHandler(logging.Handler):
    def __init__(self, sink: list[str]) -> None:
        super().__init__(logging.WARNING)
        self.sink = sink

    def emit(self, record: logging.LogRecord) -> None:
        self.sink.append(record.getMessage())


@contextmanager
def _collect(sink: list[str]) -> Iterator[None]:
    log = logging.getLogger("mkdocs")
    handler = _ListHandler(sink)
    old_level, old_propagate = log.level, log.propagate
    log.addHandler(handler)
    log.setLevel(logging.WARNING)
    log.propagate = False
    try:
        yield
    finally:
        log.removeHandler(handler)
        log.setLevel(old_level)
        log.propagate = old_propagate


def render_zensical(root: Path, emitted: Emitted, site_dir: Path, strict: bool, cache: Path) -> Rendered:
    """Build the same emitted tree with Zensical, Material's successor, which reads mkdocs.yml.

    Zensical wants docs_dir and site_dir inside the folder of its config file, so kb writes a
    small config into its cache that INHERITs the site's own (or the built-in) configuration,
    renders there, and moves the result into the staging folder.
    """
    import json
    import os
    import shutil
    import subprocess
    import sys

    exe = shutil.which("zensical") or str(Path(sys.executable).with_name("zensical"))
    if not Path(exe).is_file():
        raise KbError("--renderer zensical: Zensical is not installed (pip install 'kb-handbook[zensical]')")
    base = config_file(root)
    out = cache / "zensical-site"
    shutil.rmtree(out, ignore_errors=True)
    lines = [
        f"INHERIT: {json.dumps(str(base))}",
        f"docs_dir: {json.dumps(os.path.relpath(emitted.docs_dir, cache))}",
        f"site_dir: {json.dumps(out.name)}",
        "use_directory_urls: true",
        f"nav: {json.dumps(emitted.nav, ensure_ascii=False)}",
    ]
    if base.parent != root:
        lines.append(f"site_name: {json.dumps(emitted.site_name, ensure_ascii=False)}")
    custom = _custom_dir(base) or next(iter(overrides_dirs(root)), None)
    if custom is not None:  # Zensical resolves it against the top config, not the inherited one
        lines.append(f"theme: {{custom_dir: {json.dumps(str(custom))}}}")
    config = cache / "zensical.yml"
    config.write_text("\n".join(lines) + "\n", encoding="utf-8")
    command = [exe, "build", "-f", str(config)] + (["--strict"] if strict else [])
    done = subprocess.run(command, capture_output=True, text=True, cwd=cache, check=False)
    if done.returncode != 0:
        tail = " ".join((done.stdout + done.stderr).split()[-60:])
        raise KbError(f"Zensical failed: {tail}")
    for item in out.iterdir():
        shutil.move(str(item), str(site_dir / item.name))
    shutil.rmtree(out, ignore_errors=True)
    result = Rendered()
    result.warnings = [line for line in done.stdout.splitlines() if "warning" in line.lower()]
    return result


def _custom_dir(config: Path) -> Path | None:
    """The absolute theme.custom_dir of a config file, if it sets one."""
    from mkdocs.utils.yaml import yaml_load

    try:
        with config.open(encoding="utf-8") as fh:
            data = yaml_load(fh)
    except Exception:  # noqa: BLE001 - MkDocs itself reports a broken config later
        return None
    theme = data.get("theme") if isinstance(data, dict) else None
    custom = theme.get("custom_dir") if isinstance(theme, dict) else None
    return (config.parent / custom).resolve() if isinstance(custom, str) else None
