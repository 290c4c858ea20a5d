"""Markdown body scanner: headings, links, unsafe HTML and `kb: ignore` comments.

`kb lint` scans every body, so this is one pass over the lines (fences, raw HTML blocks,
comments, code, containers, headings) that gives a plain line a look at its first character
and little more, followed by a few whole-body searches on a copy with code and comments
blanked out (same length, so offsets stay valid). Stdlib only.

It reads a body as Python-Markdown, the site's renderer, does under the extensions configured
(`kb.mdconfig`: the repository's mkdocs.yml, else the built-in set; `configure` sets them), so
the links kb checks are the links on the page and every anchor it accepts exists there:

- headings: `#` in the first column of a block, with or without a space, also inside list
  items (`- ### x`), quotes, admonitions, tabs, definitions and markdown="1" HTML; setext
  headings (even under a list item's first line); not inside raw HTML blocks, fences or
  indented code. Ids come from toc's configured slugify (`kb.slugs`), `unique()` and
  attr_list's `{#id}`;
- fences follow superfences (any indent, closed by the same run at the same indent, only the
  options its highlighter takes; one that never closes is no fence) or fenced_code;
- links follow Python-Markdown's inline patterns: text may span lines and nest brackets and
  images, URLs may hold spaces, parentheses and titles; footnote definitions and references
  are not links, and a reference definition is a link only when `[text][id]`, `[id][]` or
  `[id]` uses it (it is reported at the definition, where its URL is written; an id defined
  twice uses the last, and `[id]:` may have its URL on the next line); `[[text]](url)` is a
  link whose text is `[text]`, not a wikilink.

Known differences (rare in a handbook; `bench/oracle.py DIR` counts them): code spans or
headings across the lines of a paragraph inside link text, reference definitions whose
title is on the next line, duplicate footnote definitions, HTML blocks nested in markdown="1".
"""

from __future__ import annotations

import html
import re
from bisect import bisect_left
from dataclasses import dataclass
from enum import Enum
from itertools import accumulate
from operator import itemgetter

from kb.mdconfig import MarkdownConfig
from kb.model import fast_init
from kb.slugs import configure as _configure_slugs
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
    kind: str = "script"  # SCRIPT: runs script, reported everywhere; EMBED: an embed or <style>


#: `Unsafe.kind`s.
SCRIPT, EMBED = "script", "embed"


@fast_init
@dataclass(frozen=True, slots=True)
class BodyScan:
    """Everything later stages need from a body."""

    headings: tuple[Heading, ...]
    links: tuple[Link, ...]
    unsafe: tuple[Unsafe, ...]
    title: str | None  # text of the level-1 heading the body opens with (MkDocs' page title)
    suppressions: dict[int, frozenset[str]]  # body line -> codes ({"*"} = all)
    #: (line, col) where blocks first nest more than MAX_NESTING deep (KB416), else None
    deep: tuple[int, int] | None = None
    #: ids the page has besides its headings': an HTML tag's `id` (raw HTML included), an
    #: `<a name=...>`, attr_list's `{#id}` on a paragraph or an inline element. A browser
    #: scrolls to them as to a heading, and MkDocs' anchor validation accepts them.
    ids: frozenset[str] = frozenset()


#: Blocks nested deeper than this in one place (list items, quotes, admonitions, details, tabs,
#: definitions, markdown="1" HTML, counted together) are KB416. Python-Markdown parses each
#: level with nested calls, about 4 stack frames a list level and 3 a markdown="1" div: under
#: MkDocs' build (kb build, Python's limit of 1000 frames) a page fails from about 240 nested
#: list levels and 330 divs (admonitions, details, tabs nest the same way; quotes alone are
#: cut off by Python-Markdown near the limit, which leaves less for what they hold). 100
#: keeps a margin of more than two for deeper callers (plugins, kb serve, test runners) and
#: for kinds mixed on one page; real handbooks nest a handful of levels.
MAX_NESTING = 100

