"""Heading text and anchors exactly as Python-Markdown makes them (toc's slugify and
`unique()`, attr_list's `{#id}`), so every anchor kb checks exists on the built page."""

from __future__ import annotations

import html
import re
import unicodedata
from collections.abc import Callable
from functools import lru_cache, partial
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from kb.mdconfig import MarkdownConfig

_CODE_SPAN = re.compile(r"(?<!`)(`++)(.*?)(?<!`)\1(?!`)")

# Heading text (strip_inline).
_LONG_HEADING = 2000
_ATTR_LIST = re.compile(r"[ ]+\{:?[ ]*([^}\n ][^\n]*)\}[ ]*$")
_ATTR_TOKEN = re.compile(r"""[^ =}]+=".*?"|[^ =}]+='.*?'|[^ =}]+=[^ =}]+|[^ =}]+| """)
_MARKUP = re.compile(r"[*_`\[<&\\!]")
_ESCAPE = re.compile(r"\\([\\`*_{}\[\]()>#+\-.!])")  # Python-Markdown's escapable characters
_LONE_STARS = re.compile(r"(?:(?<=\s)|^)(\*{1,3}|_{1,3})(?=\s|$)")  # Python-Markdown: not emphasis
_UNESCAPE = {0xE000 + c: chr(c) for c in range(33, 127)} | {2: None, 3: None}
#: A code span's place while the rest of a heading is stripped (supplementary private use area).
_CODE_BASE = 0xF0000
_CODE_PLACEHOLDER = re.compile("[\U000f0000-\U000ffffd]")
# Links, images and HTML become their text between STX and ETX, as Python-Markdown's placeholders
# do, so the emphasis patterns see a non-word character at their edges.
_INLINE_SUBS = (
    (re.compile(r"<!--.*?-->", re.S), "\x02\x03"),
    (re.compile(r"!\[(?:[^\[\]]|\[[^\[\]]*\])*\]\([^)]*\)"), "\x02\x03"),  # an <img>: no text
    (re.compile(r"\[\[([^\[\]|]*)\|([^\[\]]*)\]\]"), "\x02\\2\x03"),
    (re.compile(r"\[\[([^\[\]]*)\]\]"), "\x02\\1\x03"),
    (re.compile(r"\[((?:[^\[\]]|\[[^\[\]]*\])*)\](?:\([^)]*\)|\[[^\]]*\])"), "\x02\\1\x03"),
    (re.compile(r"</?[A-Za-z][^>]*>"), "\x02\x03"),
    (re.compile(r"(?<!\w)___(?!_)(.+?)(?<!_)___(?!\w)"), r"\1"),
    (re.compile(r"(?<!\w)__(?!_)(.+?)(?<!_)__(?!\w)"), r"\1"),
    (re.compile(r"(?<!\w)_(?!_)(.+?)(?<!_)_(?!\w)"), r"\1"),
    (re.compile(r"\*\*\*(.+?)\*\*\*"), r"\1"),
    (re.compile(r"\*\*(.+?)\*\*"), r"\1"),
    (re.compile(r"\*([^*]+)\*"), r"\1"),
)


@lru_cache(maxsize=8192)
def _toc_slugify(text: str) -> str:
    """Python-Markdown toc's default slugify (separator '-')."""
    value = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    value = re.sub(r"[^\w\s-]", "", value).strip().lower()
    return re.sub(r"[-\s]+", "-", value)


def toc_slugify(text: str, separator: str = "-", unicode: bool = False) -> str:
    """Python-Markdown toc's `slugify` / `slugify_unicode` with any separator."""
    if not unicode:
        text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    value = re.sub(r"[^\w\s-]", "", text).strip().lower()
    return re.sub(rf"[{re.escape(separator)}\s]+", separator, value)


_TAGS = re.compile(r"</?[^>]*>")
_INVALID_SLUG_CHAR = re.compile(r"[^\w\- ]")
_ASCII_UPPER = re.compile(r"[A-Z]")


def pymdownx_slugify(
    text: str, separator: str = "-", case: str = "none", percent: bool = False, normalize: str = "NFC"
) -> str:
    """pymdownx.slugs' `slugify(case=..., percent_encode=..., normalize=...)`: keeps Unicode
    letters (Cyrillic, Japanese...), so such headings get usable ids. Same steps, no import."""
    slug = _TAGS.sub("", unicodedata.normalize(normalize, text)).strip()  # type: ignore[arg-type]
    if case == "lower":
        slug = slug.lower()
    elif case == "lower-ascii":
        slug = _ASCII_UPPER.sub(lambda m: m.group(0).lower(), slug)
    elif case == "fold":
        slug = slug.casefold()
    slug = _INVALID_SLUG_CHAR.sub("", slug).replace(" ", separator)
    if percent:
        from urllib.parse import quote

        return quote(slug.encode("utf-8"))
    return slug


