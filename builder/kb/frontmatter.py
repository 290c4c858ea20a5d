"""Split the `---` block off a file and parse its YAML, keeping every position.

We split ourselves (python-frontmatter accepts delimiters and leading blank lines that
DESIGN.md forbids) and convert PyYAML's composed node tree ourselves, because nodes keep
their marks: every key and value gets its file line and column. Converting by hand is also
where the resource bounds live: aliases are counted as they expand (KB107), tags that are
not plain data are refused (KB108), and duplicate keys are found (KB105).
"""

from __future__ import annotations

import datetime as dt
import re
from bisect import bisect_right
from dataclasses import dataclass
from typing import Any

import yaml

from kb.findings import Finding, finding
from kb.model import EMPTY_FRONTMATTER, Frontmatter, Pos, Scalar, fast_init

try:  # the C loader is ~10x faster; PyYAML built without libyaml falls back
    _BaseLoader: type = yaml.CSafeLoader
except AttributeError:  # pragma: no cover - depends on the PyYAML build
    _BaseLoader = yaml.SafeLoader

#: Implicit tags of plain scalars already resolved, by value. Even the C loader resolves them
#: in Python, trying the resolver's regular expressions one by one, and frontmatter repeats
#: the same few values (stages, ids, tags, dates) in every file. Bounded, so odd input cannot
#: grow it without limit; it only memoizes a pure function of the value.
_RESOLVED: dict[str, str] = {}
_RESOLVED_MAX = 65536


_ScalarNode, _SequenceNode, _MappingNode = yaml.ScalarNode, yaml.SequenceNode, yaml.MappingNode


class _Loader(_BaseLoader):  # type: ignore[misc, valid-type]
    """The safe loader, with the tag of plain scalars cached by value (compose ~10% faster).

    Quoted scalars, sequences and mappings take the default tags at once, as the resolver
    does when no path resolver is registered (kb registers none). For the same reason the
    resolver's bookkeeping around every node does nothing, but the C parser calls it twice
    per node: as built-in no-ops (`{}.get(parent, index)`, `tuple()`) rather than Python
    methods those calls cost a third.
    """

    if not _BaseLoader.yaml_path_resolvers:
        descend_resolver = staticmethod({}.get)
        ascend_resolver = staticmethod(tuple)

    def resolve(self, kind: type, value: Any, implicit: Any) -> str:
        if kind is _ScalarNode and implicit[0]:
            tag = _RESOLVED.get(value)
            if tag is None:
                tag = super().resolve(kind, value, implicit)
                if len(value) <= _SHARED_LEN and len(_RESOLVED) < _RESOLVED_MAX:  # titles are not reused
                    _RESOLVED[value] = tag
            return tag
        if not self.yaml_path_resolvers:
            if kind is _ScalarNode:
                return _STR_TAG
            if kind is _SequenceNode:
                return _SEQ_TAG
            if kind is _MappingNode:
                return _MAP_TAG
        return super().resolve(kind, value, implicit)


_TAG = "tag:yaml.org,2002:"
_PLAIN_SCALARS = {"str", "int", "float", "bool", "null", "timestamp"}
_STR_TAG, _SEQ_TAG, _MAP_TAG = _TAG + "str", _TAG + "seq", _TAG + "map"
_CONSTRUCT = yaml.SafeLoader("")  # its construct_yaml_* methods turn scalar nodes into values
_KEY_LINE = re.compile(r"[A-Za-z_][\w-]*:(?:[ \t]|$)")
_BLOCK_SCALAR = re.compile(r"(?:^|:[ \t]+|-[ \t]+)[|>][-+0-9]*[ \t]*(?:#.*)?$")  # `key: |`, `- >-`


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


def _near_opener(first: str, rest: str) -> bool:
    """`----` or `--- ` followed by a `key:` line: the author meant a frontmatter block."""
    dashes = first.strip()
    return len(dashes) >= 3 and not dashes.strip("-") and _KEY_LINE.match(rest) is not None


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