#: First characters of lines that may open a block kb cares about, or change the containers
#: (lists, quotes, admonitions, tabs, definitions, footnotes) whose indented lines are markdown.
_SPECIAL_FIRST = frozenset("#`~=-[ \t*+0123456789!?:<>")
_FENCE_FIRST = frozenset("`~ \t>")
_LIST = re.compile(r"[ ]{0,3}(?:[-*+]|\d{1,9}[.)])(?:[ \t]|$)")
_PM_LIST = re.compile(r"(?:[*+-]|\d+\.)[ ]+")  # Python-Markdown's list markers (no `1)`)
_OPENER = re.compile(r"(?:!!!|\?\?\?\+?|===\+?!?)[ ]")  # admonition, details, tabbed
_FOOTDEF = re.compile(r"\[\^[^\]]*\]:")
_DEFINITION = re.compile(r":[ ]{1,3}(?=\S)")
_HTML_OPEN = re.compile(r"<([A-Za-z][A-Za-z0-9]*)(?=[\s/>]|$)")
_TAG = re.compile(r"<!--.*?-->|<(/?)([A-Za-z][A-Za-z0-9-]*)(?:[^<>\"']|\"[^\"]*\"|'[^']*')*?(/?)>", re.S)
_MARKDOWN_ATTR = re.compile(r"""\smarkdown\s*=\s*["']?(?:1|block|span)\b""")
#: Python-Markdown's block-level elements: one opening a line starts a raw HTML block.
_BLOCK_TAGS = frozenset(
    """address article aside blockquote details div dl fieldset figcaption figure
    footer form h1 h2 h3 h4 h5 h6 header hgroup hr main menu nav ol p pre section table ul canvas
    colgroup dd body dt group html iframe li legend math map noscript output object option progress
    script style summary tbody td textarea tfoot th thead tr video center""".split()
)
_HEADING_TAGS = frozenset({"h1", "h2", "h3", "h4", "h5", "h6"})
_TAGS = re.compile(r"<[^>]*>")
_HEADING_TAG = re.compile(r"<(/?)([hH][1-6])(?=[\s/>])(?:[^<>\"']|\"[^\"]*\"|'[^']*')*>")
_ID_ATTR = re.compile(r"""\sid\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s"'>]+))""")
_VOID_TAGS = frozenset("area base br col embed hr img input link meta param source track wbr".split())
#: superfences' opening fence: language, then `{attrs}` or `key="value"` options, nothing else.
_SUPERFENCE = re.compile(
    r"""(?P<fence>~{3,}|`{3,})(?:[ \t]*\.?[\w#.+-]+(?=[\t ]|$))?
    (?:[ \t]*\{[^\n]*\}|(?P<options>(?:[ \t]*[a-zA-Z][a-zA-Z0-9_]*(?:=(?P<q>["']).*?(?P=q))?(?=[\t ]|$))*))[ \t]*$""",
    re.X,
)
_FENCE_OPTION = re.compile(r"""([a-zA-Z][a-zA-Z0-9_]*)(?:=(["'])(.*?)\2)?""")
#: The options superfences' highlight validator takes (`key="value"`); any other makes no fence.
_FENCE_OPTIONS = {
    "hl_lines": re.compile(r"\d+(?:-\d+)?(?:[ \t]+\d+(?:-\d+)?)*$"),
    "linenums": re.compile(r"\d+"),
    "title": None,
    "title_mode": None,
}
_FENCED_CODE = re.compile(  # Python-Markdown's fenced_code, when superfences is not configured
    r"""(?P<fence>~{3,}|`{3,})[ ]*(?:\{[^\n]*\}|(?:\.?[\w#.+-]*[ ]*)?(?:hl_lines=(?P<q>["']).*?(?P=q)[ ]*)?)$"""
)
# On one line, left to right: a code span (a backtick run closed by one of the same length),
# a closed comment, or a comment left open.
_SPANS = re.compile(r"(?<!`)(`++).*?(?<!`)\1(?!`)|(<!--.*?-->)|<!--")
#: A code span the line pass left: one whose backticks close on a later line of the paragraph.
_LONG_SPAN = re.compile(r"(?<!`)(`++)(?:(?!\n[ \t]*\n)[^`]|(?!\1(?!`))`++)+?\1(?!`)")
_BLOCK_ENDS = frozenset({"heading", "hr", "fence", "html"})
_COMMENT = re.compile(r"<!--.*?(?:-->|\Z)", re.S)
_RULE = r"[ ]{0,3}(?:(?:-[ ]{0,2}){3,}|(?:_[ ]{0,2}){3,}|(?:\*[ ]{0,2}){3,})[ \t]*$"
_HR = re.compile(_RULE)
_TEXT_LINE = re.compile(rf"^(?!{_RULE})[ \t]*\S", re.M)  # a line with text, not a thematic break
# Python-Markdown's reference definition (title ignored); the id may be empty.
_REFDEF = re.compile(r"""\[([^\[\]]*)\]:[ ]*(\S+)[ ]*(?:(["'])[^\n]*\3[ ]*|\([^\n]*\)[ ]*)?$""")
_REFDEF_OPEN = re.compile(r"\[([^\[\]]*)\]:[ ]*$")
_REFDEF_NEXT = re.compile(r"""[ ]*([^\s#]\S*)[ ]*(?:(["'])[^\n]*\2[ ]*|\([^\n]*\)[ ]*)?$""")
_WIKI = re.compile(r"\[\[([^\[\]\n]++)\]\]")
_SIMPLE_URL = re.compile(r"\(([^\s()<>\"'\\]*+)\)")  # `(url)`: the common case, no title or parens
_ANGLE_URL = re.compile(r"""\(\s*(<[^<>]*>)\s*(?:('[^']*'|"[^"]*")\s*)?\)""")
_REF_ID = re.compile(r"\s?\[([^\]]*)\]")
_ESCAPED = re.compile(r"\\[\\`*_{}\[\]()>#+\-.!]")
_WS = re.compile(r"\s+")
# `<scheme:...>` autolinks, or an opening tag; quoted values may not hold `<` so a stray quote
# cannot make one match run to the end of the body.
_ANGLE = re.compile(
    r"""<(?:([A-Za-z][A-Za-z0-9+.-]{1,31}:[^\s<>]*)>
    |([A-Za-z][A-Za-z0-9-]*+)(?=[\s/>])((?:[^<>"']++|"[^"<]*+"|'[^'<]*+')*+)>)""",
    re.X,
)
_ATTR = re.compile(r"""([^\s"'<>/=]+)(?:\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s"'=<>`]+)))?""")
_UNSAFE_TAG = re.compile(r"<(script|iframe|object|embed|meta|base|form|style|video|audio)(?=[\s/>]|$)", re.I)
#: Elements that load content from elsewhere: allowed on plain pages with an https or same-site source.
_EMBED_TAGS = frozenset({"iframe", "object", "embed", "video", "audio"})
_EMBED_SRC = frozenset({"src", "data", "poster"})
_URL_ATTRS = frozenset({"href", "src", "xlink:href", "action", "formaction", "data", "poster"})
_LINK_ATTRS = frozenset({"href", "src"})
_URL_JUNK = re.compile(r"[\x00-\x20\x7f]+")
_BAD_SCHEMES = ("javascript:", "data:", "vbscript:")
_IGNORE = re.compile(r"kb:\s*ignore\b(.*)", re.S)
_CODE = re.compile(r"\bKB\d{3}\b", re.I)

