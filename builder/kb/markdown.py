"""Markdown body scanner: headings, links, unsafe HTML and `kb: ignore` comments.

`kb lint` scans every body, so this is one pass over the lines (fences, comments, code spans,
headings) followed by a few whole-body regex searches on a copy with code and comments blanked
out (same length, so offsets stay valid). Stdlib only.

Where the brief leaves a rule open, we follow Python-Markdown (the site's renderer): a setext
heading's text must be the first line of a block, its underline starts in column 1, trailing
`#`s of an ATX heading are dropped even without a space before them, and heading ids come from
the same slugify and `unique()` as its toc extension.
"""

from __future__ import annotations

import html
import re
import unicodedata
from bisect import bisect_right
from dataclasses import dataclass
from enum import Enum
from functools import lru_cache


class LinkKind(str, Enum):
    """Which syntax a link was written in."""

    WIKI = "wiki"
    MARKDOWN = "markdown"
    IMAGE = "image"
    REFDEF = "refdef"
    HTML = "html"


@dataclass(frozen=True, slots=True)
class Heading:
    """A heading; `line`/`col` are body-relative and 1-based."""

    level: int
    text: str  # plain text, inline markup stripped
    anchor: str  # the id Python-Markdown's toc gives it (dedup suffixes, `{#custom}` ids)
    line: int
    col: int  # column of the first `#` or of the setext text
    has_content: bool  # its section holds text other than whitespace and HTML comments


@dataclass(frozen=True, slots=True)
class Link:
    """A link as written; `body[start:end]` is its whole syntax."""

    kind: LinkKind
    target: str  # wiki: the name before `#`/`|`; others: the URL minus its `#fragment`
    anchor: str | None  # the part after `#`
    label: str | None  # wiki: text after `|`; markdown/image: link text; refdef: its id
    line: int
    col: int
    start: int
    end: int


@dataclass(frozen=True, slots=True)
class Unsafe:
    """Unsafe HTML or URL in a body (KB409)."""

    line: int
    col: int
    what: str


@dataclass(frozen=True, slots=True)
class BodyScan:
    """Everything later stages need from a body."""

    headings: tuple[Heading, ...]
    links: tuple[Link, ...]
    unsafe: tuple[Unsafe, ...]
    title: str | None  # text of the first level-1 heading
    suppressions: dict[int, frozenset[str]]  # body line -> codes ({"*"} = all)


_TICKS = re.compile(r"`+")
_HR = re.compile(r"[ ]{0,3}(?:(?:-[ ]{0,2}){3,}|(?:_[ ]{0,2}){3,}|(?:\*[ ]{0,2}){3,})[ \t]*$")
_OL = re.compile(r"\d{1,9}[.)](?:[ \t]|$)")
_REFDEF = re.compile(r"\[([^\[\]\n]+)\]:[ \t]*(?:<([^<>\n]*)>|(\S+))")
_WIKI = re.compile(r"!?\[\[([^\[\]\n]+)\]\]")
_MDLINK = re.compile(
    r"""(!?)\[((?:[^\[\]\n\\]|\\.|\[[^\[\]\n]*\])*)\]\([ \t]*
    (?:<([^<>\n]*)>|((?:[^\s()\\]|\\.|\([^\s()]*\))*))
    (?:[ \t]+(?:"[^"\n]*"|'[^'\n]*'|\([^()\n]*\)))?[ \t]*\)""",
    re.X,
)
# `<scheme:...>` autolinks, or an opening tag; quoted values may not hold `<` so a stray quote
# cannot make one match run to the end of the body.
_ANGLE = re.compile(
    r"""<(?:([A-Za-z][A-Za-z0-9+.-]{1,31}:[^\s<>]*)>
    |([A-Za-z][A-Za-z0-9-]*)(?=[\s/>])((?:[^<>"']|"[^"<]*"|'[^'<]*')*)>)""",
    re.X,
)
_ATTR = re.compile(r"""([^\s"'<>/=]+)(?:\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s"'=<>`]+)))?""")
_UNSAFE_TAG = re.compile(r"<(script|iframe|object|embed|meta|base|form|style)(?=[\s/>]|$)", re.I)
_URL_ATTRS = frozenset({"href", "src", "xlink:href", "action", "formaction"})
_LINK_ATTRS = frozenset({"href", "src"})
_URL_JUNK = re.compile(r"[\x00-\x20\x7f]+")
_BAD_SCHEMES = ("javascript:", "data:", "vbscript:")
_IGNORE = re.compile(r"kb:\s*ignore\b(.*)", re.S)
_CODE = re.compile(r"\bKB\d{3}\b", re.I)

