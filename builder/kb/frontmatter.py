"""Parse a frontmatter block's YAML into `Frontmatter`, or say why it cannot be read.

The work is in four modules, one idea each: `kb.block` cuts the `---` block off a file,
`kb.nesting` bounds its nesting before the parser sees it, `kb.convert` turns the parser's
nodes into data with positions (two converters that must agree), and `kb.values` reads
dates and quotes values in messages. Here: the order they run in, and the hints for YAML
syntax errors (KB103), which name the likely mistake (a colon in a plain value, an
unclosed quote or bracket, a mis-indented line).
"""

from __future__ import annotations

import re

import yaml

from kb.convert import Converter, Lines, Loader, convert
from kb.findings import Finding, finding
from kb.model import EMPTY_FRONTMATTER, Frontmatter
from kb.nesting import depth_precheck

__all__ = ["parse"]


def parse(
    path: str, yaml_text: str, max_depth: int, max_nodes: int
) -> tuple[Frontmatter | None, list[Finding]]:
    """Parse frontmatter YAML into data and positions; None when it cannot be read."""
    if not yaml_text.strip():
        return EMPTY_FRONTMATTER, []
    too_deep = depth_precheck(path, yaml_text, max_depth)
    if too_deep:
        return None, [too_deep]
    try:
        node = yaml.compose(yaml_text, Loader=Loader)
    except yaml.MarkedYAMLError as exc:
        return None, [_syntax(path, yaml_text, exc)]
    except yaml.reader.ReaderError as exc:
        return None, [_unacceptable(path, yaml_text, exc)]
    except (yaml.YAMLError, RecursionError, ValueError) as exc:
        return None, [finding(path, 2, 1, "KB103", f"YAML cannot be read: {_one_line(exc)}")]
    if node is None:
        return EMPTY_FRONTMATTER, []
    if (
        type(node) is yaml.MappingNode
        and "&" not in yaml_text
        and max_depth > 0
        and max_nodes > 0
        and "\x85" not in yaml_text
        and "\u2028" not in yaml_text
        and "\u2029" not in yaml_text
    ):
        front = convert(node, max_depth, max_nodes)
        if front is not None:
            return front, []
    return Converter(path, max_depth, max_nodes, Lines(yaml_text)).document(node)


def _syntax(path: str, text: str, exc: yaml.MarkedYAMLError) -> Finding:
    mark = exc.problem_mark or exc.context_mark
    if exc.context_mark and mark and mark.index >= len(text.rstrip()):
        mark = exc.context_mark  # the text ended inside something: point at where it opened
    line, col = Lines(text).pos(mark) if mark else (2, 1)
    problem = exc.problem or "syntax error"
    if exc.context:
        problem = f"{problem} ({exc.context})"
    hint = ""
    if "\t" in problem or "tab" in problem or (mark and _char_at(text, mark) == "\t"):
        hint = "indent with spaces, not tabs"
    elif "\n...\n" in f"\n{text}":
        hint = "'...' does not close frontmatter; close it with '---'"
    else:
        hint = _syntax_hint(text, exc, line)
    return finding(path, line, col, "KB103", f"YAML syntax error: {problem}", hint)


#: `key: value` on one line, after optional indentation and list dashes.
_KEY_VALUE = re.compile(
    r"^(?P<lead>[ ]*(?:-[ ]+)*)(?P<key>[^\s:#'\"\[\]{},&*!|>%@`-][^:#]*?):[ \t]+(?P<value>\S.*?)[ \t]*$"
)
_CLOSERS = {"[": "]", "{": "}"}


def _syntax_hint(text: str, exc: yaml.MarkedYAMLError, line: int) -> str:
    """A hint for the common mistakes: a colon in a plain value, a mis-indented list item or
    key, an unclosed quote or bracket. Empty when the parser's words are all there is."""
    problem, context = exc.problem or "", exc.context or ""
    lines = text.split("\n")
    here = lines[line - 2] if 0 <= line - 2 < len(lines) else ""
    if "quoted scalar" in context and "end of stream" in problem and exc.context_mark:
        quote = _char_at(text, exc.context_mark) or '"'
        where = exc.context_mark.line + 2
        return f"the quote {quote} opened on line {where} is never closed: end the value with {quote}"
    if "quoted scalar" in context and "escape" in problem:
        return (
            "inside double quotes a backslash starts an escape: write \\\\ for a backslash, "
            "or use single quotes"
        )
    if "flow sequence" in context or "flow mapping" in context:
        opener = "[" if "sequence" in context else "{"
        mark = exc.context_mark
        opened = lines[mark.line] if mark and mark.line < len(lines) else here
        what = "'- item'" if opener == "[" else "'key: value'"
        if mark and _CLOSERS[opener] not in opened[mark.column :]:
            return (
                f"the '{opener}' opened on line {mark.line + 2} is never closed: end it with "
                f"'{_CLOSERS[opener]}' on the same line, or write one {what} per line"
            )
        return (
            f"inside '{opener} {_CLOSERS[opener]}' separate entries with ', ' and quote any that "
            f"contain ': ', '#', brackets or commas"
        )
    if problem.startswith("mapping values are not allowed"):
        match = _KEY_VALUE.match(here)
        if match and ": " in match["value"] + " ":
            return f"quote the value: {match['lead']}{match['key']}: {_quoted(match['value'])}"
        return (
            "a key is indented under the line above it: start each key in the same column "
            "as the other keys, or quote the value above if it contains ': '"
        )
    if "expected key" in problem or "expected <block end>" in problem:
        stripped = here.lstrip(" ")
        if stripped.startswith(":"):
            return "a key is missing before ':': write 'name: value'"
        if stripped.startswith("- ") or stripped == "-":
            return (
                "this list item is indented differently from the items above it: indent every "
                "'- item' of a list by the same number of spaces"
            )
        match = _KEY_VALUE.match(here)
        if match and match["value"][:1] in "\"'":
            return f"text follows the closing quote: quote the whole value: {match['key']}: {_quoted(match['value'])}"
        if match and match["value"][:1] in "[{":
            return (
                f"text follows the closing '{_CLOSERS[match['value'][0]]}': put every entry inside "
                "the brackets, or quote the whole value"
            )
        return (
            "this line's indentation matches no key above: keys of one mapping start in the same "
            "column, and list items under a key are indented the same"
        )
    return ""


def _quoted(value: str, limit: int = 60) -> str:
    """`value` as a quoted YAML scalar, shortened for a hint."""
    if len(value) > limit:
        value = value[: limit - 1].rstrip() + "…"
    if '"' in value and "'" not in value:
        return f"'{value}'"
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _unacceptable(path: str, text: str, exc: yaml.reader.ReaderError) -> Finding:
    """A character YAML refuses (a control character): at its place in the file."""
    at = min(max(exc.position, 0), len(text))
    line = text.count("\n", 0, at) + 2
    col = at - (text.rfind("\n", 0, at) + 1) + 1
    code = exc.character if isinstance(exc.character, int) else ord(str(exc.character)[:1] or "?")
    return finding(
        path,
        line,
        col,
        "KB103",
        f"YAML syntax error: character U+{code:04X} is not allowed",
        "remove the control character, or write it as an escape in a double-quoted string",
    )


def _char_at(text: str, mark: yaml.Mark) -> str:
    """The character a parser mark points at (libyaml's messages do not name it)."""
    lines = text.split("\n")
    if mark.line >= len(lines):
        return ""
    return lines[mark.line][mark.column : mark.column + 1]


def _one_line(exc: BaseException) -> str:
    return " ".join(str(exc).split())[:200]
