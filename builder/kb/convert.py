"""YAML nodes to `Frontmatter`: two converters that must agree.

PyYAML's composed node tree keeps marks, so every key and value gets its file line and
column. `convert` reads the common case fast (plain tags, string keys, no alias, within the
bounds) and gives up on anything else; `Converter` reads everything and reports what is
wrong: aliases counted as they expand (KB107), tags that are not plain data (KB108),
duplicate keys (KB105), keys that are not strings. On the input `convert` accepts both give
the same data, positions and scalars (tests/test_properties.py holds them to it).
"""

from __future__ import annotations

from bisect import bisect_right
from typing import Any, cast

import yaml

from kb.findings import Finding, finding
from kb.model import Frontmatter, Pos, Scalar
from kb.values import InvalidDate, shown

#: The C loader is ~10x faster; PyYAML built without libyaml falls back.
_BaseLoader: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

#: Implicit tags of plain scalars already resolved, by value. Even the C loader resolves them
#: in Python, trying the resolver's regular expressions one by one, and frontmatter repeats
#: the same few values (stages, ids, tags, dates) in every file. Bounded, so odd input cannot
#: grow it without limit; it only memoizes a pure function of the value.
_RESOLVED: dict[str, str] = {}
_RESOLVED_MAX = 65536


_ScalarNode, _SequenceNode, _MappingNode = yaml.ScalarNode, yaml.SequenceNode, yaml.MappingNode


class Loader(_BaseLoader):
    """The safe loader, with the tag of plain scalars cached by value (compose ~10% faster).

    Quoted scalars, sequences and mappings take the default tags at once, as the resolver
    does when no path resolver is registered (kb registers none). For the same reason the
    resolver's bookkeeping around every node does nothing, but the C parser calls it twice
    per node: as built-in no-ops (`{}.get(parent, index)`, `tuple()`) rather than Python
    methods those calls cost a third.
    """

    if not _BaseLoader.yaml_path_resolvers:
        descend_resolver: Any = staticmethod({}.get)
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


_QUOTED = frozenset(("'", '"', "|", ">"))  # node styles of quoted and block scalars
_SCALAR_TAGS = {_TAG + short: short for short in _PLAIN_SCALARS}
#: Values of non-string scalars already constructed, by short tag and text: they depend on
#: the text alone and are immutable (numbers, booleans, None, dates), and frontmatter
#: repeats the same few (dates, orders). Bounded like `_RESOLVED`.
_CONSTRUCTED: dict[str, dict[str, Any]] = {short: {} for short in _PLAIN_SCALARS}


class _Unusual(Exception):
    """Raised by `convert` for anything it leaves to `Converter`."""


def convert(root: yaml.MappingNode, max_depth: int, max_nodes: int) -> Frontmatter | None:
    """The common case of `Converter`, about twice as fast: plain tags, string keys, each
    key once, within the bounds, no alias (the caller saw no `&`), and file lines that are
    the parser's lines (no U+0085, U+2028, U+2029). None for anything else, which
    `Converter` then reads, reporting what it finds.

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


class Converter:
    """Walks composed nodes into plain Python data, recording positions and bounds.

    The general case, which reports what is wrong (tags, keys, bounds, aliases); `convert`
    reads the rest.
    """

    def __init__(self, path: str, max_depth: int, max_nodes: int, lines: Lines) -> None:
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
        return self.scalar(cast(yaml.ScalarNode, node), path)

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


def _timestamp(node: yaml.ScalarNode) -> Any:
    try:
        return _CONSTRUCT.construct_yaml_timestamp(node)
    except (ValueError, OverflowError, AttributeError, TypeError):  # AttributeError: `!!timestamp x`
        return InvalidDate(node.value)


class Lines:
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