def parse(
    path: str, yaml_text: str, max_depth: int, max_nodes: int
) -> tuple[Frontmatter | None, list[Finding]]:
    """Parse frontmatter YAML into data and positions; None when it cannot be read."""
    if not yaml_text.strip():
        return EMPTY_FRONTMATTER, []
    too_deep = _depth_precheck(path, yaml_text, max_depth)
    if too_deep:
        return None, [too_deep]
    try:
        node = yaml.compose(yaml_text, Loader=_Loader)
    except yaml.MarkedYAMLError as exc:
        return None, [_syntax(path, yaml_text, exc)]
    except yaml.reader.ReaderError as exc:
        return None, [_unacceptable(path, yaml_text, exc)]
    except (yaml.YAMLError, RecursionError, ValueError) as exc:
        return None, [finding(path, 2, 1, "KB103", f"YAML cannot be read: {_one_line(exc)}")]
    if node is None:
        return EMPTY_FRONTMATTER, []
    if (
        type(node) is _MappingNode
        and "&" not in yaml_text
        and max_depth > 0
        and max_nodes > 0
        and "\x85" not in yaml_text
        and "\u2028" not in yaml_text
        and "\u2029" not in yaml_text
    ):
        front = _convert(node, max_depth, max_nodes)
        if front is not None:
            return front, []
    return _Converter(path, max_depth, max_nodes, _Lines(yaml_text)).document(node)


def _syntax(path: str, text: str, exc: yaml.MarkedYAMLError) -> Finding:
    mark = exc.problem_mark or exc.context_mark
    if exc.context_mark and mark and mark.index >= len(text.rstrip()):
        mark = exc.context_mark  # the text ended inside something: point at where it opened
    line, col = _Lines(text).pos(mark) if mark else (2, 1)
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


def _depth_precheck(path: str, text: str, max_depth: int) -> Finding | None:
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
    return _depth_walk(path, text, max_depth)


def _few_indents(text: str, max_depth: int) -> bool:
    """Whether the lines have at most `max_depth` distinct indentation widths."""
    deep = " " * max_depth
    if not text.startswith(deep) and "\n" + deep not in text:
        return True  # every width is below max_depth
    return len(set(_INDENTS.findall(text))) <= max_depth


def _depth_walk(path: str, text: str, max_depth: int) -> Finding | None:
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


_QUOTED = frozenset(("'", '"', "|", ">"))  # node styles of quoted and block scalars
_SCALAR_TAGS = {_TAG + short: short for short in _PLAIN_SCALARS}
#: Values of non-string scalars already constructed, by short tag and text: they depend on
#: the text alone and are immutable (numbers, booleans, None, dates), and frontmatter
#: repeats the same few (dates, orders). Bounded like `_RESOLVED`.
_CONSTRUCTED: dict[str, dict[str, Any]] = {short: {} for short in _PLAIN_SCALARS}


class _Unusual(Exception):
    """Raised by `_convert` for anything it leaves to `_Converter`."""


def _convert(root: yaml.MappingNode, max_depth: int, max_nodes: int) -> Frontmatter | None:
    """The common case of `_Converter`, about twice as fast: plain tags, string keys, each
    key once, within the bounds, no alias (the caller saw no `&`), and file lines that are
    the parser's lines (no U+0085, U+2028, U+2029). None for anything else, which
    `_Converter` then reads, reporting what it finds.

    Same data and positions, recorded in the same order: one function per kind of
    collection, scalars converted inline, `type(node) is` dispatch, positions made from the
    marks directly. Without aliases every value has its own path, so the number of values
    is the size of `values`.
    """
    keys: dict[tuple, Pos] = {}
    values: dict[tuple, Pos] = {}
    scalars: dict[tuple, Scalar] = {}
    mark = root.start_mark
    values[()] = (mark.line + 2, mark.column + 1)
    try:
        data = _convert_mapping(root, (), 0, max_depth, keys, values, scalars)
    except (_Unusual, RecursionError):
        return None
    if len(values) > max_nodes:
        return None
    return Frontmatter(data, keys, values, scalars)