#: The configuration `scan` follows unless given one; `configure` sets it (before `kb.load`
#: forks its workers, which inherit it).
_CONFIG = MarkdownConfig()


def configure(config: MarkdownConfig) -> None:
    """Scan bodies, and make anchors (`slugify`), as this configuration renders them."""
    global _CONFIG
    _CONFIG = config
    _configure_slugs(config)


def scan(body: str, config: MarkdownConfig | None = None) -> BodyScan:
    """Scan a markdown body (frontmatter already removed, newlines normalized to LF).

    Never raises on any text. Code (fences, indented blocks, spans) and closed HTML comments
    hide links and HTML; raw HTML blocks hide markdown (links, headings) but not their tags'
    attributes; an unclosed comment hides links to the end but is still checked for unsafe
    HTML, since the renderer may not treat it as a comment.
    """
    config = config or _CONFIG
    lines = _Lines(body, config)
    lines.run()
    raw: list[tuple] = []
    unsafe: list[tuple] = []
    ids: list[str] = []
    for refdef in lines.refdefs:
        _check_url(refdef[3], refdef[5], unsafe)
    if "[" in body or "<" in body:
        text = _blank(body, lines.mask)
        if lines.odd:
            text = _long_spans(text, lines.odd)
        used: set[str] = set()
        if "[" in body:
            mdtext = _blank(text, lines.raw_html) if lines.raw_html else text
            if "\\" in body:
                mdtext = _ESCAPED.sub("  ", mdtext)
            _brackets(body, mdtext, raw, unsafe, used, lines.defined, config.footnotes)
        _angles(body, text, raw, unsafe, ids)
        last = {r[6]: r for r in lines.refdefs}  # an id defined twice: the last one is used
        raw.extend(r for r in lines.refdefs if r[6] in used and last[r[6]] is r)
        if lines.soft_from < len(body):
            raw = [r for r in raw if r[0] < lines.soft_from]
    if config.attr_list and "{" in body:
        _attr_list_ids(_blank(body, lines.mask + lines.raw_html), ids)
    headings = _headings(body, lines.heads, config.attr_list, lines.own)
    title = _title(body, lines.heads, headings)
    return BodyScan(
        headings,
        _links(body, raw),
        _unsafe(body, unsafe),
        title,
        lines.suppressions,
        lines.deep,
        frozenset(ids) if ids else _NO_IDS,
    )


def _title(body: str, heads: list[tuple], headings: tuple[Heading, ...]) -> str | None:
    """The page's title as MkDocs reads it: the text of a level-1 heading that is the body's
    first block (MkDocs looks at the first element only: after a comment, a rule, a badge or
    a paragraph the page is titled from its file name), else None."""
    if not heads:
        return None
    lead = len(body) - len(body.lstrip())
    for head, heading in zip(heads, headings, strict=True):
        if head[5] == lead:
            first_block = heading.level == 1 and heading.col == 1 and body[lead : lead + 1] != "<"
            return heading.text if first_block else None
    return None


_NO_IDS: frozenset[str] = frozenset()
#: attr_list's `{#id .class key=value}` (or `{: ...}`) holding an id: at the end of a line (a
#: paragraph's or heading's), or right after an inline element (`[x](y){#id}`, `*x*{#id}`).
_ATTR_LIST = re.compile(
    r"\{:?[ ]*([^{}\n]*#[^{}\n]*)\}(?=[ \t]*$)|(?<=[)*_])\{:?[ ]*([^{}\n]*#[^{}\n]*)\}", re.M
)
_ATTR_ID = re.compile(r"(?:^|\s)#([^\s#.={}]+)")


def _attr_list_ids(text: str, ids: list[str]) -> None:
    """Ids attr_list gives elements (headings' are read with the headings)."""
    for m in _ATTR_LIST.finditer(text):
        ids.extend(_ATTR_ID.findall(m.group(1) or m.group(2)))


def _columns(line: str) -> tuple[int, int]:
    """(characters, columns) of a line's leading whitespace, tabs to the next multiple of 4."""
    col = 0
    for n, c in enumerate(line):
        if c == " ":
            col += 1
        elif c == "\t":
            col += 4 - col % 4
        else:
            return n, col
    return len(line), col


