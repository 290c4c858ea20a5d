"""`kb lint`: the pure stages, then the report a user asked for (paths, changed files, baseline).

`--changed` reports the files a branch changed, plus the findings its changes cause in files
it did not touch (a principle deleted while loops still reference it): those are found by
linting the merge base too and keeping the findings in unchanged files that are new.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from kb.errors import KbError
from kb.findings import Finding, Severity
from kb.pipeline import Linted, lint_check, only_paths
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
    linted = lint_check(settings)
    found, files = linted.findings, linted.files
    notes: list[str] = []
    if options.changed:
        found, files, notes = _changed(settings, linted, options.base)
    if options.paths:
        found = only_paths(found, options.paths)
    if options.write_baseline:
        write_baseline(options.write_baseline, found)
        notes.append(f"kb: wrote {len(found)} findings to {options.write_baseline}")
        return LintReport(found, files, 0, notes)
    if options.baseline:
        found, dropped = apply_baseline(read_baseline(options.baseline), found)
        if dropped:
            notes.append(f"kb: {dropped} known findings hidden by the baseline {options.baseline}")
    return LintReport(found, files, exit_code(found, options.strict), notes)


def exit_code(found: list[Finding], strict: bool) -> int:
    if any(f.severity is Severity.ERROR for f in found):
        return 1
    if strict and any(f.severity is Severity.WARNING for f in found):
        return 1
    return 0


# -- --changed -----------------------------------------------------------------------------
def _changed(settings: Settings, linted: Linted, base: str | None) -> tuple[list[Finding], int, list[str]]:
    from kb import git

    found = linted.findings
    repo = git.find_repo(settings.root)
    if repo is None:
        raise KbError("--changed needs a git repository (and git on PATH)")
    if base:
        ref, base_sha = base, git.merge_base(repo, base)
    else:
        ref, base_sha = git.picked_base(repo, "kb lint --changed")
    changes = git.changed_paths(repo, ref, base_sha)
    prefix = git.root_prefix(settings.root, repo)
    changed = {p[len(prefix) :] for p in changes.changed if p.startswith(prefix)}
    touched = changed & _markdown(settings)
    own = [f for f in found if f.path in changed]
    caused = _caused(settings, base_sha, linted, changed) if (changes.changed or changes.deleted) else []
    notes = [f"kb: {len(touched)} changed file{'' if len(touched) == 1 else 's'} since {ref}"]
    return sorted(own + caused, key=Finding.sort_key), len(touched), notes


def _markdown(settings: Settings) -> set[str]:
    """Root-relative paths of the markdown files lint reads (hidden and excluded ones are not)."""
    from kb.load import walk

    return {settings.repo_path(entry.rel) for entry in walk(settings)[0]}


def _caused(settings: Settings, base_sha: str, linted: Linted, changed: set[str]) -> list[Finding]:
    """Findings in unchanged files that the merge base did not have (checked on the same day)."""
    before = lint_check(settings, linted.today, rev=base_sha).findings
    known = Counter(_key(f) for f in before if f.path not in changed)
    out = []
    for f in linted.findings:
        if f.path in changed:
            continue
        if known[_key(f)] > 0:
            known[_key(f)] -= 1
        else:
            out.append(f)
    return out


def _key(f: Finding) -> tuple[str, str, str]:
    return (f.path, f.code, f.message)


# -- baseline ------------------------------------------------------------------------------
def write_baseline(path: Path, found: list[Finding]) -> None:
    """Record findings without line numbers, so edits that move lines keep them matched."""
    counts = Counter(_key(f) for f in found)
    entries = [{"path": p, "code": c, "message": m, "count": n} for (p, c, m), n in sorted(counts.items())]
    try:
        path.write_text(
            json.dumps({"kb_baseline": 1, "findings": entries}, indent=1) + "\n", encoding="utf-8"
        )
    except OSError as exc:
        raise KbError(f"cannot write the baseline {path}: {exc.strerror or exc}") from exc


def read_baseline(path: Path) -> Counter[tuple[str, str, str]]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        entries = data["findings"]
        return Counter({(e["path"], e["code"], e["message"]): int(e.get("count", 1)) for e in entries})
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise KbError(f"cannot read the baseline {path}: write it with --write-baseline ({exc})") from exc


def apply_baseline(known: Counter[tuple[str, str, str]], found: list[Finding]) -> tuple[list[Finding], int]:
    """Hide as many findings of each (path, code, message) as the baseline recorded."""
    left = Counter(known)
    out, dropped = [], 0
    for f in found:
        if left[_key(f)] > 0:
            left[_key(f)] -= 1
            dropped += 1
        else:
            out.append(f)
    return out, dropped