# Heading text (strip_inline).
_ATTR_LIST = re.compile(r"[ ]+\{:?[ ]*([^}\n ][^\n]*)\}[ ]*$")
_ATTR_TOKEN = re.compile(r"""[^ =}]+="[^"]*"|[^ =}]+='[^']*'|[^ =}]+=[^ =}]+|[^ =}]+""")
_MARKUP = re.compile(r"[*_`\[<&\\!]")
_ESCAPE = re.compile(r"\\([!-/:-@\[-`{-~])")
_LONE_STARS = re.compile(r"(?:(?<=\s)|^)(\*{1,3}|_{1,3})(?=\s|$)")  # Python-Markdown: not emphasis
_UNESCAPE = {0xE000 + c: chr(c) for c in range(33, 127)}
_INLINE_SUBS = (
    (re.compile(r"<!--.*?-->", re.S), ""),
    (re.compile(r"!\[(?:[^\[\]]|\[[^\[\]]*\])*\]\([^)]*\)"), ""),  # images render as <img>: no text
    (re.compile(r"\[\[([^\[\]|]*)\|([^\[\]]*)\]\]"), r"\2"),
    (re.compile(r"\[\[([^\[\]]*)\]\]"), r"\1"),
    (re.compile(r"\[((?:[^\[\]]|\[[^\[\]]*\])*)\](?:\([^)]*\)|\[[^\]]*\])"), r"\1"),
    (re.compile(r"</?[A-Za-z][^>]*>"), ""),
    (re.compile(r"\*\*\*(.+?)\*\*\*"), r"\1"),
    (re.compile(r"\*\*(.+?)\*\*"), r"\1"),
    (re.compile(r"\*([^*]+)\*"), r"\1"),
    (re.compile(r"(?<!\w)___(?!_)(.+?)(?<!_)___(?!\w)"), r"\1"),
    (re.compile(r"(?<!\w)__(?!_)(.+?)(?<!_)__(?!\w)"), r"\1"),
    (re.compile(r"(?<!\w)_(?!_)(.+?)(?<!_)_(?!\w)"), r"\1"),
)


@lru_cache(maxsize=8192)
def slugify(text: str) -> str:
    """Python-Markdown toc's default slugify (separator '-')."""
    value = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    value = re.sub(r"[^\w\s-]", "", value).strip().lower()
    return re.sub(r"[-\s]+", "-", value)


def strip_inline(text: str) -> str:
    """Plain text of an ATX heading's text: markup, attr lists and closing `#`s removed."""
    return _heading_text(text, atx=True)[0]


def _heading_text(raw: str, atx: bool) -> tuple[str, str | None]:
    """Plain text and custom `{#id}` (None if none) of a heading's raw text."""
    text = raw.strip()
    if atx and text.endswith("#"):
        text = _drop_closing_hashes(text)
    custom = None
    if "{" in text:
        m = _ATTR_LIST.search(text)
        if m:
            custom = _attr_id(m.group(1))
            text = text[: m.start()]
    if _MARKUP.search(text):
        text = _strip_markup(text)
    return " ".join(text.split()), custom


def _drop_closing_hashes(text: str) -> str:
    """Drop trailing `#`s as Python-Markdown does (no space needed; `\\#` is kept)."""
    end = len(text.rstrip("#"))
    if end and text[end - 1] == "\\":
        end += 1
    return text[:end].rstrip()


def _attr_id(attrs: str) -> str | None:
    """The last `#id` in an attr list, as Python-Markdown's attr_list reads it."""
    found = None
    for token in _ATTR_TOKEN.findall(attrs):
        if token.startswith("#"):
            found = token[1:]
    return found


def _strip_markup(text: str) -> str:
    """Remove inline markup outside code spans; code span content is kept as is."""
    out = []
    pos = 0
    for start, end, inner in _code_spans(text):
        out.append(_strip_plain(text[pos:start]))
        out.append(inner.strip())
        pos = end
    out.append(_strip_plain(text[pos:]))
    return "".join(out)


def _code_spans(text: str) -> list[tuple[int, int, str]]:
    """(start, end, content) of each code span in one line of text."""
    spans = []
    j = 0
    while (b := text.find("`", j)) >= 0:
        run = _TICKS.match(text, b).end() - b
        close = _close_ticks(text, b + run, run)
        if close < 0:
            j = b + run
            continue
        spans.append((b, close, text[b + run : close - run]))
        j = close
    return spans


