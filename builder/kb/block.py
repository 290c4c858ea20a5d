"""Split the `---` block off a file: the frontmatter text, the body, and where the body starts.

We split ourselves: python-frontmatter accepts delimiters and leading blank lines that
DESIGN.md forbids. What looks like a block meant as frontmatter but is not one (TOML,
JSON, a late or malformed opener, a block never closed) is KB102, with the likely fix.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from kb.findings import Finding, finding
from kb.model import fast_init

_KEY_LINE = re.compile(r"[A-Za-z_][\w-]*:(?:[ \t]|$)")


@fast_init
@dataclass(frozen=True, slots=True)
class Split:
    """A file cut into frontmatter text and body; `body_line` is the body's first file line."""

    yaml_text: str | None
    body: str
    body_line: int


def split(path: str, text: str, required: bool) -> tuple[Split, list[Finding]]:
    """Find the frontmatter block: `---` on line 1 exactly, closed by the next `---` line."""
    first, _, rest = text.partition("\n")
    if first == "---":
        return _closed_block(path, text, rest, required)
    no_block = Split(None, text, 1)
    stripped = first.strip()
    if stripped in ("+++", "{") or stripped.startswith("{"):
        kind = "TOML" if stripped == "+++" else "JSON"
        return no_block, [
            finding(
                path,
                1,
                1,
                "KB102",
                f"{kind} frontmatter is not supported",
                "write the block as YAML between two '---' lines",
            )
        ]
    if required or _late_block(text) or _near_opener(first, rest):
        return no_block, [_missing(path, text, first)]
    return no_block, []


def _closed_block(path: str, text: str, rest: str, required: bool) -> tuple[Split, list[Finding]]:
    if rest.startswith("---\n") or rest == "---":
        return Split("", rest[4:], 3), []
    end = rest.find("\n---\n")
    if end < 0 and rest.endswith("\n---"):
        end = len(rest) - 4
    if end < 0:
        return Split(None, text, 1), [
            finding(path, 1, 1, "KB102", "frontmatter block is never closed", _unclosed_hint(rest, required))
        ]
    yaml_text = rest[: end + 1]
    body_line = yaml_text.count("\n") + 3
    return Split(yaml_text, rest[end + 5 :], body_line), []


def _unclosed_hint(rest: str, required: bool) -> str:
    """Why a block is not closed: the line that was probably meant to close it, if any."""
    for number, line in enumerate(rest.split("\n"), start=2):
        if line == "...":
            return "'...' does not close frontmatter here; use '---'"
        if line.strip() == "---" or (len(line) > 3 and not line.strip("-")):
            return f"line {number} must be exactly '---' (no spaces, three dashes) to close the block"
    if not required:
        return "close it with a line holding exactly '---' (a page that starts with a rule: use '***')"
    return "close it with a line holding exactly '---'"


def _late_block(text: str) -> bool:
    """A `---` block after leading blank lines: the author meant frontmatter."""
    lines = text.split("\n")
    blank = next((i for i, line in enumerate(lines) if line.strip()), len(lines))
    return 0 < blank < len(lines) and lines[blank] == "---" and "---" in lines[blank + 1 :]


#: The longest run of dashes read as a mistyped `---` opener. A longer one is a drawn rule:
#: Elekto's candidate pages open with 50 dashes, `name:` and `ID:` lines and 50 more, which
#: GitHub and MkDocs render as a rule and a heading, and which is no frontmatter to fix.
_NEAR_DASHES = 5


def _near_opener(first: str, rest: str) -> bool:
    """`----` or `--- ` followed by a `key:` line: the author meant a frontmatter block."""
    dashes = first.strip()
    return 3 <= len(dashes) <= _NEAR_DASHES and not dashes.strip("-") and _KEY_LINE.match(rest) is not None


def _missing(path: str, text: str, first: str) -> Finding:
    if first.lstrip("\ufeff") == "---":
        hint = "remove the invisible character U+FEFF (a second byte-order mark) before '---'"
    elif first.startswith("---"):
        hint = "the first line must be exactly '---'"
    elif _late_block(text):
        hint = "frontmatter must start on the first line, without blank lines before it"
    else:
        hint = "start the file with a '---' line, the YAML fields, and a closing '---' line"
    return finding(path, 1, 1, "KB102", "no frontmatter block", hint)
