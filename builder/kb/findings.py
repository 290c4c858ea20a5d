"""Findings: what kb says about content, and how it prints them.

Content problems are never exceptions: every stage returns `Finding`s and keeps
going, so one run reports everything at once (as ruff and markdownlint do).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, replace
from enum import Enum

from kb.model import fast_init


class Severity(str, Enum):
    """How bad a finding is; `off` silences a rule through settings."""

    ERROR = "error"
    WARNING = "warning"
    OFF = "off"


#: Every rule kb knows: code -> (default severity, short title). Codes are never reused.
RULES: dict[str, tuple[Severity, str]] = {
    "KB101": (Severity.ERROR, "file is not valid UTF-8 or cannot be read"),
    "KB102": (Severity.ERROR, "no frontmatter block, or it is never closed"),
    "KB103": (Severity.ERROR, "YAML syntax error"),
    "KB104": (Severity.ERROR, "frontmatter is not a mapping"),
    "KB105": (Severity.ERROR, "duplicate key"),
    "KB106": (Severity.ERROR, "file larger than max_file_bytes"),
    "KB107": (Severity.ERROR, "YAML aliases or nesting beyond safe bounds"),
    "KB108": (Severity.ERROR, "YAML tag that is not plain data"),
    "KB201": (Severity.ERROR, "required field missing"),
    "KB202": (Severity.ERROR, "unknown field"),
    "KB203": (Severity.ERROR, "wrong type"),
    "KB204": (Severity.ERROR, "invalid value"),
    "KB301": (Severity.ERROR, "file name is not a valid id"),
    "KB302": (Severity.ERROR, "duplicate id in a collection, or a clashing alias"),
    "KB303": (Severity.ERROR, "file names differ only by case or Unicode normalization"),
    "KB304": (Severity.ERROR, "symlink that points outside the repository"),
    "KB305": (Severity.WARNING, "loop whose file name or year folder does not match its date"),
    "KB401": (Severity.ERROR, "unknown principle"),
    "KB402": (Severity.ERROR, "unknown product"),
    "KB403": (Severity.ERROR, "unknown loop"),
    "KB404": (Severity.ERROR, "wikilink target not found"),
    "KB405": (Severity.ERROR, "ambiguous wikilink"),
    "KB406": (Severity.ERROR, "relative link to a missing file"),
    "KB407": (Severity.ERROR, "link to a missing heading anchor"),
    "KB408": (Severity.ERROR, "link leaves content/"),
    "KB409": (Severity.ERROR, "unsafe HTML or URL"),
    "KB410": (Severity.WARNING, "markup in a frontmatter string"),
    "KB411": (Severity.ERROR, "reference cycle"),
    "KB412": (Severity.ERROR, "consumed interface that its provider does not declare"),
    "KB413": (Severity.WARNING, "alternatives that do not list each other"),
    "KB414": (Severity.WARNING, "product without non_goals (when require_non_goals is set)"),
    "KB415": (Severity.ERROR, "link into a hidden folder the site does not publish"),
    "KB416": (Severity.ERROR, "nesting deeper than the renderer can take"),
    "KB501": (Severity.ERROR, "loop is missing the section of a step it has reached"),
    "KB502": (Severity.ERROR, "a reached step's section is empty"),
    "KB601": (Severity.WARNING, "page nothing links to"),
    "KB602": (Severity.WARNING, "open loop older than stale_days"),
    "KB603": (Severity.WARNING, "principle that no loop practices"),
    "KB701": (Severity.WARNING, "git history unavailable"),
    "KB702": (Severity.WARNING, "shallow clone: history is incomplete"),
    "KB703": (Severity.WARNING, "hand-written nav in mkdocs.yml is ignored"),
    "KB704": (Severity.WARNING, "large nav printed into every page (mkdocs.yml lacks navigation.prune)"),
    "KB705": (Severity.ERROR, "page the renderer failed on (the site shows a notice instead)"),
}


@fast_init  # a migrated handbook brings tens of thousands
@dataclass(frozen=True, slots=True)
class Finding:
    """One problem at one place. `path` is relative to the repository root, POSIX style."""

    path: str
    line: int
    col: int
    code: str
    severity: Severity
    message: str
    hint: str = ""

    def text(self) -> str:
        """`path:line:col: CODE message (hint)` — the format editors and CI parse."""
        hint = f" ({self.hint})" if self.hint else ""
        return f"{self.path}:{self.line}:{self.col}: {self.code} {self.message}{hint}"

    def github(self) -> str:
        """A GitHub Actions workflow command that annotates the pull request's diff."""
        kind = "error" if self.severity is Severity.ERROR else "warning"
        text = self.message + (f" ({self.hint})" if self.hint else "")
        props = f"file={_gh_prop(self.path)},line={self.line},col={self.col},title={_gh_prop(self.code)}"
        return f"::{kind} {props}::{_gh_data(text)}"

    def as_dict(self) -> dict[str, object]:
        data = asdict(self)
        data["severity"] = self.severity.value
        return data

    def sort_key(self) -> tuple[str, int, int, str, str]:
        return (self.path, self.line, self.col, self.code, self.message)


def finding(path: str, line: int, col: int, code: str, message: str, hint: str = "") -> Finding:
    """Build a finding with the rule's default severity (settings may change it later).

    Control characters are shown escaped: a file name or value holding a newline or an ANSI
    escape must not forge output lines or repaint a CI log.
    """
    return Finding(
        _clean(path), max(line, 1), max(col, 1), code, RULES[code][0], _clean(message), _clean(hint)
    )


_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def _clean(text: str) -> str:
    if not _CONTROL.search(text):
        return text
    return _CONTROL.sub(lambda m: f"\\x{ord(m.group()):02x}", text)


def _gh_data(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _gh_prop(text: str) -> str:
    return _gh_data(text).replace(":", "%3A").replace(",", "%2C")


def apply_severities(findings: Iterable[Finding], overrides: Mapping[str, Severity]) -> list[Finding]:
    """Apply `[tool.kb] severity` overrides; rules set to `off` disappear."""
    out = []
    for f in findings:
        sev = overrides.get(f.code, f.severity)
        if sev is Severity.OFF:
            continue
        out.append(f if sev is f.severity else replace(f, severity=sev))
    return out


def summary(findings: Iterable[Finding], files: int) -> str:
    """`2 errors, 1 warning in 41 files` — always printed, even when clean."""
    errors = sum(1 for f in findings if f.severity is Severity.ERROR)
    warnings = sum(1 for f in findings if f.severity is Severity.WARNING)
    return (
        f"{errors} {_plural(errors, 'error')}, {warnings} {_plural(warnings, 'warning')}"
        f" in {files} {_plural(files, 'file')}"
    )


def _plural(n: int, word: str) -> str:
    return word if n == 1 else word + "s"


def render(findings: list[Finding], fmt: str) -> str:
    """Findings in one of the output formats: text, json or github."""
    if fmt == "json":
        return json.dumps([f.as_dict() for f in findings], indent=2, ensure_ascii=False)
    if fmt == "github":
        return "\n".join(f.github() for f in findings)
    return "\n".join(f.text() for f in findings)