def _close_ticks(text: str, start: int, run: int) -> int:
    """End of the next backtick run of exactly `run` ticks from `start`, or -1."""
    for m in _TICKS.finditer(text, start):
        if m.end() - m.start() == run:
            return m.end()
    return -1


def _strip_plain(text: str) -> str:
    """Markup-free text of a stretch without code spans."""
    if "\\" in text:
        text = _ESCAPE.sub(_placeholder, text)
    text = _LONE_STARS.sub(_placeholder, text)
    for pattern, repl in _INLINE_SUBS:
        text = pattern.sub(repl, text)
    if "&" in text:
        text = html.unescape(text)
    return text.translate(_UNESCAPE)


def _placeholder(m: re.Match) -> str:
    """Hide escaped or lone markup characters from the emphasis patterns."""
    return "".join(chr(0xE000 + ord(c)) for c in m.group(1))


def _unique(anchor: str, used: set[str]) -> str:
    """Python-Markdown toc's `unique()`: `x`, `x_1`, `x_2`; an empty id is never kept."""
    if anchor in used or not anchor:
        base, sep, num = anchor.rpartition("_")
        if sep and num.isdigit() and num.isascii():
            count = int(num)
        else:
            base, count = anchor, 0
        count += 1
        while f"{base}_{count}" in used:
            count += 1
        anchor = f"{base}_{count}"
    used.add(anchor)
    return anchor


def scan(body: str) -> BodyScan:
    """Scan a markdown body (frontmatter already removed, newlines normalized)."""
    lines = _Lines(body)
    lines.run()
    text = _blank(body, lines.mask)
    raw: list[tuple] = list(lines.refdefs)
    unsafe: list[tuple[int, str]] = []
    if "[[" in text:
        _wikilinks(body, text, raw)
    if "](" in text:
        _mdlinks(body, text, raw, unsafe)
    if "<" in text:
        _angles(body, text, raw, unsafe)
    if lines.soft_from < len(body):
        raw = [r for r in raw if r[0] < lines.soft_from]
    headings = _headings(lines.heads)
    title = next((h.text for h in headings if h.level == 1), None)
    return BodyScan(headings, _links(raw, lines.starts), _unsafe(unsafe, lines.starts), title,
                    lines.suppressions)