class _Lines:
    """The line pass: fences, raw HTML blocks, comments, code, containers, headings, refdefs.

    Plain text lines outside containers cost a look at their first character; whether a line
    is a setext heading's text, or a section holds content, is worked out later only where it
    matters. Containers follow Python-Markdown: list items, admonitions, details, tabs,
    definitions and footnotes hold the lines indented 4 columns per level under them, and
    their first line's content (`- ### x`) is read as a block of its own.
    """

    def __init__(self, body: str, config: MarkdownConfig) -> None:
        self.body = body
        self.config = config
        self.lines = body.split("\n")
        self.mask: list[tuple[int, int]] = []  # ranges blanked before link and HTML searches
        self.raw_html: list[tuple[int, int]] = []  # raw HTML blocks: no markdown links inside
        self.soft_from = len(body)  # an unclosed comment: no links from here, HTML checked
        self.heads: list[tuple] = []  # (level, raw text, atx, line, col, start offset, end offset)
        self.refdefs: list[tuple] = []
        self.defined: set[str] = set()  # reference ids
        self.suppressions: dict[int, frozenset[str]] = {}
        self.kinds: dict[int, str] = {}  # line index -> kind, for lines known not to be text
        self.comment: tuple[int, int] | None = None  # (offset, line index) of an open comment
        self.footnote = False  # the last line read opened a footnote definition
        self.md_html = 0  # markdown="1" elements opened and not yet closed
        self.odd: list[int] = []  # offsets of lines with an odd number of backticks
        self.own: dict[int, tuple[str, bool]] = {}  # head index -> (its own id, whether toc sees it)
        self.room = MAX_NESTING  # container levels a line may open: less inside markdown="1" HTML
        self.deep: tuple[int, int] | None = None  # (line, col) where nesting first passes MAX_NESTING

    def run(self) -> None:
        """Walk the lines once; fences, raw HTML and comments jump ahead."""
        body = self.body
        ticks = "`" in body or "~~~" in body
        comments = "<!--" in body
        special = _SPECIAL_FIRST
        lines = self.lines
        offsets = list(accumulate(map(len, lines), initial=0))  # line i starts at offsets[i] + i
        self.offsets = offsets
        depth = 0  # open containers
        blank = True  # the previous line is blank (or the body starts here)
        code = False  # in an indented code block
        foot = False  # the last container opened is a footnote definition's (no element follows it)
        room = self.room
        n = len(lines)
        i = 0
        while i < n:
            line = lines[i]
            base = offsets[i] + i
            if self.comment is not None:
                self._in_comment(i, line, base)
                blank = False
                i += 1
                continue
            if not line:
                blank = True
                i += 1
                continue
            c = line[0]
            if c not in special and (not depth or not blank):  # text (or a lazy continuation line)
                blank = code = foot = False
            elif c == "#":  # a heading, outside any container
                self._hash_heading(i, line, base, 1, base + len(line))
                depth = 0
                blank = code = foot = False
            elif c == "-" and line[1:2] == " " and line[2:3] not in special:  # a plain list item
                depth = 1
                blank = code = foot = False
            else:
                c = ""
            if c:
                if (ticks and "`" in line) or (comments and "<!--" in line):
                    self._marks(line, base, i, comments)
                i += 1
                continue
            c = line[0]
            if (c == " " or c == "\t") and line.isspace():
                blank = True
                i += 1
                continue
            if ticks and c in _FENCE_FIRST and (j := self._fence(i, line, base)) > i:
                cols = _columns(line)[1] // 4
                depth = cols if cols < depth else depth  # it ends the containers it is not inside
                blank, code, i = True, False, j
                continue
            if c == "<" or (c == " " and line.lstrip(" ")[:1] == "<"):
                j = self._html(i, line, base)
                if j > i:
                    depth, blank, code, i = 0, True, False, j
                    room = self.room
                    continue
                if self.md_html and line.lstrip(" ").startswith("</"):
                    self.md_html -= 1
                    room = self.room = MAX_NESTING - self.md_html
            width, cols = _columns(line)
            before = depth
            level = cols // 4
            if blank and level < depth:
                depth = level
            elif level > depth:
                level = depth
            rest = cols - 4 * level
            if rest >= 4:  # indented code where a block starts, else a paragraph's line
                if code or blank or self.kinds.get(i - 1) in _BLOCK_ENDS:
                    code = True
                    self.mask.append((base, base + len(line)))
                    self.kinds[i] = "code"
                blank = False
                i += 1
                continue
            code = False
            self.footnote = False
            depth = self._content(i, line, base, width, rest == 0, level, depth)
            if depth > room:
                self._too_deep(i, width)
            if self.footnote:
                foot = True
            elif self.kinds.get(i) == "refdef":
                if not foot:
                    depth = max(depth, before)  # it leaves nothing behind: a list goes on after it
            elif not level:
                foot = False
            blank = False
            if (ticks and "`" in line) or (comments and "<!--" in line):
                self._marks(line, base, i, comments)
            i += 1
        if self.comment is not None:
            self.soft_from = self.comment[0]

    def _content(self, i: int, line: str, base: int, at: int, col0: bool, level: int, depth: int) -> int:
        """Classify a line's content from `line[at]` (inside `level` containers); the depth
        of containers open after it."""
        config = self.config
        quotes = 0
        while at < len(line):
            s = line[at:]
            c0 = s[0]
            if c0 == "#":
                if col0:  # a heading; it ends the containers it is not inside (a list it follows)
                    self._hash_heading(i, s, base + at, at + 1, base + len(line))
                    return level
                return depth
            if c0 == ">":
                quotes += 1
                if level + quotes > self.room:
                    self._too_deep(i, at)
                at += 2 if s[1:2] == " " else 1
                width, _ = _columns(line[at:])
                col0 = width == 0
                at += width
                continue
            if c0 in "-*+0123456789":
                if c0 == "-" and not at and not s.rstrip(" ").strip("-") and self._setext(i, line, base):
                    self.kinds[i] = "heading"  # even under a list item's first line, as Python-Markdown
                    return depth
                if c0 != "+" and _HR.match(s):
                    self.kinds[i] = "hr"
                    return depth
                m = _PM_LIST.match(s)
                if m is None:
                    return depth
                level += 1
                depth = level
                if level + quotes > self.room:
                    self._too_deep(i, at)
                at += m.end()
                col0 = True
                continue
            if c0 == "[":
                if config.footnotes and _FOOTDEF.match(s):
                    self.footnote = True  # its lines are kept apart: nothing after continues it
                    return level + 1
                if "]:" in s and (m := _REFDEF.match(s)):
                    self._refdef(m, base + at)
                    self.kinds[i] = "refdef"
                elif "]:" in s and (m := _REFDEF_OPEN.match(s)) and i + 1 < len(self.lines):
                    self._refdef_next(m, base + at, i)
                return depth
            if (
                c0 == "="
                and not at
                and not level
                and line.rstrip("= \t") == ""
                and self._setext(i, line, base)
            ):
                self.kinds[i] = "heading"
                return depth
            if c0 in "!?=" and _OPENER.match(s):
                if (
                    (c0 == "!" and config.admonition)
                    or (c0 == "?" and config.details)
                    or (c0 == "=" and config.tabbed)
                ):
                    return level + 1
                return depth
            if c0 == ":" and config.def_list and (m := _DEFINITION.match(s)):
                level += 1
                depth = level
                at += m.end()
                col0 = True
                continue
            return depth
        return depth

    def _too_deep(self, i: int, at: int) -> None:
        """Blocks nest more than MAX_NESTING deep at line i, column at + 1 (the first place is kept)."""
        if self.deep is None:
            self.deep = (i + 1, at + 1)

    def _hash_heading(self, i: int, s: str, start: int, col: int, end: int) -> None:
        """A `#` line at the start of a block's line: Python-Markdown's heading, no space needed."""
        n = len(s) - len(s.lstrip("#"))
        level = min(n, 6)
        self.heads.append((level, s[level:], True, i + 1, col, start, end))
        self.kinds[i] = "heading"

    def _fence(self, i: int, line: str, base: int) -> int:
        """If line i opens a fence that closes, mask it and return the index after it."""
        s = line.lstrip(" \t>") if self.config.superfences else line
        c0 = s[:1]
        if c0 != "`" and c0 != "~" or not s.startswith(("```", "~~~")):
            return i
        m = (_SUPERFENCE if self.config.superfences else _FENCED_CODE).match(s)
        if m is None or (m.groupdict().get("options") and not _options_ok(m.group("options"))):
            return i
        fence = m.group("fence")
        ws = line[: len(line) - len(s)]
        lines = self.lines
        for j in range(i + 1, len(lines)):
            other = lines[j]
            if ws and not other.startswith(ws):
                if other.lstrip(" \t>"):
                    return i  # a line indented less than the fence: superfences gives it up
                continue
            rest = other[len(ws) :]
            if rest.startswith(fence) and not rest[len(fence) :].strip(" \t"):
                end = self.offsets[j] + j + len(other)
                self.mask.append((base, end))
                for k in range(i, j + 1):
                    self.kinds[k] = "fence"
                return j + 1
        return i

    def _html(self, i: int, line: str, base: int) -> int:
        """If line i opens a raw HTML block (a block-level tag at most 3 spaces in), record it and
        return the index of the line after it; md_in_html's `markdown="1"` keeps its inside markdown."""
        s = line.lstrip(" ")
        if len(line) - len(s) > 3:
            return i
        m = _HTML_OPEN.match(s)
        if m is None or m.group(1).lower() not in _BLOCK_TAGS:
            return i
        start = base + len(line) - len(s)
        body = self.body
        if self.config.md_in_html:
            tag = _TAG.match(body, start)
            if tag is not None and _MARKDOWN_ATTR.search(tag.group()):
                self.kinds[i] = "html"
                self.md_html += 1
                self.room = MAX_NESTING - self.md_html
                if self.room < 0:
                    self._too_deep(i, start - base)
                return i + 1
        stack: list[str] = []
        end = len(body)
        for t in _TAG.finditer(body, start):
            name = t.group(2)
            if name is None:
                continue
            name = name.lower()
            if t.group(1):
                if name in stack:
                    while stack.pop() != name:
                        pass
            elif name not in _VOID_TAGS and not t.group(3):
                stack.append(name)
            if not stack:
                end = t.end()
                break
        self.raw_html.append((start, end))
        if self.md_html and m.group(1).lower() in _HEADING_TAGS:  # md_in_html parses it: toc ids it
            self._html_heading(_TAG.match(body, start), i, start, end, True)
        elif "<h" in body[start:end] or "<H" in body[start:end]:  # raw: an `<hN id=...>` keeps its id
            for t in _HEADING_TAG.finditer(body, start, end):
                if _ID_ATTR.search(t.group()):
                    self._html_heading(t, i + body.count("\n", start, t.start()), t.start(), end, False)
        last = body.count("\n", start, end) + i
        for k in range(i, last + 1):
            self.kinds[k] = "html"
        if "<!--" in body[start:end]:  # `kb: ignore` comments count inside raw HTML too
            for c in _COMMENT.finditer(body, start, end):
                if c.group().endswith("-->"):
                    first = i + body.count("\n", start, c.start())
                    self._comment(c.start(), c.end(), first, first + body.count("\n", c.start(), c.end()))
        return last + 1

    def _html_heading(self, tag: re.Match | None, i: int, start: int, end: int, parsed: bool) -> None:
        """An `<hN>` tag at `start`: inside markdown="1" HTML (`parsed`) a heading toc gives an
        id unless it has one; in raw HTML a heading only with its own `id`."""
        if tag is None:
            return
        own = _ID_ATTR.search(tag.group())
        name = tag.group(2).lower()
        close = re.compile(rf"</{name}\s*>", re.I).search(self.body, tag.end(), end)
        raw = _TAGS.sub("", self.body[tag.end() : close.start() if close else end])
        line_start = self.offsets[i] + i
        if own is not None:
            self.own[len(self.heads)] = (own.group(1) or own.group(2) or own.group(3) or "", parsed)
        elif not parsed:
            return
        self.heads.append((int(tag.group(2)[1]), raw, False, i + 1, start - line_start + 1, start, end))

    def _setext(self, i: int, line: str, base: int) -> bool:
        """Whether line i underlines line i-1, the first line of a block (as Python-Markdown)."""
        under = line.rstrip()
        if i == 0 or under.strip(under[0]):
            return False
        text = self.lines[i - 1]
        col = len(text) - len(text.lstrip(" ")) + 1
        if col > 4 or i - 1 in self.kinds or _HR.match(text) or not _has_text(text):
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
        key = m.group(1).strip().lower()  # Python-Markdown's reference id
        url = m.group(2)
        at = start + m.start(2)
        if url.startswith("<"):
            url, at = url[1:], at + 1
        url = url.rstrip(">")
        self.refdefs.append((start, start + m.end(), LinkKind.REFDEF, url, m.group(1), at, key))
        self.defined.add(key)
        self.mask.append((start, start + m.end()))

    def _refdef_next(self, m: re.Match, start: int, i: int) -> None:
        """`[id]:` alone on line i, its URL (and title) on the next line, as Python-Markdown
        reads a reference definition (a `#` heading there is a block of its own)."""
        after = self.lines[i + 1]
        n = _REFDEF_NEXT.match(after)
        if n is None:
            return
        base = self.offsets[i + 1] + i + 1
        key = m.group(1).strip().lower()
        url, at = n.group(1), base + n.start(1)
        if url.startswith("<"):
            url, at = url[1:], at + 1
        url = url.rstrip(">")
        end = base + len(after)
        self.refdefs.append((start, end, LinkKind.REFDEF, url, m.group(1), at, key))
        self.defined.add(key)
        self.mask.append((start, end))
        self.kinds[i] = self.kinds[i + 1] = "refdef"

    def _marks(self, line: str, base: int, i: int, comments: bool) -> None:
        """Code spans and comments on a text line (the caller saw a backtick or `<!--`)."""
        if "`" in line:
            if line.count("`") & 1:  # maybe a code span that closes on a later line
                self.odd.append(base)
            if _hides_markup(line) or (comments and "<!--" in line):
                self._inline(line, base, i)
        else:
            self._inline(line, base, i)

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
        assert self.comment is not None  # only called while a comment is open
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


