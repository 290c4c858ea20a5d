"""`kb build`: every stage in order, then an atomic swap of the new site into place.

Without `--strict` the site is built even when the handbook has findings (a team adopting
kb gets its site on day one); only documents whose frontmatter cannot be read are left out,
and the findings say so. With `--strict`, any error stops the build before anything is written.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from kb import output
from kb.findings import Finding, Severity
from kb.pipeline import Checked, check
from kb.settings import Settings


@dataclass
class BuildResult:
    findings: list[Finding]
    files: int
    written: bool
    out: Path
    timings: dict[str, float] = field(default_factory=dict)
    left_out: list[str] = field(default_factory=list)
    pages: int = 0
    changed: int = 0
    mkdocs_warnings: list[str] = field(default_factory=list)
    redirects: list[str] = field(default_factory=list)

    @property
    def errors(self) -> int:
        return sum(1 for f in self.findings if f.severity is Severity.ERROR)


Progress = Callable[[str], None]


def build(
    settings: Settings,
    out: Path | None = None,
    strict: bool = False,
    progress: Progress = lambda _msg: None,
    history: bool = True,
    renderer: str = "mkdocs",
) -> BuildResult:
    """Lint, then (unless --strict found errors) emit and render into `out`, swapped in atomically."""
    target = (out or settings.output).resolve()
    output.check_output(target, settings.root, settings.content, settings.cache)
    timings: dict[str, float] = {}
    started = time.perf_counter()
    checked = check(settings)
    timings["load+validate+link"] = time.perf_counter() - started
    progress(f"checked {checked.corpus.files} files: {len(checked.errors)} errors")
    result = BuildResult(checked.findings, checked.corpus.files, False, target, timings, left_out(checked))
    if strict and checked.errors:
        return result
    with output.lock(settings.cache):
        _build_site(settings, checked, target, strict, progress, result, history, renderer)
    return result


def _build_site(
    settings: Settings,
    checked: Checked,
    target: Path,
    strict: bool,
    progress: Progress,
    result: BuildResult,
    with_history: bool,
    renderer: str,
) -> None:
    from kb import redirects, render
    from kb.emit import emit

    timings = result.timings
    hist = None
    if with_history:
        t = time.perf_counter()
        hist = _history(settings, checked)
        timings["history"] = time.perf_counter() - t
        result.findings = sorted(result.findings + list(hist.findings), key=Finding.sort_key)
        progress("read git history" if hist.available else "no git history")
    t = time.perf_counter()
    stages = _stages(settings) if hist is not None and hist.available and not hist.shallow else {}
    emitted = emit(checked, hist, settings, settings.cache / "docs", stages)
    timings["emit"] = time.perf_counter() - t
    result.pages, result.changed = emitted.pages, len(emitted.changed)
    progress(f"emitted {emitted.pages} pages ({len(emitted.changed)} changed)")
    t = time.perf_counter()
    tmp = output.staging(target)
    try:
        if renderer == "zensical":
            rendered = render.render_zensical(settings.root, emitted, tmp, strict, settings.cache)
        else:
            rendered = _render_guarded(settings, checked, emitted, tmp, strict, result)
            if rendered is None:  # --strict and a page the renderer failed on: nothing written
                output.discard(tmp)
                return
        result.mkdocs_warnings = rendered.warnings
        if rendered.processes > 1:
            progress(f"rendered in {rendered.processes} processes")
        moved = redirects.redirects(checked.corpus.documents, hist, settings.content_dir)
        result.redirects = redirects.write(tmp, moved)
    except BaseException:
        output.discard(tmp)  # a failed render leaves the previous site as it was
        raise
    timings["render"] = time.perf_counter() - t
    output.swap(tmp, target)
    result.written = True
    progress(f"wrote {target}")


def _render_guarded(
    settings: Settings,
    checked: Checked,
    emitted,
    tmp: Path,  # noqa: ANN001 - Emitted imports Jinja2
    strict: bool,
    result: BuildResult,
):  # noqa: ANN202 - Rendered imports MkDocs
    """Render with MkDocs; a page the renderer fails on (or one KB416 already found too deep
    for it) shows a notice instead, and each failure is a KB705 finding (`kb.render_guard`).
    None with --strict when a page failed: the site is not written."""
    from kb import render, render_guard, render_parallel

    def load():  # noqa: ANN202
        config, found = render.load(settings.root, emitted, tmp, strict)
        result.findings.extend(f for f in found if f not in result.findings)
        return config

    rendered, new = render_guard.guarded(
        settings,
        checked,
        load,
        lambda config: render.render(config, jobs=render_parallel.jobs(emitted.pages)),
    )
    result.findings = sorted(result.findings + new, key=Finding.sort_key)
    if strict and any(f.severity is Severity.ERROR for f in new):
        return None
    return rendered


#: Findings that mean a markdown file was not read at all (no Document exists for it).
NOT_READ = ("KB101", "KB106")


def left_out(checked: Checked) -> list[str]:
    """Markdown files the site leaves out: unreadable frontmatter, or not read at all."""
    paths = {d.path for d in checked.corpus.documents if not d.readable}
    paths.update(f.path for f in checked.findings if f.code in NOT_READ and f.path.endswith(".md"))
    return sorted(paths)


def _history(settings: Settings, checked: Checked):  # noqa: ANN202 - History imports git lazily
    from kb.history import read_history

    return read_history(settings.root, [d.path for d in checked.corpus.documents])


def _stages(settings: Settings) -> dict[str, list[tuple[int, str]]]:
    from kb.history import read_stage_history

    return read_stage_history(settings.root, settings.repo_path("loops"))