class _Lines:
    """The line pass: fences, comments, code spans, headings, refdefs and section content."""

    def __init__(self, body: str) -> None:
        self.body = body
        self.starts: list[int] = []  # offset of each line
        self.mask: list[tuple[int, int]] = []  # ranges blanked before link and HTML searches
        self.soft_from = len(body)  # an unclosed fence: no links from here, but HTML still checked
        self.heads: list[list] = []  # [level, raw, atx, line, col, content seen, ...]
        self.refdefs: list[tuple] = []
        self.suppressions: dict[int, frozenset[str]] = {}
        self.comment: tuple[int, int] | None = None  # (offset, line) of an open comment
        self.cand: tuple | None = None  # setext text candidate: (line, col, text, took content)

    def run(self) -> None:
        """Walk the lines once."""
        body = self.body
        starts = self.starts
        heads = self.heads
        fence: tuple[str, int, int] | None = None
        block_start = True
        pos = 0
        ln = 0
        for line in body.split("\n"):
            ln += 1
            base = pos
            pos += len(line) + 1
            starts.append(base)
            if fence is not None:
                if fence[0] in line and _closes(line, fence):
                    self.mask.append((fence[2], pos - 1))
                    fence = None
                    block_start = True
                continue
            if self.comment is not None:
                self._in_comment(line, base, ln)
                block_start = False
                self.cand = None
                continue
            if not line or line.isspace():
                block_start = True
                self.cand = None
                continue
            kind, fence = self._block(line, base, ln)
            if fence is not None:
                self.cand = None
                continue
            if "`" in line or "<!--" in line:
                content = self._inline(line, base, ln)
            else:
                content = True
            if kind == "text":
                took = content and bool(heads) and not heads[-1][5]
                if took:
                    heads[-1][5] = True
                self.cand = (ln, len(line) - len(line.lstrip(" ")) + 1, line, took) \
                    if block_start and content else None
                block_start = False
                continue
            self.cand = None
            if kind == "list":
                if heads:
                    heads[-1][5] = True
                block_start = False
            else:
                block_start = True
        if fence is not None:
            self.soft_from = fence[2]

    def _block(self, line: str, base: int, ln: int) -> tuple[str, tuple | None]:
        """Classify a non-blank line: heading, setext, hr, fence, list, refdef or text."""
        s = line.lstrip(" ")
        indent = len(line) - len(s)
        c0 = s[0] if indent < 4 else ""
        if c0 == "#":
            n = len(s) - len(s.lstrip("#"))
            if n <= 6 and (len(s) == n or s[n] in " \t"):
                self._heading(n, s[n:], True, ln, indent + 1)
                return "heading", None
        elif c0 == "`" or c0 == "~":
            n = len(s) - len(s.lstrip(c0))
            if n >= 3 and (c0 == "~" or "`" not in s[n:]):
                if self.heads:
                    self.heads[-1][5] = True
                return "fence", (c0, n, base)
        elif c0 == "=" or c0 == "-":
            r = s.rstrip()
            if self.cand and not indent and not r.strip(c0) and (c0 == "=" or len(r) >= 3):
                self._setext(1 if c0 == "=" else 2)
                return "heading", None
        elif c0 == "[" and "]:" in s:
            m = _REFDEF.match(s)
            if m:
                self._refdef(m, base + indent, ln)
                return "refdef", None
        if c0 in "-*_" and _HR.match(line):
            return "hr", None
        if (c0 in "-*+" and (len(s) == 1 or s[1] in " \t")) or (c0.isdigit() and _OL.match(s)):
            return "list", None
        return "text", None

    def _heading(self, level: int, raw: str, atx: bool, ln: int, col: int) -> None:
        self.heads.append([level, raw, atx, ln, col, False])
        self.cand = None

    def _setext(self, level: int) -> None:
        """Turn the candidate text line into a heading; its text was not content after all."""
        ln, col, text, took = self.cand
        if took:
            self.heads[-1][5] = False
        self._heading(level, text, False, ln, col)

    def _refdef(self, m: re.Match, start: int, ln: int) -> None:
        url = m.group(2) if m.group(2) is not None else m.group(3)
        at = start + (m.start(2) if m.group(2) is not None else m.start(3))
        self.refdefs.append((start, start + m.end(), LinkKind.REFDEF, url, m.group(1), at))
        self.mask.append((start, start + m.end()))
        if self.heads:
            self.heads[-1][5] = True

    def _inline(self, line: str, base: int, ln: int) -> bool:
        """Blank code spans and comments in a line; True if text remains outside comments."""
        content = False
        last = j = 0
        while True:
            b = line.find("`", j)
            c = line.find("<!--", j)
            if b < 0 and c < 0:
                break
            if b >= 0 and (c < 0 or b < c):
                run = _TICKS.match(line, b).end() - b
                close = _close_ticks(line, b + run, run)
                if close >= 0:
                    self.mask.append((base + b, base + close))
                j = close if close >= 0 else b + run
                continue
            content = content or bool(line[last:c].strip())
            k = line.find("-->", c + 4)
            if k < 0:
                self.comment = (base + c, ln)
                return content
            self._comment(base + c, base + k + 3, ln, ln)
            last = j = k + 3
        return content or bool(line[last:].strip())

    def _in_comment(self, line: str, base: int, ln: int) -> None:
        """A line that starts inside an open comment."""
        k = line.find("-->")
        if k < 0:
            return
        start, first = self.comment
        self.comment = None
        self._comment(start, base + k + 3, first, ln)
        rest = line[k + 3 :]
        if self._inline(rest, base + k + 3, ln) and self.heads:
            self.heads[-1][5] = True

    def _comment(self, start: int, end: int, first: int, last: int) -> None:
        """Blank a closed comment and record its `kb: ignore` codes."""
        self.mask.append((start, end))
        text = self.body[start:end]
        if "kb:" not in text:
            return
        m = _IGNORE.search(text)
        if not m:
            return
        codes = frozenset(c.upper() for c in _CODE.findall(m.group(1))) or frozenset({"*"})
        for ln in range(first, last + 2):
            self.suppressions[ln] = self.suppressions.get(ln, frozenset()) | codes


def _closes(line: str, fence: tuple[str, int, int]) -> bool:
    """Whether a line closes the open fence (same char, at least as long, ≤3 spaces indent)."""
    s = line.lstrip(" ")
    r = s.rstrip()
    return len(line) - len(s) <= 3 and len(r) >= fence[1] and not r.strip(fence[0])


def _blank(body: str, ranges: list[tuple[int, int]]) -> str:
    """The body with the given ranges replaced by spaces (offsets unchanged)."""
    if not ranges:
        return body
    parts = []
    last = 0
    for a, b in sorted(ranges):
        if b <= last:
            continue
        a = max(a, last)
        parts.append(body[last:a])
        parts.append(" " * (b - a))
        last = b
    parts.append(body[last:])
    return "".join(parts)