def _options_ok(options: str) -> bool:
    """Whether superfences accepts a fence's `key="value"` options (else the fence is no fence)."""
    for m in _FENCE_OPTION.finditer(options):
        key = m.group(1)
        if key not in _FENCE_OPTIONS:
            return False
        check = _FENCE_OPTIONS[key]
        if check is not None and not check.match(m.group(3) if m.group(2) else key):
            return False
    return True


def _long_spans(text: str, odd: list[int]) -> str:
    """Blank the code spans that start on a line with an odd number of backticks and close on a
    later line of the paragraph (as Python-Markdown's inline code reads a paragraph)."""
    spans: list[tuple[int, int]] = []
    done = -1
    for start in odd:
        end = text.find("\n", start)
        end = len(text) if end < 0 else end
        k = max(start, done)
        while (k := text.find("`", k, end)) >= 0:
            m = _LONG_SPAN.match(text, k)
            if m is not None:
                spans.append(m.span())
                k = done = m.end()
                if k > end:
                    break
            else:  # no closer: past this run of backticks
                k += 1
                while k < end and text[k] == "`":
                    k += 1
    return _blank(text, spans) if spans else text


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


def _brackets(
    body: str,
    text: str,
    raw: list[tuple],
    unsafe: list[tuple],
    used: set[str],
    defined: set[str],
    footnotes: bool,
) -> None:
    """Wikilinks, inline links and images, and the ids reference links use, read as
    Python-Markdown's inline patterns read them: link text may span lines and hold brackets
    and images, a URL may hold spaces and parentheses. One look at each `[`."""
    pars = _Paragraphs(text)
    longest = 8 * max(map(len, defined)) + 256 if defined else -1
    j = 0
    while (k := text.find("[", j)) >= 0:
        if (
            text[k + 1 : k + 2] == "["
            and (m := _WIKI.match(text, k)) is not None
            and text[m.end() : m.end() + 1] != "("  # `[[here]](url)`: a link whose text is `[here]`
        ):
            start = k - 1 if k and text[k - 1] == "!" else k
            raw.append((start, m.end(), _WIKI_KIND, body[m.start(1) : m.end(1)], None, k))
            j = m.end()
            continue
        j = k + 1
        close = pars.close_of(k)
        if close < 0:
            continue
        if text[close + 1 : close + 2] == "(":
            end = _inline_link(body, pars, k, close, raw, unsafe)
            if end:
                _images(body, pars, k + 1, close, raw, unsafe)  # the only links inside a link's text
                j = end
                continue
        if (footnotes and text[k + 1] == "^") or close - k > longest:
            continue  # a footnote reference, or longer than any id (none when nothing is defined)
        label = _WS.sub(" ", text[k + 1 : close].lower())
        m = _REF_ID.match(text, close + 1)
        if m is not None:  # `[text][id]`, `[text][]`; an undefined id leaves `[text]` a shortcut
            key = _WS.sub(" ", m.group(1).lower()) or label
            if key in defined:
                used.add(key)
                continue
        used.add(label)


