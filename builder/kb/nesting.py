"""The nesting pre-check: bound YAML nesting before the parser sees the text.

C parsers crash on deeply nested input, so frontmatter is measured first, from its text
alone: brackets outside quotes for flow nesting, indentation levels for block nesting. It
never over-counts, so the exact limit stays the converters' (`kb.convert`); what it finds
is KB107 at the first place deeper than the limit.
"""

from __future__ import annotations

import re

from kb.findings import Finding, finding

_BLOCK_SCALAR = re.compile(r"(?:^|:[ \t]+|-[ \t]+)[|>][-+0-9]*[ \t]*(?:#.*)?$")  # `key: |`, `- >-`


def depth_precheck(path: str, text: str, max_depth: int) -> Finding | None:
    """Bound nesting before the parser sees the text: deep input crashes C parsers.

    Flow nesting is counted from brackets outside quotes, block nesting from indentation
    levels (see `_block_depth`). Neither over-counts, so the exact limit is the converter's.

    Most frontmatter is far from the limit, and three cheap counts prove it: the brackets
    `[` and `{` (flow depth cannot exceed their number), the lines opening two levels with
    `- - ` or `? - ` (without them a line opens at most one level beyond its indentation),
    and the distinct indentation widths (each open block level has its own). When all are
    within `max_depth`, neither walk can find anything. Each count has a cheaper sufficient
    test first: `- -` anywhere but at a line's start is no nesting (the unanchored pattern
    scans fast), and with no line indented by `max_depth` spaces the widths are fewer.
    """
    if (
        text.count("[") + text.count("{") <= max_depth
        and (_NESTED_HINT.search(text) is None or _NESTED_ITEM.search(text) is None)
        and _few_indents(text, max_depth)
    ):
        return None
    return depth_walk(path, text, max_depth)


def _few_indents(text: str, max_depth: int) -> bool:
    """Whether the lines have at most `max_depth` distinct indentation widths."""
    deep = " " * max_depth
    if not text.startswith(deep) and "\n" + deep not in text:
        return True  # every width is below max_depth
    return len(set(_INDENTS.findall(text))) <= max_depth


def depth_walk(path: str, text: str, max_depth: int) -> Finding | None:
    """The nesting of flow brackets, then of blocks: the first place deeper than `max_depth`."""
    depth = worst = 0
    quote = ""
    for m in _STRUCTURE.finditer(text):  # only the characters that matter: a few per block
        ch = m.group()
        if ch == "\n":
            quote = ""  # flow scalars may span lines, but a bound only needs to be safe
        elif quote:
            if ch == quote:
                quote = ""
        elif ch in "\"'":
            quote = ch
        elif ch in "[{":
            depth += 1
            if depth > worst:
                worst = depth
                if worst > max_depth:
                    i = m.start()
                    return _too_deep(path, text.count("\n", 0, i) + 2, i - text.rfind("\n", 0, i), max_depth)
        else:
            depth = max(depth - 1, 0)
    if _block_bound(text) <= max_depth:
        return None  # cannot be deeper: skip the line-by-line walk
    return _block_depth(path, text, max_depth)


_STRUCTURE = re.compile(r"[\[\]{}\"'\n]")
_INDENTS = re.compile(r"^ *", re.M)
_INLINE_OPENERS = re.compile(r"^ *((?:[-?] +)+)", re.M)
_NESTED_ITEM = re.compile(r"^ *[-?] +[-?] ", re.M)
_NESTED_HINT = re.compile(r"[-?] +[-?] ")


def _block_bound(text: str) -> int:
    """An upper bound of block nesting: each level is indented at least one column deeper,
    and `- ` / `? ` open further levels inside a line."""
    indent = max((len(m) for m in _INDENTS.findall(text)), default=0)
    inline = max((m.count("-") + m.count("?") for m in _INLINE_OPENERS.findall(text)), default=0)
    return indent + 1 + inline


def _block_depth(path: str, text: str, max_depth: int) -> Finding | None:
    """Block nesting, never over-counted: the open indentation levels of a line (a stack, as
    Python's tokenizer keeps), plus the `- ` / `? ` indicators that open levels inside it.
    Lines of a block scalar (`|`, `>`) are text, not structure."""
    levels: list[int] = []
    scalar_at = -1  # indentation of the line that opened a block scalar, -1 outside one
    for number, raw in enumerate(text.split("\n"), start=2):
        body = raw.lstrip(" ")
        indent = len(raw) - len(body)
        if not body.strip() or body.startswith("#") or (scalar_at >= 0 and indent > scalar_at):
            continue
        scalar_at = -1
        while levels and levels[-1] >= indent:
            levels.pop()
        levels.append(indent)
        inline, at = 0, 0
        while body.startswith(("- ", "? "), at):
            inline += 1
            if len(levels) + inline - 1 > max_depth:
                return _too_deep(path, number, indent + at + 1, max_depth)
            at += 2
            while body.startswith(" ", at):
                at += 1
        if len(levels) > max_depth:
            return _too_deep(path, number, indent + 1, max_depth)
        if _BLOCK_SCALAR.search(body):
            scalar_at = indent
    return None


def _too_deep(path: str, line: int, col: int, max_depth: int) -> Finding:
    return finding(
        path,
        line,
        col,
        "KB107",
        f"YAML nested deeper than {max_depth} levels",
        "frontmatter holds flat fields; raise [tool.kb] max_yaml_depth only if needed",
    )