def _convert_mapping(
    node: yaml.MappingNode, path: tuple, depth: int, max_depth: int, keys: dict, values: dict, scalars: dict
) -> dict[str, Any]:
    if node.tag != _MAP_TAG:
        raise _Unusual
    out: dict[str, Any] = {}
    if not node.value:
        return out
    if depth >= max_depth:  # its values would be deeper than the limit
        raise _Unusual
    for key_node, value_node in node.value:
        if type(key_node) is not _ScalarNode or key_node.tag != _STR_TAG:
            raise _Unusual
        key = key_node.value
        if key in out:
            raise _Unusual
        at = (*path, key)
        mark = key_node.start_mark
        keys[at] = (mark.line + 2, mark.column + 1)
        mark = value_node.start_mark
        values[at] = (mark.line + 2, mark.column + 1)
        kind = type(value_node)
        if kind is _ScalarNode:
            if value_node.tag == _STR_TAG:
                out[key] = raw = value_node.value
                scalars[at] = _str_scalar(raw, value_node.style)
            else:
                out[key] = _convert_scalar(value_node, at, scalars)
        elif kind is _SequenceNode:
            out[key] = _convert_sequence(value_node, at, depth + 1, max_depth, keys, values, scalars)
        elif kind is _MappingNode:
            out[key] = _convert_mapping(value_node, at, depth + 1, max_depth, keys, values, scalars)
        else:
            raise _Unusual
    return out


def _convert_sequence(
    node: yaml.SequenceNode, path: tuple, depth: int, max_depth: int, keys: dict, values: dict, scalars: dict
) -> list[Any]:
    if node.tag != _SEQ_TAG:
        raise _Unusual
    out: list[Any] = []
    if not node.value:
        return out
    if depth >= max_depth:
        raise _Unusual
    for i, item in enumerate(node.value):
        at = (*path, i)
        mark = item.start_mark
        values[at] = (mark.line + 2, mark.column + 1)
        kind = type(item)
        if kind is _ScalarNode:
            if item.tag == _STR_TAG:
                out.append(item.value)
                scalars[at] = _str_scalar(item.value, item.style)
            else:
                out.append(_convert_scalar(item, at, scalars))
        elif kind is _SequenceNode:
            out.append(_convert_sequence(item, at, depth + 1, max_depth, keys, values, scalars))
        elif kind is _MappingNode:
            out.append(_convert_mapping(item, at, depth + 1, max_depth, keys, values, scalars))
        else:
            raise _Unusual
    return out


#: `Scalar` records of strings, shared by every document that writes the same text the same
#: way (ids, stages, tags, names: most of a handbook's scalars). A record is immutable, so
#: sharing is safe; it saves creating one (a frozen dataclass costs ~0.8 µs) and pickles
#: once per chunk. Short texts only, and bounded like `_RESOLVED`.
_STR_SCALARS: dict[tuple[str, bool], Scalar] = {}
_SHARED_LEN = 64


def _str_scalar(raw: str, style: str | None) -> Scalar:
    key = (raw, style in _QUOTED)
    found = _STR_SCALARS.get(key)
    if found is None:
        found = Scalar(raw, "str", key[1])
        if len(raw) <= _SHARED_LEN and len(_STR_SCALARS) < _RESOLVED_MAX:
            _STR_SCALARS[key] = found
    return found


def _convert_scalar(node: yaml.ScalarNode, at: tuple, scalars: dict) -> Any:
    """A scalar with a plain tag other than `str`: its value, built once per text."""
    short = _SCALAR_TAGS.get(node.tag)
    if short is None:
        raise _Unusual
    raw = node.value
    scalars[at] = Scalar(raw, short, node.style in _QUOTED)
    cache = _CONSTRUCTED[short]
    try:
        return cache[raw]
    except KeyError:
        pass
    if short == "timestamp":
        value = _timestamp(node)
    else:
        try:
            value = getattr(_CONSTRUCT, f"construct_yaml_{short}")(node)
        except (KeyError, IndexError, ValueError, TypeError, OverflowError):
            raise _Unusual from None
    if len(cache) < _RESOLVED_MAX:
        cache[raw] = value
    return value