_BRACKET = re.compile(r"[\[\]]|\n[ \t]*(?=\n)")
_BREAK = re.compile(r"\n[ \t]*(?=\n|\Z)")
#: A URL and title longer than this is not looked for (bounds the work on hostile input).
_LONGEST_LINK = 2048


class _Paragraphs:
    """Where paragraphs end and which `]` closes each `[`, worked out once per body when needed
    (looking again for each `[` would be quadratic on hostile input: thousands of `[`)."""

    __slots__ = ("text", "breaks", "closes", "no_paren")

    def __init__(self, text: str) -> None:
        self.text = text
        self.breaks: list[int] | None = None  # where blank lines start
        self.closes: dict[int, int] | None = None
        self.no_paren = (-1, -1)  # (from, to): no `)` in text[from:to]

    def end_of(self, at: int) -> int:
        """Where the paragraph holding `at` ends: the next blank line, or the end."""
        if self.breaks is None:
            self.breaks = [m.start() for m in _BREAK.finditer(self.text)]
        i = bisect_left(self.breaks, at)
        return self.breaks[i] if i < len(self.breaks) else len(self.text)

    def close_of(self, k: int) -> int:
        """The `]` that closes the `[` at k within its paragraph (brackets nest), or -1."""
        text = self.text
        e = text.find("]", k + 1)
        if e < 0:
            return -1
        if text.find("[", k + 1, e) < 0 and text.find("\n", k + 1, e) < 0:
            return e
        if self.closes is None:
            self.closes = {}
            stack: list[int] = []
            for m in _BRACKET.finditer(text):
                c = m.group()
                if c == "[":
                    stack.append(m.start())
                elif c == "]":
                    if stack:
                        self.closes[stack.pop()] = m.start()
                else:
                    stack.clear()
        return self.closes.get(k, -1)

    def has_paren(self, p: int, limit: int) -> bool:
        """Whether a `)` follows p before limit."""
        start, stop = self.no_paren
        if start <= p and limit <= stop:
            return False
        if self.text.find(")", p, limit) < 0:
            self.no_paren = (p, limit)
            return False
        return True


