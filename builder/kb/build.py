"""`kb build`: every stage in order (`kb.pipeline`), then an atomic swap of the new site into place.

Without `--strict` the site is built even when the handbook has findings (a team adopting
kb gets its site on day one); only documents whose frontmatter cannot be read are left out,
and the findings say so. With `--strict`, any error stops the build before anything is written.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from kb import output
from kb.findings import Finding, Severity
from kb.pipeline import Checked, Options, Progress, Step, run
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


def build(
    settings: Settings,
    out: Path | None = None,
    strict: bool = False,
    progress: Progress = lambda _msg: None,
    history: bool = True,
    renderer: str = "mkdocs",
    quiet: bool = False,
    clean: bool = False,
) -> BuildResult:
    """Lint, then (unless --strict found errors) emit and render into `out`, swapped in atomically."""
    target = (out or settings.output).resolve()
    output.check_output(target, settings.root, settings.content, settings.cache)
    options = Options(
        until=Step.RENDER,
        history=history,
        strict=strict,
        out=target,
        renderer=renderer,
        quiet=quiet,
        clean=clean,
        progress=progress,
    )
    done = run(settings, options)
    result = BuildResult(
        done.findings, done.checked.corpus.files, done.written, target, done.timings, left_out(done.checked)
    )
    if done.emitted is not None:
        result.pages, result.changed = done.emitted.pages, len(done.emitted.changed)
    if done.rendered is not None:
        result.mkdocs_warnings = done.rendered.warnings
    result.redirects = done.redirects
    if done.written:
        progress(f"wrote {target}")
    return result


#: Findings that mean a markdown file was not read at all (no Document exists for it).
NOT_READ = ("KB101", "KB106")


def left_out(checked: Checked) -> list[str]:
    """Markdown files the site leaves out: unreadable frontmatter, or not read at all."""
    paths = {d.path for d in checked.corpus.documents if not d.readable}
    paths.update(f.path for f in checked.findings if f.code in NOT_READ and f.path.endswith(".md"))
    return sorted(paths)
