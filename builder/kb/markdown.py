"""Markdown body scanner: headings, links, unsafe HTML and `kb: ignore` comments.

`kb lint` scans every body, so this is one pass over the lines (fences, comments, code spans,
headings) that gives a plain line a look at its first character and little more, followed by a
few whole-body searches on a copy with code and comments blanked out (same length, so offsets
stay valid). Stdlib only.

Block rules are CommonMark's for ATX headings (`#` then a space, up to 3 spaces indent) and
fences (an unclosed fence runs to the end). Elsewhere we follow Python-Markdown, the site's
renderer, so anchors match the built pages: a setext heading's text is the first line of a block
(not a list item) and its underline starts in column 1, an ATX heading loses trailing `#`s even
without a space before them, and ids come from toc's slugify and `unique()` and attr_list's
`{#id}`.

Not handled (rare in a handbook, and each would cost every line): headings inside blockquotes,
link text spanning lines, reference-style `[text][id]` links. Indented (4-space) code
blocks are hidden only outside lists (`_indented_code`), a second pass paid only by bodies
with an indented line after a blank line or a heading.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass
from enum import Enum
from itertools import accumulate
from operator import itemgetter

from kb.model import fast_init
from kb.slugs import heading_text, slugify, strip_inline, unique  # noqa: F401 - slugify, strip_inline re-exported


class LinkKind(str, Enum):
    """Which syntax a link was written in."""

    WIKI = "wiki"
    MARKDOWN = "markdown"
    IMAGE = "image"
    REFDEF = "refdef"
    HTML = "html"


#: Enum members read in hot loops, bound once: on Python 3.11 `Kind.X` costs ~0.1 µs a read
#: (the enum metaclass's attribute lookup), as much as the check it serves.
_WIKI_KIND, _IMAGE_KIND, _MARKDOWN_KIND = LinkKind.WIKI, LinkKind.IMAGE, LinkKind.MARKDOWN


@fast_init
@dataclass(frozen=True, slots=True)
class Heading:
    """A heading; `line`/`col` are body-relative and 1-based."""

    level: int
    text: str  # plain text, inline markup stripped
    anchor: str  # the id Python-Markdown's toc gives it (dedup suffixes, `{#custom}` ids)
    line: int
    col: int  # column of the first `#` or of the setext text
    has_content: bool  # its section holds a subheading or text (not whitespace, comments, rules)


@fast_init
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


@fast_init
@dataclass(frozen=True, slots=True)
class Unsafe:
    """Unsafe HTML or URL in a body (KB409)."""

    line: int
    col: int
    what: str


@fast_init
@dataclass(frozen=True, slots=True)
class BodyScan:
    """Everything later stages need from a body."""

    headings: tuple[Heading, ...]
    links: tuple[Link, ...]
    unsafe: tuple[Unsafe, ...]
    title: str | None  # text of the first level-1 heading
    suppressions: dict[int, frozenset[str]]  # body line -> codes ({"*"} = all)


_SPECIAL_FIRST = frozenset("#`~=-[ \t")  # other lines cannot open a heading, fence or refdef
_LIST = re.compile(r"[ ]{0,3}(?:[-*+]|\d{1,9}[.)])(?:[ \t]|$)")
# On one line, left to right: a code span (a backtick run closed by one of the same length),
# a closed comment, or a comment left open.
_SPANS = re.compile(r"(?<!`)(`++).*?(?<!`)\1(?!`)|(<!--.*?-->)|<!--")
_BLOCK_ENDS = frozenset({"heading", "hr", "fence"})
_COMMENT = re.compile(r"<!--.*?(?:-->|\Z)", re.S)
_RULE = r"[ ]{0,3}(?:(?:-[ ]{0,2}){3,}|(?:_[ ]{0,2}){3,}|(?:\*[ ]{0,2}){3,})[ \t]*$"
_HR = re.compile(_RULE)
_TEXT_LINE = re.compile(rf"^(?!{_RULE})[ \t]*\S", re.M)  # a line with text, not a thematic break
_REFDEF = re.compile(r"\[([^\[\]\n]+)\]:[ \t]*(?:<([^<>\n]*)>|(\S+))")
_WIKI = re.compile(r"\[\[([^\[\]\n]++)\]\]")
_MDLINK = re.compile(  # possessive quantifiers: fast, and no backtracking blow-up
    r"""\[((?:[^\[\]\n\\]++|\\.|\[[^\[\]\n]*+\])*+)\]\([ \t]*+
    (?:<([^<>\n]*+)>|((?:[^\s()\\]++|\\.|\([^\s()]*+\))*+))
    (?:[ \t]++(?:"[^"\n]*+"|'[^'\n]*+'|\([^()\n]*+\)))?[ \t]*+\)""",
    re.X,
)
# `<scheme:...>` autolinks, or an opening tag; quoted values may not hold `<` so a stray quote
# cannot make one match run to the end of the body.
_ANGLE = re.compile(
    r"""<(?:([A-Za-z][A-Za-z0-9+.-]{1,31}:[^\s<>]*)>
    |([A-Za-z][A-Za-z0-9-]*+)(?=[\s/>])((?:[^<>"']++|"[^"<]*+"|'[^'<]*+')*+)>)""",
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

def scan(body: str) -> BodyScan:
    """Scan a markdown body (frontmatter already removed, newlines normalized to LF).

    Never raises on any text. Code (fences, spans) and closed HTML comments hide links and
    HTML; an unclosed fence or comment hides links to the end but is still checked for unsafe
    HTML, since the renderer may not treat it as code.
    """
    lines = _Lines(body)
    lines.run()
    if lines.indented:
        _indented_code(lines)
    raw: list[tuple] = lines.refdefs
    unsafe: list[tuple[int, str]] = []
    for refdef in raw:
        _check_url(refdef[3], refdef[5], unsafe)
    if "[" in body or "<" in body:
        text = _blank(body, lines.mask)
        _brackets(body, text, raw, unsafe)
        _angles(body, text, raw, unsafe)
        if lines.soft_from < len(body):
            raw = [r for r in raw if r[0] < lines.soft_from]
    headings = _headings(body, lines.heads)
    title = next((h.text for h in headings if h.level == 1), None)
    return BodyScan(headings, _links(body, raw), _unsafe(body, unsafe), title, lines.suppressions)


class _Lines:
    """The line pass: fences, comments, code spans, headings and refdefs.

    Plain text lines cost a look at their first character; whether a line is a setext
    heading's text, or a section holds content, is worked out later only where it matters.
    """

    def __init__(self, body: str) -> None:
        self.body = body
        self.lines = body.split("\n")
        self.mask: list[tuple[int, int]] = []  # ranges blanked before link and HTML searches
        self.soft_from = len(body)  # an unclosed fence or comment: no links from here, HTML checked
        self.heads: list[tuple] = []  # (level, raw text, atx, line, col, start offset, end offset)
        self.refdefs: list[tuple] = []
        self.suppressions: dict[int, frozenset[str]] = {}
        self.kinds: dict[int, str] = {}  # line index -> kind, for lines known not to be text
        self.fence: tuple[str, int, int] | None = None  # (char, length, offset) of an open fence
        self.comment: tuple[int, int] | None = None  # (offset, line index) of an open comment
        self.indented = False  # an indented line after a blank line or heading: maybe code

    def run(self) -> None:
        """Walk the lines once; fences and comments, which are rare, leave the fast path."""
        ticks = "`" in self.body
        comments = "<" in self.body and "<!--" in self.body
        special = _SPECIAL_FIRST
        offsets = list(accumulate(map(len, self.lines), initial=0))  # line i starts at offsets[i] + i
        inside = False  # in a fence or a comment
        for i, line in enumerate(self.lines):
            if inside:
                inside = self._inside(i, line, offsets[i] + i)
            elif not line:
                continue
            elif line[0] in special and line[:2] != "- ":  # list items need no look
                inside = self._line(i, line, offsets[i] + i)
            elif (comments and "<!--" in line) or (ticks and "`" in line and _hides_markup(line)):
                inside = self._inline(line, offsets[i] + i, i)
        if self.fence is not None:
            self.soft_from = self.fence[2]
        if self.comment is not None:
            self.soft_from = min(self.soft_from, self.comment[0])

    def _inside(self, i: int, line: str, base: int) -> bool:
        """A line in an open fence or comment; whether it is still open after this line."""
        fence = self.fence
        if fence is None:
            return self._in_comment(i, line, base)
        if fence[0] in line and _closes(line, fence):
            self.mask.append((fence[2], base + len(line)))
            self.kinds[i] = "fence"
            self.fence = None
            return False
        return True

    def _line(self, i: int, line: str, base: int) -> bool:
        """Classify a line that may open a heading, fence or refdef (by its first character);
        whether it leaves a fence or comment open."""
        s = line.lstrip(" ")
        indent = len(line) - len(s)
        c0 = s[:1] if indent < 4 else ""
        kind = None
        if not s or s.isspace():
            kind = "blank"
        elif (indent >= 4 or line[0] == "\t") and not self.indented:
            self.indented = i == 0 or not self.lines[i - 1].strip() or self.kinds.get(i - 1) == "heading"
        elif c0 == "#":
            n = len(s) - len(s.lstrip("#"))
            if n <= 6 and (len(s) == n or s[n] in " \t"):
                self.heads.append((n, s[n:], True, i + 1, indent + 1, base, base + len(line)))
                kind = "heading"
        elif c0 == "`" or c0 == "~":
            n = len(s) - len(s.lstrip(c0))
            if n >= 3 and (c0 == "~" or "`" not in s[n:]):
                self.fence = (c0, n, base)
                return True
        elif c0 == "[" and "]:" in s:
            m = _REFDEF.match(s)
            if m:
                self._refdef(m, base + indent)
                kind = "refdef"
        elif (c0 == "=" or c0 == "-") and not indent and self._setext(i, line, base):
            kind = "heading"
        if kind is None and c0 == "-" and _HR.match(line):
            kind = "hr"
        if kind is not None:
            self.kinds[i] = kind
        if "<!--" in line or ("`" in line and _hides_markup(line)):
            return self._inline(line, base, i)
        return False

    def _setext(self, i: int, line: str, base: int) -> bool:
        """Whether line i underlines line i-1, the first line of a block (as Python-Markdown)."""
        under = line.rstrip()
        if i == 0 or under.strip(under[0]) or (under[0] == "-" and len(under) < 3):
            return False
        text = self.lines[i - 1]
        col = len(text) - len(text.lstrip(" ")) + 1
        if col > 4 or i - 1 in self.kinds or _LIST.match(text) or _HR.match(text) or not _has_text(text):
            return False
        if i > 1 and not self._ends_block(i - 2, under[0] == "-"):
            return False
        start = base - len(text) - 1
        self.heads.append((1 if under[0] == "=" else 2, text, False, i, col, start, base + len(line)))
        return True

    def _ends_block(self, i: int, dashes: bool) -> bool:
        """Whether a block starts after line i: blank, heading, rule, closing fence, a comment
        standing alone (Python-Markdown's raw HTML block) or, before `===` only, a refdef
        (Python-Markdown splits off a `---` rule before it removes reference definitions)."""
        line = self.lines[i].strip()
        kind = self.kinds.get(i)
        if not line or kind in _BLOCK_ENDS:
            return True
        if kind == "refdef":
            return not dashes
        if line.endswith("-->") and (kind == "comment" or line.startswith("<!--")):
            return True
        return kind is None and _HR.match(line) is not None

    def _refdef(self, m: re.Match, start: int) -> None:
        g = 2 if m.group(2) is not None else 3
        self.refdefs.append(
            (start, start + m.end(), LinkKind.REFDEF, m.group(g), m.group(1), start + m.start(g))
        )
        self.mask.append((start, start + m.end()))

    def _inline(self, line: str, base: int, i: int) -> bool:
        """Blank code spans and closed comments in (the rest of) a line; whether a comment
        is left open."""
        for m in _SPANS.finditer(line):
            if m.group(1) is not None:
                self.mask.append((base + m.start(), base + m.end()))
            elif m.group(2) is not None:
                self._comment(base + m.start(), base + m.end(), i, i)
            else:
                self.comment = (base + m.start(), i)
                return True
        return False

    def _in_comment(self, i: int, line: str, base: int) -> bool:
        """A line that starts inside an open comment; whether one is open after it."""
        self.kinds[i] = "comment"
        k = line.find("-->")
        if k < 0:
            return True
        start, first = self.comment
        self.comment = None
        self._comment(start, base + k + 3, first, i)
        return self._inline(line[k + 3 :], base + k + 3, i)

    def _comment(self, start: int, end: int, first: int, last: int) -> None:
        """Blank a closed comment and record its `kb: ignore` codes (line indexes are 0-based)."""
        self.mask.append((start, end))
        text = self.body[start:end]
        if "kb:" not in text:
            return
        m = _IGNORE.search(text)
        if not m:
            return
        codes = frozenset(c.upper() for c in _CODE.findall(m.group(1))) or frozenset({"*"})
        for ln in range(first + 1, last + 3):
            self.suppressions[ln] = self.suppressions.get(ln, frozenset()) | codes


def _closes(line: str, fence: tuple[str, int, int]) -> bool:
    """Whether a line closes the open fence (same char, at least as long, ≤3 spaces indent)."""
    s = line.lstrip(" ")
    r = s.rstrip()
    return len(line) - len(s) <= 3 and len(r) >= fence[1] and not r.strip(fence[0])


def _hides_markup(line: str) -> bool:
    """Whether a line's code spans could hold something taken for a link or HTML."""
    return "[" in line or "<" in line


def _has_text(text: str, start: int = 0, end: int | None = None) -> bool:
    """Whether text[start:end] (starting a line) holds something besides whitespace,
    HTML comments and thematic breaks."""
    end = len(text) if end is None else end
    if text.find("<", start, end) >= 0 and text.find("<!--", start, end) >= 0:
        text = _COMMENT.sub("", text[start:end])
        start, end = 0, len(text)
    return _TEXT_LINE.search(text, start, end) is not None


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


def _brackets(body: str, text: str, raw: list[tuple], unsafe: list[tuple[int, str]]) -> None:
    """Wikilinks, inline links and images: one look at each `[` (a one-character `find` is
    much faster than searching the body for `[[` or `](`)."""
    j = 0
    while (k := text.find("[", j)) >= 0:
        m = _WIKI.match(text, k) if text[k + 1 : k + 2] == "[" else None
        if m is not None:
            start = k - 1 if k and text[k - 1] == "!" else k
            raw.append((start, m.end(), _WIKI_KIND, body[m.start(1) : m.end(1)], None, k))
        elif (m := _MDLINK.match(text, k)) is not None:
            _mdlink(body, text, m, raw, unsafe)
        j = k + 1 if m is None else m.end()


def _mdlink(body: str, text: str, m: re.Match, raw: list[tuple], unsafe: list[tuple[int, str]]) -> None:
    g = 2 if m.group(2) is not None else 3
    url = body[m.start(g) : m.end(g)]
    start = m.start()
    image = start > 0 and text[start - 1] == "!"
    kind = _IMAGE_KIND if image else _MARKDOWN_KIND
    raw.append((start - image, m.end(), kind, url, body[m.start(1) : m.end(1)], m.start(g)))
    _check_url(url, m.start(g), unsafe)


def _angles(body: str, text: str, raw: list[tuple], unsafe: list[tuple[int, str]]) -> None:
    """Unsafe elements, autolinks and the attributes of opening tags."""
    j = 0
    while (k := text.find("<", j)) >= 0:
        j = k + 1
        m = _UNSAFE_TAG.match(text, k)
        if m:
            unsafe.append((k, f"<{m.group(1).lower()}> element"))
        m = _ANGLE.match(text, k)
        if m is None:
            continue
        if m.group(1) is not None:
            url = body[m.start(1) : m.end(1)]
            raw.append((k, m.end(), LinkKind.MARKDOWN, url, None, m.start(1)))
            _check_url(url, m.start(1), unsafe)
        elif m.group(3):
            _attributes(body, m, raw, unsafe)
        j = m.end()


def _attributes(body: str, tag: re.Match, raw: list[tuple], unsafe: list[tuple[int, str]]) -> None:
    """Event handlers and URL attributes of one opening tag."""
    for a in _ATTR.finditer(body, tag.start(3), tag.end(3)):
        g = 2 if a.group(2) is not None else 3 if a.group(3) is not None else 4
        if a.group(g) is None:
            continue
        name = a.group(1).lower()
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


def _links(body: str, raw: list[tuple]) -> tuple[Link, ...]:
    """Link records in body order from (start, end, kind, text, label, url offset) tuples."""
    out = []
    line, last = 1, 0
    for start, end, kind, text, label, _at in sorted(raw, key=itemgetter(0, 5)):
        line += body.count("\n", last, start)
        last = start
        col = start - body.rfind("\n", 0, start)
        if kind is _WIKI_KIND:
            target, anchor, label = _wiki_parts(text)
        else:
            target, hash_, anchor = text.partition("#")
            anchor = anchor if hash_ else None
        out.append(Link(kind, target, anchor, label, line, col, start, end))
    return tuple(out)


#: Wikilink inner text -> its parts: a handbook links the same few targets from many
#: documents. Bounded; the parts are a pure function of the text.
_WIKI_PARTS: dict[str, tuple[str, str | None, str | None]] = {}


def _wiki_parts(inner: str) -> tuple[str, str | None, str | None]:
    """(target, anchor, label) of a wikilink's inner text `target#anchor|label`."""
    parts = _WIKI_PARTS.get(inner)
    if parts is None:
        left, bar, label = inner.replace("\\|", "|").partition("|")  # `\|` inside tables
        target, hash_, anchor = left.partition("#")
        parts = (target.strip(), anchor.strip() if hash_ else None, label.strip() if bar else None)
        if len(_WIKI_PARTS) < 65536:
            _WIKI_PARTS[inner] = parts
    return parts


def _unsafe(body: str, found: list[tuple[int, str]]) -> tuple[Unsafe, ...]:
    out = []
    for at, what in sorted(set(found)):
        out.append(Unsafe(body.count("\n", 0, at) + 1, at - body.rfind("\n", 0, at), what))
    return tuple(out)


def _headings(body: str, heads: list[tuple]) -> tuple[Heading, ...]:
    """Heading records with toc ids and whether their sections hold anything."""
    texts = [heading_text(h[1], h[2]) for h in heads]
    used = {custom for _, custom in texts if custom is not None}
    counters: dict[str, int] = {}
    out = []
    for i, (level, _raw, _atx, line, col, _start, end) in enumerate(heads):
        text, custom = texts[i]
        anchor = custom if custom is not None else unique(slugify(text), used, counters)
        if i + 1 < len(heads):
            following = heads[i + 1]
            content = following[0] > level or _has_text(body, end, following[5])
        else:
            content = _has_text(body, end)
        out.append(Heading(level, text, anchor, line, col, content))
    return tuple(out)


def _indented_code(lines: _Lines) -> None:
    """Hide indented code blocks, as Python-Markdown renders them: a block of lines indented
    by 4 spaces (or a tab) after a blank line or a heading, outside a list (whose indented
    blocks are the items' own paragraphs, where links do count)."""
    pos = 0
    after_break, in_list, in_code = True, False, False
    for i, line in enumerate(lines.lines):
        start, pos = pos, pos + len(line) + 1
        if not line.strip():
            after_break = True
            continue
        if line.startswith(("    ", "\t")):
            if in_code or (after_break and not in_list):
                in_code = True
                lines.mask.append((start, pos - 1))
        else:
            in_code = False
            if _LIST.match(line):
                in_list = True
            elif after_break:
                in_list = False
        after_break = lines.kinds.get(i) == "heading"