def _wikilinks(body: str, text: str, raw: list[tuple]) -> None:
    for m in _WIKI.finditer(text):
        raw.append((m.start(), m.end(), LinkKind.WIKI, body[m.start(1) : m.end(1)], None, -1))


def _mdlinks(body: str, text: str, raw: list[tuple], unsafe: list[tuple[int, str]]) -> None:
    for m in _MDLINK.finditer(text):
        g = 3 if m.group(3) is not None else 4
        url = body[m.start(g) : m.end(g)]
        kind = LinkKind.IMAGE if m.group(1) else LinkKind.MARKDOWN
        raw.append((m.start(), m.end(), kind, url, body[m.start(2) : m.end(2)], m.start(g)))
        _check_url(url, m.start(g), unsafe)


def _angles(body: str, text: str, raw: list[tuple], unsafe: list[tuple[int, str]]) -> None:
    for m in _UNSAFE_TAG.finditer(text):
        unsafe.append((m.start(), f"<{m.group(1).lower()}> element"))
    for m in _ANGLE.finditer(text):
        if m.group(1) is not None:
            url = body[m.start(1) : m.end(1)]
            raw.append((m.start(), m.end(), LinkKind.MARKDOWN, url, None, m.start(1)))
            _check_url(url, m.start(1), unsafe)
        elif m.group(3):
            _attributes(body, m, raw, unsafe)


def _attributes(body: str, tag: re.Match, raw: list[tuple], unsafe: list[tuple[int, str]]) -> None:
    """Event handlers and URL attributes of one opening tag."""
    offset = tag.start(3)
    for a in _ATTR.finditer(body, offset, tag.end(3)):
        name = a.group(1).lower()
        g = 2 if a.group(2) is not None else 3 if a.group(3) is not None else 4
        if a.group(g) is None:
            continue
        if name.startswith("on") and len(name) > 2:
            unsafe.append((a.start(), f"inline event handler {name}="))
        elif name in _URL_ATTRS:
            url = a.group(g)
            _check_url(url, a.start(g), unsafe)
            if name in _LINK_ATTRS:
                raw.append((tag.start(), tag.end(), LinkKind.HTML, url, None, a.start(g)))


def _check_url(url: str, at: int, unsafe: list[tuple[int, str]]) -> None:
    """Record a javascript:/data:/vbscript: URL, however it is disguised."""
    if ":" not in url and "&" not in url:
        return
    clean = _URL_JUNK.sub("", html.unescape(url) if "&" in url else url).lower()
    for scheme in _BAD_SCHEMES:
        if clean.startswith(scheme):
            unsafe.append((at, f"{scheme} URL"))
            return


def _links(raw: list[tuple], starts: list[int]) -> tuple[Link, ...]:
    """Link records, in body order, from (start, end, kind, text, label, url offset) tuples."""
    out = []
    for start, end, kind, text, label, _at in sorted(raw, key=lambda r: (r[0], r[5])):
        line = bisect_right(starts, start)
        col = start - starts[line - 1] + 1
        if kind is LinkKind.WIKI:
            left, bar, label = text.partition("|")
            target, hash_, anchor = left.partition("#")
            out.append(Link(kind, target.strip(), anchor.strip() if hash_ else None,
                            label.strip() if bar else None, line, col, start, end))
        else:
            target, hash_, anchor = text.partition("#")
            out.append(Link(kind, target, anchor if hash_ else None, label, line, col, start, end))
    return tuple(out)


def _unsafe(found: list[tuple[int, str]], starts: list[int]) -> tuple[Unsafe, ...]:
    out = []
    for at, what in sorted(set(found)):
        line = bisect_right(starts, at)
        out.append(Unsafe(line, at - starts[line - 1] + 1, what))
    return tuple(out)


def _headings(heads: list[list]) -> tuple[Heading, ...]:
    """Heading records with toc ids and section content."""
    texts = [_heading_text(h[1], h[2]) for h in heads]
    used = {custom for _, custom in texts if custom is not None}
    out = []
    for i, (level, _raw, _atx, line, col, content) in enumerate(heads):
        text, custom = texts[i]
        anchor = custom if custom is not None else _unique(slugify(text), used)
        sub = i + 1 < len(heads) and heads[i + 1][0] > level
        out.append(Heading(level, text, anchor, line, col, content or sub))
    return tuple(out)