def _images(
    body: str, pars: _Paragraphs, start: int, end: int, raw: list[tuple], unsafe: list[tuple]
) -> None:
    text = pars.text
    j = start
    while (k := text.find("![", j, end)) >= 0:
        j = k + 2
        close = pars.close_of(k + 1)
        if 0 <= close < end and text[close + 1 : close + 2] == "(":
            j = _inline_link(body, pars, k + 1, close, raw, unsafe) or j


def _inline_link(
    body: str, pars: _Paragraphs, k: int, close: int, raw: list[tuple], unsafe: list[tuple]
) -> int:
    """Record the inline link or image whose text is text[k+1:close] and whose `(` follows;
    return where it ends, 0 if it is none."""
    text = pars.text
    p = close + 1
    m = _SIMPLE_URL.match(text, p)
    if m is not None:
        a, b, end = m.start(1), m.end(1), m.end()
    elif (m := _ANGLE_URL.match(text, p)) is not None:
        a, b, end = m.start(1) + 1, m.end(1) - 1, m.end()
    else:
        limit = min(pars.end_of(p), p + _LONGEST_LINK)
        found = _get_link(text, p, limit) if pars.has_paren(p, limit) else None
        if found is None:
            return 0
        a, b, end = found
    url = body[a:b]
    if url != url.strip():
        stripped = url.lstrip()
        a += len(url) - len(stripped)
        url = stripped.rstrip()
    if "\\" in url:
        url = _ESCAPED.sub(lambda e: e.group()[1], url)
    image = k > 0 and text[k - 1] == "!"
    kind = _IMAGE_KIND if image else _MARKDOWN_KIND
    raw.append((k - image, end, kind, url, body[k + 1 : close], a))
    _check_url(url, a, unsafe)
    return end


def _get_link(data: str, p: int, limit: int) -> tuple[int, int, int] | None:
    """Python-Markdown's `LinkInlineProcessor.getLink` for `(` at p: (href start, href end, end),
    or None. Nested parentheses count; a quoted title ends the URL."""
    index = p + 1
    while index < limit and data[index].isspace():
        index += 1
    start_index = index
    bracket, backtrack, last_bracket = 1, 1, -1
    quote = alt_quote = None
    start_quote = exit_quote = start_alt = exit_alt = -1
    ignore = False
    last = ""
    href: tuple[int, int] | None = None
    for pos in range(start_index, limit):
        c = data[pos]
        if c == "(":
            if not ignore:
                bracket += 1
            elif backtrack > 0:
                backtrack -= 1
        elif c == ")":
            if (exit_quote != -1 and quote == last) or (exit_alt != -1 and alt_quote == last):
                bracket = 0
            elif not ignore:
                bracket -= 1
            elif backtrack > 0:
                backtrack -= 1
                if backtrack == 0:
                    last_bracket = index + 1
        elif c in "'\"":
            if not quote:
                ignore = True
                backtrack, bracket = bracket, 1
                start_quote, quote = index + 1, c
            elif c != quote and not alt_quote:
                start_alt, alt_quote = index + 1, c
            elif c == quote:
                exit_quote = index + 1
            elif alt_quote and c == alt_quote:
                exit_alt = index + 1
        index += 1
        if bracket == 0:
            if exit_quote >= 0 and quote == last:
                href = (start_index, start_quote - 1)
            elif exit_alt >= 0 and alt_quote == last:
                href = (start_index, start_alt - 1)
            else:
                href = (start_index, index - 1)
            break
        if c != " ":
            last = c
    if bracket != 0 and backtrack == 0:
        href = (start_index, last_bracket - 1)
        index = last_bracket
        bracket = 0
    if bracket != 0 or href is None:
        return None
    return href[0], href[1], index