class _Converter:
    """Walks composed nodes into plain Python data, recording positions and bounds.

    The general case, which reports what is wrong (tags, keys, bounds, aliases); `_convert`
    reads the rest.
    """

    def __init__(self, path: str, max_depth: int, max_nodes: int, lines: _Lines) -> None:
        self.path = path
        self.lines = lines
        self.max_depth = max_depth
        self.budget = self.max_nodes = max_nodes
        self.keys: dict[tuple, Pos] = {}
        self.values: dict[tuple, Pos] = {}
        self.scalars: dict[tuple, Scalar] = {}
        self.findings: list[Finding] = []
        self.seen: set[int] = set()  # nodes converted once: meeting one again is an alias
        self.key_at: Pos = (2, 1)  # the key whose value is being converted
        self.alias_at: Pos | None = None  # where the alias being expanded was written

    def document(self, node: yaml.Node) -> tuple[Frontmatter | None, list[Finding]]:
        if not isinstance(node, yaml.MappingNode):
            kind = "a list" if isinstance(node, yaml.SequenceNode) else "a single value"
            line, col = self.lines.pos(node.start_mark)
            return None, [
                finding(
                    self.path,
                    line,
                    col,
                    "KB104",
                    f"frontmatter is {kind}, not a mapping",
                    "write one 'key: value' per line",
                )
            ]
        try:
            data = self.value(node, (), 0)
        except _Abort as stop:
            return None, [stop.finding]
        except RecursionError:  # only with a max_yaml_depth far above the default
            return None, [self._bound(node, "is nested too deeply to read")]
        front = Frontmatter(data, self.keys, self.values, self.scalars)
        return front, self.findings

    def value(self, node: yaml.Node, path: tuple, depth: int) -> Any:
        if self.alias_at is None and id(node) in self.seen:
            # an alias: its node's marks are the anchor's, so report at the key using it
            self.alias_at = self.key_at
            try:
                return self._value(node, path, depth)
            finally:
                self.alias_at = None
        self.seen.add(id(node))
        return self._value(node, path, depth)

    def _value(self, node: yaml.Node, path: tuple, depth: int) -> Any:
        self.budget -= 1
        if self.budget < 0:
            if self.alias_at:
                raise _Abort(self._bound(node, "expands to too many values (alias bomb?)"))
            raise _Abort(
                self._bound(
                    node,
                    f"holds more than {self.max_nodes} values",
                    "frontmatter holds short fields; raise [tool.kb] max_yaml_nodes only if needed",
                )
            )
        if depth > self.max_depth:
            raise _Abort(
                self._bound(
                    node,
                    f"is nested deeper than {self.max_depth} levels",
                    "frontmatter holds flat fields; raise [tool.kb] max_yaml_depth only if needed",
                )
            )
        self.values.setdefault(path, self.lines.pos(node.start_mark))
        if isinstance(node, yaml.MappingNode):
            return self.mapping(node, path, depth)
        if isinstance(node, yaml.SequenceNode):
            self._check_tag(node, "seq")
            return [self.value(item, (*path, i), depth + 1) for i, item in enumerate(node.value)]
        return self.scalar(node, path)

    def mapping(self, node: yaml.MappingNode, path: tuple, depth: int) -> dict[str, Any]:
        self._check_tag(node, "map")
        out: dict[str, Any] = {}
        outer = self.key_at
        for key_node, value_node in node.value:
            key = self._key(key_node)
            if key is None:
                continue
            if key in out:
                line, col = self.lines.pos(key_node.start_mark)
                self.findings.append(
                    finding(
                        self.path,
                        line,
                        col,
                        "KB105",
                        f"duplicate key '{key}'",
                        "each key may appear once; the later value is ignored",
                    )
                )
                continue
            self.keys[(*path, key)] = self.key_at = self.lines.pos(key_node.start_mark)
            out[key] = self.value(value_node, (*path, key), depth + 1)
        self.key_at = outer
        return out

    def _key(self, node: yaml.Node) -> str | None:
        if isinstance(node, yaml.ScalarNode) and node.tag == _TAG + "str":
            return node.value
        line, col = self.lines.pos(node.start_mark)
        if node.tag == _TAG + "merge":
            self.findings.append(
                finding(
                    self.path,
                    line,
                    col,
                    "KB203",
                    "merge key '<<' is not supported",
                    "write the fields out in full",
                )
            )
            return None
        raw = node.value if isinstance(node, yaml.ScalarNode) else "a collection"
        self.findings.append(
            finding(
                self.path,
                line,
                col,
                "KB203",
                f"key {raw!r} is not a string",
                "field names are plain words; quote a key YAML would read as a number, date, boolean or null",
            )
        )
        return None

    def scalar(self, node: yaml.ScalarNode, path: tuple) -> Any:
        short = self._check_tag(node, "str")
        self.scalars[path] = Scalar(node.value, short, node.style in ("'", '"', "|", ">"))
        if short == "str":
            return node.value
        if short == "timestamp":
            return _timestamp(node)
        try:
            return getattr(_CONSTRUCT, f"construct_yaml_{short}")(node)
        except (KeyError, IndexError, ValueError, TypeError, OverflowError):  # `!!bool hello`, `!!int ""`
            line, col = self.lines.pos(node.start_mark)
            raise _Abort(
                finding(
                    self.path,
                    line,
                    col,
                    "KB103",
                    f"YAML syntax error: '{shown(node.value, 40)}' is not a valid !!{short}",
                    "remove the tag, or write a value of that type",
                )
            ) from None

    def _check_tag(self, node: yaml.Node, expected: str) -> str:
        tag = node.tag or ""
        short = tag[len(_TAG) :] if tag.startswith(_TAG) else ""
        allowed = _PLAIN_SCALARS if isinstance(node, yaml.ScalarNode) else {expected}
        if short in allowed:
            return short
        line, col = self.lines.pos(node.start_mark)
        shown = "!!" + tag[len(_TAG) :] if tag.startswith(_TAG) else tag
        raise _Abort(
            finding(
                self.path,
                line,
                col,
                "KB108",
                f"YAML tag '{shown}' is not plain data",
                "remove the tag; frontmatter holds strings, numbers, dates, lists and mappings",
            )
        )

    def _bound(self, node: yaml.Node, what: str, hint: str = "") -> Finding:
        line, col = self.alias_at or self.lines.pos(node.start_mark)
        if self.alias_at or not hint:
            hint = "avoid YAML anchors and aliases (&x / *x) in frontmatter"
        return finding(self.path, line, col, "KB107", f"frontmatter {what}", hint)