_slug: Callable[[str], str] = _toc_slugify


def slugify(text: str) -> str:
    """The heading id toc gives `text` under the configured slugify (see `configure`)."""
    return _slug(text)


def configure(config: MarkdownConfig) -> None:
    """Make `slugify` follow a configuration's toc `slugify` and `separator`."""
    global _slug
    sep = config.separator
    if config.slugify == "pymdownx":
        _slug = lru_cache(maxsize=8192)(
            partial(
                pymdownx_slugify,
                separator=sep,
                case=config.slug_case,
                percent=config.slug_percent,
                normalize=config.slug_normalize,
            )
        )
    elif config.slugify == "unicode" or sep != "-":
        _slug = lru_cache(maxsize=8192)(
            partial(toc_slugify, separator=sep, unicode=config.slugify == "unicode")
        )
    else:
        _slug = _toc_slugify


def strip_inline(text: str) -> str:
    """Plain text of an ATX heading's text: markup, attr lists and closing `#`s removed."""
    return heading_text(text, atx=True)[0]


@lru_cache(maxsize=8192)
def heading_text(raw: str, atx: bool, attrs: bool = True) -> tuple[str, str | None]:
    """Plain text and custom `{#id}` (None if none, or without attr_list: `attrs` false) of a
    heading's raw text."""
    if len(raw) > _LONG_HEADING:  # keep the regexes below linear on absurd input
        return " ".join(raw.split()), None
    # Python-Markdown drops closing `#`s only at the very end of the line.
    text = _drop_closing_hashes(raw) if atx and raw.endswith("#") else raw.strip()
    custom = None
    if attrs and "{" in text:
        text, custom = _attr_list(text)
    if _MARKUP.search(text):
        text = _strip_markup(text)
    return " ".join(text.split()), custom


def _drop_closing_hashes(text: str) -> str:
    """Drop trailing `#`s as Python-Markdown does (no space needed; `\\#` is kept)."""
    end = len(text.rstrip("#"))
    if end and text[end - 1] == "\\" and end < len(text):
        end += 1
    return text[:end].strip()


def _attr_list(text: str) -> tuple[str, str | None]:
    """Strip a trailing attr list as Python-Markdown's attr_list does; return (text, its id)."""
    m = _ATTR_LIST.search(text)
    if m is None:
        return text, None
    attrs = m.group(1)
    pos = 0
    found = None
    while pos < len(attrs) and (t := _ATTR_TOKEN.match(attrs, pos)) is not None and t.end() > pos:
        key, eq, value = t.group().partition("=")
        if key.startswith("#") and not eq:
            found = key[1:]
        elif key == "id" and eq:
            found = value.strip(value[:1]) if value[:1] in ("'", '"') else value
        pos = t.end()
    if "}" in attrs[pos:]:  # attr_list's strict mode: a stray `}` means this is no attr list
        return text, None
    return _drop_closing_hashes(text[: m.start()]), found


def _strip_markup(text: str) -> str:
    """Remove inline markup outside code spans; code span content is kept as is.

    Code spans go first, as in Python-Markdown: each becomes a placeholder between STX and ETX
    until the rest is stripped, so a link or emphasis around one (``[`prow`](url)``) is still
    seen whole and gives its text."""
    codes: list[str] = []

    def hide(m: re.Match[str]) -> str:
        codes.append(m.group(2).strip())
        return f"\x02{chr(_CODE_BASE + len(codes) - 1)}\x03"

    text = _strip_plain(_CODE_SPAN.sub(hide, text))
    if codes:
        text = _CODE_PLACEHOLDER.sub(lambda m: codes[ord(m.group()) - _CODE_BASE], text)
    return text


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


def unique(anchor: str, used: set[str], counters: dict[str, int]) -> str:
    """Python-Markdown toc's `unique()`: `x`, `x_1`, `x_2`; an empty id is never kept.

    `counters` remembers, per base id, the run of suffixes known to be taken, as toc does,
    so a heading repeated n times costs O(n) and not O(n²).
    """
    if anchor in used or not anchor:
        base, sep, num = anchor.rpartition("_")
        if sep and num.isdigit() and num.isascii():
            count = int(num)
        else:
            base, count = anchor, 0
        known = counters.get(base, 0)
        skip = count <= known or anchor == f"{base}_{known + 1}"
        if skip:
            count = max(count, known)
        count += 1
        while f"{base}_{count}" in used:
            count += 1
        anchor = f"{base}_{count}"
        if skip:
            counters[base] = count
    used.add(anchor)
    return anchor