def _angles(body: str, text: str, raw: list[tuple], unsafe: list[tuple], ids: list[str]) -> None:
    """Unsafe elements, autolinks and the attributes of opening tags."""
    j = 0
    while (k := text.find("<", j)) >= 0:
        j = k + 1
        u = _UNSAFE_TAG.match(text, k)
        m = _ANGLE.match(text, k)
        if u:
            _element(body, u.group(1).lower(), k, m, unsafe)
        if m is None:
            continue
        if m.group(1) is not None:
            url = body[m.start(1) : m.end(1)]
            raw.append((k, m.end(), LinkKind.MARKDOWN, url, None, m.start(1)))
            _check_url(url, m.start(1), unsafe)
        elif m.group(3):
            _attributes(body, m, raw, unsafe, ids)
        j = m.end()


def _element(body: str, name: str, k: int, tag: re.Match | None, unsafe: list[tuple]) -> None:
    """An element KB409 is about: script-like everywhere, or an embed (https or same-site
    sources only) or `<style>`, which plain pages may hold."""
    if name == "style":
        unsafe.append((k, "<style> element", EMBED))
        return
    if name not in _EMBED_TAGS:
        unsafe.append((k, f"<{name}> element", SCRIPT))
        return
    if tag is not None and tag.group(3):
        for a in _ATTR.finditer(body, tag.start(3), tag.end(3)):
            value = (
                a.group(2) if a.group(2) is not None else a.group(3) if a.group(3) is not None else a.group(4)
            )
            if value is None or a.group(1).lower() not in _EMBED_SRC:
                continue
            url = _URL_JUNK.sub("", html.unescape(value)).lower()
            if not (url.startswith(("https:", "//")) or not _HAS_SCHEME.match(url)):
                unsafe.append((k, f"<{name}> element with a source that is not https", SCRIPT))
                return
    unsafe.append((k, f"<{name}> element", EMBED))


_HAS_SCHEME = re.compile(r"[a-z][a-z0-9+.-]*:")


def _attributes(body: str, tag: re.Match, raw: list[tuple], unsafe: list[tuple], ids: list[str]) -> None:
    """Event handlers and URL attributes of one opening tag, and the anchor it makes (`id`,
    an `<a>`'s `name`: what MkDocs' anchor validation counts)."""
    for a in _ATTR.finditer(body, tag.start(3), tag.end(3)):
        g = 2 if a.group(2) is not None else 3 if a.group(3) is not None else 4
        if a.group(g) is None:
            continue
        name = a.group(1).lower()
        if name == "id" or (name == "name" and tag.group(2).lower() == "a"):
            ids.append(html.unescape(a.group(g)))
        elif name.startswith("on") and len(name) > 2:
            unsafe.append((a.start(), f"inline event handler {name}=", SCRIPT))
        elif name in _URL_ATTRS:
            url = a.group(g)
            _check_url(url, a.start(g), unsafe)
            if name in _LINK_ATTRS:
                raw.append((tag.start(), tag.end(), LinkKind.HTML, url, None, a.start(g)))


def _check_url(url: str, at: int, unsafe: list[tuple]) -> None:
    """Record a javascript:/data:/vbscript: URL, however it is disguised."""
    if ":" not in url and "&" not in url:
        return
    clean = _URL_JUNK.sub("", html.unescape(url) if "&" in url else url).lower()
    for scheme in _BAD_SCHEMES:
        if clean.startswith(scheme):
            unsafe.append((at, f"{scheme} URL", SCRIPT))
            return


def _links(body: str, raw: list[tuple]) -> tuple[Link, ...]:
    """Link records in body order from (start, end, kind, text, label, url offset) tuples."""
    out = []
    line, last = 1, 0
    for start, end, kind, text, label, _at, *_ in sorted(raw, key=itemgetter(0, 5)):
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


def _unsafe(body: str, found: list[tuple]) -> tuple[Unsafe, ...]:
    out = []
    for at, what, kind in sorted(set(found)):
        out.append(Unsafe(body.count("\n", 0, at) + 1, at - body.rfind("\n", 0, at), what, kind))
    return tuple(out)


def _headings(
    body: str, heads: list[tuple], attrs: bool = True, own: dict[int, tuple[str, bool]] | None = None
) -> tuple[Heading, ...]:
    """Heading records with toc ids and whether their sections hold anything. `own` gives some
    heads their own id, with whether toc sees it: `<hN id=...>` in raw HTML keeps its id and toc
    never sees it; one inside markdown="1" HTML toc sees."""
    texts = [heading_text(h[1], h[2], attrs) for h in heads]
    if own:
        for i, (anchor, _seen) in own.items():
            texts[i] = (texts[i][0], anchor)
        used = {c for i, (_, c) in enumerate(texts) if c is not None and own.get(i, ("", True))[1]}
    else:
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