class _Abort(Exception):
    def __init__(self, found: Finding) -> None:
        super().__init__(found.message)
        self.finding = found


class InvalidDate(str):
    """A value written like a date that is no calendar date (2025-13-45); validate reports it."""


def _timestamp(node: yaml.ScalarNode) -> Any:
    try:
        return _CONSTRUCT.construct_yaml_timestamp(node)
    except (ValueError, OverflowError, AttributeError, TypeError):  # AttributeError: `!!timestamp x`
        return InvalidDate(node.value)


class _Lines:
    """Maps parser marks to file positions: the YAML starts on file line 2.

    PyYAML also breaks lines at U+0085, U+2028 and U+2029, which editors and kb do not; when
    the text holds one of them, positions come from the mark's character index instead.
    """

    def __init__(self, text: str) -> None:
        self.starts: list[int] | None = None
        if "\x85" in text or "\u2028" in text or "\u2029" in text:
            self.starts = [0] + [i + 1 for i, ch in enumerate(text) if ch == "\n"]

    def pos(self, mark: yaml.Mark) -> Pos:
        if self.starts is None:
            return (mark.line + 2, mark.column + 1)
        line = bisect_right(self.starts, mark.index)
        return (line + 1, mark.index - self.starts[line - 1] + 1)


def is_date(value: Any) -> bool:
    return isinstance(value, dt.date) and not isinstance(value, dt.datetime)


def as_date(value: Any) -> dt.date | None:
    """A date field's value as a date: bare (`2026-11-23`) or quoted (`"2026-11-23"`) alike."""
    if is_date(value):
        return value
    if isinstance(value, str) and not isinstance(value, InvalidDate) and len(value) == 10:
        try:
            return dt.date.fromisoformat(value)
        except ValueError:
            return None
    return None


_UNPRINTABLE = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")


def shown(value: Any, limit: int = 80) -> str:
    """A value from a file as a message quotes it: escapes for control characters (an ANSI
    escape must not reach the terminal or a CI log raw) and long text cut short."""
    text = str(value)
    if len(text) > limit:
        text = text[: limit - 1] + "…"
    return _UNPRINTABLE.sub(lambda m: repr(m.group())[1:-1], text)
