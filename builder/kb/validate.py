"""Stage 2 — validate: each document against its collection's schema, and loop sections.

Pure: no git, no MkDocs, no Jinja2. Works document by document, so a bad file never stops
the others from being checked. What it accepts becomes the document's typed record
(`Document.info`: `LoopInfo`, `ProductInfo`, `PrincipleInfo`, `PageInfo`), made here once;
every later stage reads the record, not the raw frontmatter.
"""

from __future__ import annotations

import datetime as dt
import difflib
import re
from collections.abc import Iterable
from dataclasses import replace
from typing import Any

from kb import mdconfig
from kb.checks import loop_place, loop_sections, stale, too_deep, unsafe_body
from kb.findings import Finding, Severity, finding
from kb.model import (
    Collection,
    Document,
    Feedback,
    Info,
    Interface,
    LoopInfo,
    PageInfo,
    PrincipleInfo,
    ProductInfo,
    Stage,
    Status,
    set_info,
)
from kb.schema import ID_RE, SCHEMAS, Field, Kind, fields_of
from kb.settings import Settings
from kb.values import InvalidDate, as_date, is_date, shown

PAGE_NAME_RE = re.compile(r"[A-Za-z0-9_.-]+\Z")
DATE_RE = re.compile(r"\d{4}-\d{2}-\d{2}\Z")
MARKUP_RE = re.compile(r"<[A-Za-z/!?]|&#?\w+;")
UNSAFE_SCHEME_RE = re.compile(r"(javascript|vbscript|data):", re.I)
_CONTROL = re.compile(r"[\x00-\x20]+")
#: Characters no frontmatter string may hold: C0/C1 controls but tab and newline, and the two
#: non-characters. They are invisible, and XML (the feeds) cannot carry them at all.
INVISIBLE_RE = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\ufffe\uffff]")
#: `template` and `icon` name a file of the theme; MkDocs and Material load it as a template.
THEME_FILE_RE = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]*(?:/[A-Za-z0-9_][A-Za-z0-9_.-]*)*\Z")
THEME_FILES = ("template", "icon")

#: Enum members read in hot loops, bound once: on Python 3.11 `Kind.X` costs ~0.1 µs a read
#: (the enum metaclass's attribute lookup), as much as the check it serves.
_PAGE, _CHOICE, _ID, _LINE = Collection.PAGE, Kind.CHOICE, Kind.ID, Kind.LINE


def validate(docs: Iterable[Document], settings: Settings, today: dt.date) -> list[Finding]:
    """Findings for every document: its name, frontmatter fields, body safety, loop sections.
    Each readable document gets its record (`Document.info`) on the way."""
    out: list[Finding] = []
    for doc in docs:
        out.extend(check_document(doc, settings, today))
    return out


def check_document(doc: Document, settings: Settings, today: dt.date) -> list[Finding]:
    before, _, after = check_lasting(doc, settings)
    return before + check_dated(doc, settings, today) + after


def check_lasting(doc: Document, settings: Settings) -> tuple[list[Finding], set[str] | None, list[Finding]]:
    """What `check_document` finds that depends on the document and the settings alone, not on
    the day: the findings that come before the dated ones (`check_dated`) and those after, and
    the fields rejected (None for a document that could not be read). Split so that
    `kb.load_cache` can keep these across days and count only the days again."""
    found = _check_name(doc)
    if doc.scan.unsafe:
        found.extend(unsafe_body(doc, strict_embeds=not settings.allow_embeds))
    if doc.scan.deep is not None:
        found.append(too_deep(doc))
    if not doc.readable:
        return found, None, []
    rejected: set[str] = set()
    found.extend(_check_fields(doc, rejected))
    if doc.collection is _PAGE and "icon" in doc.front.data and "icon" not in rejected:
        found.extend(_theme_icon(doc, settings, rejected))
    set_info(doc, record(doc, rejected))
    if _maybe_in_strings(doc):
        found.extend(_markup_in_strings(doc))
        found.extend(_invisible_in_strings(doc))
    if doc.collection is not _LOOP:
        return found, rejected, []
    found.extend(loop_sections(doc))
    return found, rejected, loop_place(doc)


def check_dated(doc: Document, settings: Settings, today: dt.date) -> list[Finding]:
    """The findings that count days up to `today` (KB602), after `check_lasting` gave the
    document its record."""
    if doc.collection is _LOOP and doc.readable:
        return stale(doc, settings, today)
    return []


def reads_outside(doc: Document) -> bool:
    """Whether validating `doc` reads more than the document and the settings: a page's
    `icon:` is looked up among the theme's files (`_theme_icon`)."""
    return doc.collection is _PAGE and doc.readable and "icon" in doc.front.data


_LOOP = Collection.LOOP
#: What `type:` means to kb: a collection's name. A page's other `type` is another
#: generator's (Hugo's and Docsy's `type: docs` picks a layout) and nothing to kb or MkDocs.
_COLLECTIONS = frozenset(c.value for c in Collection)


def _theme_icon(doc: Document, settings: Settings, rejected: set[str]) -> list[Finding]:
    """A page's `icon:` must name one of the theme's icons: Material includes
    `.icons/<icon>.svg` into every page that shows the page in the nav, and MkDocs stops the
    whole build on one it cannot find. GitBook writes Font Awesome's bare names (`hand-wave`),
    which Material spells with their set (`fontawesome/solid/hand-wave`, `material/hand-wave`).
    Such an icon is left out of the page (so the site builds) and reported as a warning."""
    icon = doc.front.data["icon"]
    folders = mdconfig.icon_dirs(settings.root)
    if type(icon) is not str or folders is None or mdconfig.icon_exists(folders, icon):
        return []
    rejected.add("icon")
    line, col = doc.front.value_pos("icon")
    name = icon.rsplit("/", 1)[-1]
    close = [
        f"{theme_set}/{name}"
        for theme_set in (
            "fontawesome/solid",
            "fontawesome/regular",
            "fontawesome/brands",
            "material",
            "octicons",
            "simple",
        )
        if mdconfig.icon_exists(folders, f"{theme_set}/{name}")
    ]
    hint = (
        f"did you mean '{close[0]}'? "
        if close
        else "write one of the theme's icons, such as 'material/book'; "
    ) + "the page is shown without it"
    return [
        replace(
            finding(
                doc.path, line, col, "KB204", f"'icon' names no icon of the theme: '{shown(icon)}'", hint
            ),
            severity=Severity.WARNING,
        )
    ]


def _maybe_in_strings(doc: Document) -> bool:
    """Whether `_markup_in_strings` or `_invisible_in_strings` could find anything: markup
    needs a `<` or `&`, and every character `INVISIBLE_RE` matches is unprintable. Three
    string scans over all scalars joined rule both out for almost every document, instead
    of two regex searches per scalar (a regex with alternatives has no fast scan)."""
    joined = " ".join([s.raw for s in doc.front.scalars.values()])
    return "<" in joined or "&" in joined or not joined.isprintable()


def _check_name(doc: Document) -> list[Finding]:
    if doc.collection is _PAGE:
        if PAGE_NAME_RE.match(doc.id):
            return []
        bad = finding(
            doc.path,
            1,
            1,
            "KB301",
            f"file name '{doc.id}.md' has spaces or odd characters",
            f"rename it to '{slug(doc.id)}.md'",
        )
        return [replace(bad, severity=Severity.WARNING)]
    if ID_RE.match(doc.id):
        return []
    return [
        finding(
            doc.path,
            1,
            1,
            "KB301",
            f"file name '{doc.id}' is not a valid id",
            f"use lowercase kebab-case: '{slug(doc.id)}.md'",
        )
    ]


def about(field: Field) -> str:
    """A field's description to go inside a hint: "person or team accountable" (no capital,
    no full stop; a name in it, "The document's name", keeps its article)."""
    text = field.doc.rstrip(". ")
    return text[:1].lower() + text[1:]


def _items(n: int) -> str:
    return "one item" if n == 1 else f"{n} items"


def slug(text: str) -> str:
    """A lowercase kebab-case id for any text (used for hints and `kb new`)."""
    import unicodedata

    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-") or "untitled"


def _check_fields(doc: Document, rejected: set[str]) -> list[Finding]:
    """Each field against its schema; the names of fields whose value has a finding go into
    `rejected`, for `record`. Strings and lists of strings that pass, which is nearly all of
    them, are recognized inline (`_text_fine`, `_texts_fine`): the general path through
    `_check_value` costs several calls per value."""
    schema, required = _schema(doc.collection)
    meta = doc.front.data
    found: list[Finding] = []
    for key, value in meta.items():
        field = schema.get(key)
        if field is None:
            if doc.collection is not _PAGE:
                found.append(_unknown(doc, (key,), key, schema))
            elif type(key) is str and (near := near_miss(key, schema)) is not None:
                found.append(_near_miss(doc, key, near))
            continue
        kind = field.kind
        if type(value) is str:
            if kind in _TEXT_KINDS and _text_fine(doc, field, value):
                continue
            if key == "type" and doc.collection is _PAGE and value not in _COLLECTIONS:
                continue  # another generator's type (Hugo's `type: docs`), not a collection
        elif type(value) is list and kind in _LIST_KINDS and _texts_fine(field, value):
            continue
        problems = _check_value(doc, field, value, (key,))
        if problems:
            rejected.add(key)
            found.extend(problems)
    for field in required:
        if field.name not in meta and not _has_default(doc, field):
            found.append(
                finding(
                    doc.path,
                    1,
                    1,
                    "KB201",
                    f"required field '{field.name}' is missing",
                    f"add '{field.name}:' to the frontmatter ({about(field)})",
                )
            )
    return found


#: Kinds whose valid values are strings checked by `_check_text` alone, and kinds of lists
#: whose items are (`_check_list` checks each item as `Kind.TEXT`).
_TEXT_KINDS = frozenset({Kind.TEXT, Kind.LINE, Kind.CHOICE, Kind.ID})
_LIST_KINDS = frozenset({Kind.TEXTS, Kind.IDS})
_SCHEMAS: dict[Collection, tuple[dict[str, Field], tuple[Field, ...]]] = {}


def _schema(collection: Collection) -> tuple[dict[str, Field], tuple[Field, ...]]:
    """A collection's fields by name, and its required fields: built once, not per document."""
    known = _SCHEMAS.get(collection)
    if known is None:
        fields = SCHEMAS[collection]
        known = _SCHEMAS[collection] = (fields_of(collection), tuple(f for f in fields if f.required))
    return known


def _texts_fine(field: Field, value: list) -> bool:
    """Whether `_check_list` finds nothing in a list of strings: enough items, none blank
    (items are checked as `Kind.TEXT`, whose only other checks concern fields named `type`,
    `template` or `icon`)."""
    if len(value) < field.min_items or field.name == "type" or field.name in THEME_FILES:
        return False
    for item in value:
        if type(item) is not str or not item.strip():
            return False
    return True


def _has_default(doc: Document, field: Field) -> bool:
    """A plain page never needs a title: MkDocs takes it from the first heading, else from
    the file name (`Document.title`)."""
    return doc.collection is Collection.PAGE and field.name == "title"


def near_miss(key: str, known: Iterable[str]) -> str | None:
    """The known key `key` is a typo of, if any: the same key in another case, or one edit
    away (a transposition counts as one; two edits for keys over four letters). A page may
    carry keys kb does not know (MkDocs hands them to templates; `data_source`, `weight`,
    `hide_sidebar` from earlier generators), so only such near misses are reported."""
    folded = key.casefold()
    best: tuple[int, str] | None = None
    for name in known:
        if name == key:
            return None
        limit = 1 if len(name) <= 4 else 2
        if abs(len(name) - len(folded)) > limit:
            continue
        distance = _edits(folded, name, limit)
        if distance <= limit and (best is None or distance < best[0]):
            best = (distance, name)
    return best[1] if best else None


def _edits(a: str, b: str, limit: int) -> int:
    """Optimal string alignment distance (insert, delete, substitute, swap neighbours),
    or `limit + 1` once it is certain to exceed `limit`."""
    previous2: list[int] = []
    previous = list(range(len(b) + 1))
    for i in range(1, len(a) + 1):
        row = [i] + [0] * len(b)
        for j in range(1, len(b) + 1):
            cost = 0 if a[i - 1] == b[j - 1] else 1
            row[j] = min(previous[j] + 1, row[j - 1] + 1, previous[j - 1] + cost)
            if i > 1 and j > 1 and a[i - 1] == b[j - 2] and a[i - 2] == b[j - 1]:
                row[j] = min(row[j], previous2[j - 2] + 1)
        if min(row) > limit:
            return limit + 1
        previous2, previous = previous, row
    return previous[-1]


def _near_miss(doc: Document, key: str, close: str) -> Finding:
    line, col = doc.front.key_pos(key)
    return replace(
        finding(
            doc.path,
            line,
            col,
            "KB202",
            f"unknown field '{shown(key)}'",
            f"did you mean '{close}'? kb reads '{close}'; a page's other keys go to templates",
        ),
        severity=Severity.WARNING,
    )


def _unknown(doc: Document, path: tuple, key: str, known: dict[str, Field]) -> Finding:
    line, col = doc.front.key_pos(*path)
    close = difflib.get_close_matches(key, list(known), n=1, cutoff=0.6)
    hint = f"did you mean '{close[0]}'?" if close else "known fields: " + ", ".join(known)
    return finding(doc.path, line, col, "KB202", f"unknown field '{shown(key)}'", hint)


def _check_value(doc: Document, field: Field, value: Any, path: tuple) -> list[Finding]:
    kind = field.kind
    if kind is Kind.ANY:
        return []
    if kind in (Kind.TEXTS, Kind.IDS, Kind.OBJECTS):
        return _check_list(doc, field, value, path)
    if kind is Kind.MAPPING:
        return [] if isinstance(value, dict) else [_wrong(doc, path, field, value, "a mapping")]
    return _check_scalar(doc, field, value, path)


def _check_scalar(doc: Document, field: Field, value: Any, path: tuple) -> list[Finding]:
    kind = field.kind
    if kind is Kind.INT:
        ok = isinstance(value, int) and not isinstance(value, bool)
        return [] if ok else [_wrong(doc, path, field, value, "an integer")]
    if kind is Kind.BOOL:
        return [] if isinstance(value, bool) else [_wrong(doc, path, field, value, "true or false")]
    if kind is Kind.DATE:
        return _check_date(doc, field, value, path)
    if not isinstance(value, str) or isinstance(value, InvalidDate):
        return [_wrong(doc, path, field, value, "text")]
    return _check_text(doc, field, value, path)


def _check_text(doc: Document, field: Field, value: str, path: tuple) -> list[Finding]:
    """Most strings pass every check, so they are tried first on their own, and the position
    and the dotted name a message needs are worked out only when there is one to report."""
    if _text_fine(doc, field, value):
        return []
    return _text_problems(doc, field, value, path)


def _text_fine(doc: Document, field: Field, value: str) -> bool:
    """Whether `_text_problems` finds nothing: exactly the negation of each of its checks."""
    kind = field.kind
    return bool(
        value.strip()
        and (field.name != "type" or value in field.choices)
        and (kind is not _CHOICE or value in field.choices)
        and (kind is not _ID or ID_RE.match(value))
        and (field.name not in THEME_FILES or doc.collection is not _PAGE or THEME_FILE_RE.match(value))
        and (kind is not _LINE or "\n" not in value.strip() or _breaks_fine(doc, field))
        and (not field.max_len or len(value) <= field.max_len)
        and (not field.url or not UNSAFE_SCHEME_RE.match(_CONTROL.sub("", value)))
    )


def _text_problems(doc: Document, field: Field, value: str, path: tuple) -> list[Finding]:
    line, col = doc.front.value_pos(*path)
    name = shown(".".join(str(p) for p in path))
    if not value.strip():
        return [
            finding(
                doc.path, line, col, "KB204", f"'{name}' is blank", f"write the {field.name}: {about(field)}"
            )
        ]
    if field.name == "type" and value not in field.choices:
        return [
            finding(
                doc.path,
                line,
                col,
                "KB204",
                f"'type' is '{shown(value)}' but the file is a {doc.collection.value}",
                "its folder decides the collection: remove 'type:' or move the file",
            )
        ]
    if field.kind is Kind.CHOICE and value not in field.choices:
        return [
            finding(
                doc.path,
                line,
                col,
                "KB204",
                f"'{name}' must be one of {', '.join(field.choices)}, not '{shown(value)}'",
                _did_you_mean(value, field.choices),
            )
        ]
    if field.kind is Kind.ID and not ID_RE.match(value):
        return [
            finding(
                doc.path,
                line,
                col,
                "KB204",
                f"'{name}' is not a valid id: '{shown(value)}'",
                f"ids are lowercase kebab-case, e.g. '{slug(value)}'",
            )
        ]
    if field.name in THEME_FILES and doc.collection is Collection.PAGE and not THEME_FILE_RE.match(value):
        return [
            finding(
                doc.path,
                line,
                col,
                "KB204",
                f"'{name}' is not the name of a theme file: '{shown(value)}'",
                f"write a name such as {'main.html' if name == 'template' else 'material/book'}, "
                "without '..' or a leading '/'",
            )
        ]
    if field.kind is Kind.LINE and "\n" in value.strip() and not _breaks_fine(doc, field):
        return [
            finding(
                doc.path,
                line,
                col,
                "KB204",
                f"'{name}' must be a single line",
                "remove the line breaks, or use the body for longer text",
            )
        ]
    if field.max_len and len(value) > field.max_len:
        return [
            finding(
                doc.path,
                line,
                col,
                "KB204",
                f"'{name}' is {len(value)} characters, over {field.max_len}",
                "shorten it; the body has room for the rest",
            )
        ]
    if field.url and UNSAFE_SCHEME_RE.match(_CONTROL.sub("", value)):
        return [
            finding(
                doc.path,
                line,
                col,
                "KB409",
                f"unsafe URL scheme in '{name}'",
                "link to an http(s) page instead",
            )
        ]
    return []


def _check_date(doc: Document, field: Field, value: Any, path: tuple) -> list[Finding]:
    if is_date(value):
        return []
    line, col = doc.front.value_pos(*path)
    if isinstance(value, InvalidDate) or (isinstance(value, str) and DATE_RE.match(value)):
        try:
            dt.date.fromisoformat(str(value))
            return []
        except ValueError:
            return [
                finding(
                    doc.path,
                    line,
                    col,
                    "KB204",
                    f"'{path[0]}' is not a calendar date: '{shown(value)}'",
                    "write a real date as YYYY-MM-DD",
                )
            ]
    if isinstance(value, dt.datetime):
        return [
            finding(
                doc.path,
                line,
                col,
                "KB204",
                f"'{path[0]}' has a time of day",
                "write the date alone, as YYYY-MM-DD",
            )
        ]
    return [_wrong(doc, path, field, value, "a date (YYYY-MM-DD)")]


def _check_list(doc: Document, field: Field, value: Any, path: tuple) -> list[Finding]:
    if not isinstance(value, list):
        wrong = _wrong(doc, path, field, value, "a list")
        if isinstance(value, str):
            wrong = replace(wrong, hint=f"write it as a list: {path[-1]}: [{shown(value)}]")
        return [wrong]
    found: list[Finding] = []
    if len(value) < field.min_items:
        line, col = doc.front.value_pos(*path)
        found.append(
            finding(
                doc.path,
                line,
                col,
                "KB204",
                f"'{path[-1]}' needs at least {_items(field.min_items)}",
                f"list {about(field)}",
            )
        )
    if field.kind is Kind.OBJECTS:
        for i, item in enumerate(value):
            found.extend(_check_object(doc, field, item, (*path, i)))
    else:
        item_field = _item_field(field)
        for i, item in enumerate(value):
            found.extend(_check_scalar(doc, item_field, item, (*path, i)))
    return found


#: id(list field) -> (the field, the TEXT field its items are checked as). Built once per
#: field rather than once per item; the field is kept so that its id is never reused.
_ITEM_FIELDS: dict[int, tuple[Field, Field]] = {}


def _item_field(field: Field) -> Field:
    known = _ITEM_FIELDS.get(id(field))
    if known is None:
        known = _ITEM_FIELDS[id(field)] = (field, Field(field.name, Kind.TEXT, field.doc))
    return known[1]


def _check_object(doc: Document, field: Field, item: Any, path: tuple) -> list[Finding]:
    if not isinstance(item, dict):
        return [_wrong(doc, path, field, item, "a mapping of " + ", ".join(f.name for f in field.fields))]
    known = _subfields(field)
    found: list[Finding] = []
    for key, value in item.items():
        sub = known.get(key)
        if sub is None:
            found.append(_unknown(doc, (*path, key), key, known))
        elif type(value) is not str or sub.kind not in _TEXT_KINDS or not _text_fine(doc, sub, value):
            found.extend(_check_value(doc, sub, value, (*path, key)))
    for sub in field.fields:
        if sub.required and sub.name not in item:
            line, col = doc.front.value_pos(*path)
            found.append(
                finding(
                    doc.path,
                    line,
                    col,
                    "KB201",
                    f"'{path[0]}' item {path[-1] + 1} is missing '{sub.name}'",
                    f"add '{sub.name}:' ({about(sub)})",
                )
            )
    return found


#: id(objects field) -> (the field, its subfields by name), built once per field.
_SUBFIELDS: dict[int, tuple[Field, dict[str, Field]]] = {}


def _subfields(field: Field) -> dict[str, Field]:
    known = _SUBFIELDS.get(id(field))
    if known is None:
        known = _SUBFIELDS[id(field)] = (field, {f.name: f for f in field.fields})
    return known[1]


_TYPE_NAMES = {
    bool: "a boolean",
    int: "a number",
    float: "a decimal number",
    list: "a list",
    dict: "a mapping",
    type(None): "empty (null)",
    dt.date: "a date",
    dt.datetime: "a date and time",
    InvalidDate: "a date",
}


def _wrong(doc: Document, path: tuple, field: Field, value: Any, expected: str) -> Finding:
    line, col = doc.front.value_pos(*path)
    got = _TYPE_NAMES.get(type(value), "text")
    name = shown(".".join(str(p) for p in path))
    scalar = doc.front.scalars.get(path)
    hint = ""
    if value is None:
        hint = f"give '{name}' a value or remove the line"
    elif field.kind is Kind.CHOICE:
        hint = "write one of " + ", ".join(field.choices)
    elif scalar is not None and expected == "text" and not scalar.quoted:
        hint = f"YAML reads '{shown(scalar.raw)}' as {got}; quote it: \"{shown(scalar.raw)}\""
    return finding(doc.path, line, col, "KB203", f"'{name}' is {got}, expected {expected}", hint)


#: A page's keys whose line breaks nobody sees: MkDocs and Material write `description` into a
#: `<meta name="description">` attribute, where a line break is a space (`description: |`).
_BREAKS_FINE = frozenset({"description"})


def _breaks_fine(doc: Document, field: Field) -> bool:
    return doc.collection is _PAGE and field.name in _BREAKS_FINE


def _did_you_mean(value: str, choices: Iterable[str]) -> str:
    close = difflib.get_close_matches(value.lower(), list(choices), n=1, cutoff=0.5)
    return f"did you mean '{close[0]}'?" if close else ""


def _markup_in_strings(doc: Document) -> list[Finding]:
    """KB410: HTML in frontmatter strings is shown as text, which surprises the writer. A
    page's keys of its own are not shown by kb at all (templates may use them), nor checked."""
    found = []
    known = _schema(doc.collection)[0]
    for path, scalar in doc.front.scalars.items():
        if (
            scalar.tag == "str"
            and path
            and path[0] in known
            and path[0] != "extra"
            and MARKUP_RE.search(scalar.raw)
        ):
            line, col = doc.front.value_pos(*path)
            name = shown(".".join(str(p) for p in path))
            found.append(
                finding(
                    doc.path,
                    line,
                    col,
                    "KB410",
                    f"markup in '{name}' is shown as text",
                    "frontmatter is plain text; put formatting in the body",
                )
            )
    return found


def _invisible_in_strings(doc: Document) -> list[Finding]:
    """KB204: control characters (written with YAML escapes such as \\a or \\x1b) in a string."""
    found = []
    for path, scalar in doc.front.scalars.items():
        if scalar.tag != "str" or not path or path[0] == "extra":
            continue
        bad = INVISIBLE_RE.search(scalar.raw)
        if bad:
            line, col = doc.front.value_pos(*path)
            name = shown(".".join(str(p) for p in path))
            found.append(
                finding(
                    doc.path,
                    line,
                    col,
                    "KB204",
                    f"'{name}' holds the control character U+{ord(bad.group()):04X}",
                    "remove it: it is invisible, and feeds (XML) cannot carry it",
                )
            )
    return found


# -- records: what validate accepted, typed --------------------------------------------------

#: A page's keys passed through to the renderer (MkDocs, Material) when their values are valid.
RENDERER_KEYS = ("description", "hide", "icon", "status", "subtitle", "template", "search", "comments")


def record(doc: Document, rejected: set[str]) -> Info:
    """The document's record: a field validate rejected (`rejected`) reads as absent; of a
    rejected list, the items it accepts are kept, so a build without `--strict` shows what is
    valid. A field not rejected is valid whole, so it is taken as it is, without a second look."""
    data = doc.front.data
    collection = doc.collection
    if collection is _LOOP:
        return _valid_loop(data) if not rejected else _loop_info(doc, data, rejected)
    if collection is Collection.PRODUCT:
        return _product_info(doc, data, rejected)
    if collection is Collection.PRINCIPLE:
        return PrincipleInfo(
            _scalar(data, "summary", rejected) or "",
            _scalar(data, "order", rejected),
            _strs(data, "aliases", rejected),
            _strs(data, "related", rejected),
            _strs(data, "tags", rejected),
        )
    known = _schema(Collection.PAGE)[0]
    return PageInfo(
        _scalar(data, "summary", rejected) or "",
        _strs(data, "tags", rejected),
        {key: data[key] for key in RENDERER_KEYS if key in data and key not in rejected},
        {
            key: value
            for key, value in data.items()
            if type(key) is str and key not in known and not key.startswith("kb_")
        },
    )


def _valid_loop(data: Any) -> LoopInfo:
    """A loop whose every field validate accepted, which is nearly every loop (and a large
    handbook is mostly loops): each value is taken as it is, in one call."""
    get = data.get
    feedback = get("feedback")
    return LoopInfo(
        as_date(get("date")),
        _STAGES.get(get("stage")),
        tuple(get("principles") or ()),
        get("product"),
        tuple(get("authors") or ()),
        get("follows"),
        tuple([Feedback(f["source"], f["quote"], f.get("url")) for f in feedback]) if feedback else (),
        tuple(get("tags") or ()),
    )


def _loop_info(doc: Document, data: Any, rejected: set[str]) -> LoopInfo:
    stage = _scalar(data, "stage", rejected)
    return LoopInfo(
        as_date(_scalar(data, "date", rejected)),
        _STAGES.get(stage) if type(stage) is str else None,
        _strs(data, "principles", rejected),
        _scalar(data, "product", rejected),
        _strs(data, "authors", rejected),
        _scalar(data, "follows", rejected),
        tuple(_feedback(doc, data.get("feedback"))),
        _strs(data, "tags", rejected),
    )


def _product_info(doc: Document, data: Any, rejected: set[str]) -> ProductInfo:
    status = _scalar(data, "status", rejected)
    return ProductInfo(
        _scalar(data, "summary", rejected) or "",
        _scalar(data, "problem", rejected) or "",
        _strs(data, "users", rejected),
        _scalar(data, "owner", rejected) or "",
        _STATUSES.get(status) if type(status) is str else None,
        tuple(_interfaces(doc, data.get("interfaces"))),
        _strs(data, "depends_on", rejected),
        _strs(data, "consumes", rejected),
        _strs(data, "alternatives", rejected),
        _strs(data, "non_goals", rejected),
        _strs(data, "principles", rejected),
        _strs(data, "tags", rejected),
    )


_STAGES = {s.value: s for s in Stage}
_STATUSES = {s.value: s for s in Status}


def _scalar(data: Any, key: str, rejected: set[str]) -> Any:
    """A scalar field's value, or None when it is missing or validate rejected it."""
    return None if key in rejected else data.get(key)


def _strs(data: Any, key: str, rejected: set[str]) -> tuple[str, ...]:
    """A list field's items validate accepts: all of an accepted list, else its non-blank
    strings (the items' only check; ids are resolved, and reported, by link)."""
    value = data.get(key)
    if key not in rejected:
        return tuple(value) if value else ()
    if type(value) is not list:
        return ()
    return tuple([v for v in value if type(v) is str and v.strip()])


def _fine(doc: Document, fields: dict[str, Field], item: dict, key: str) -> str | None:
    """A string subfield of an object item, if `_check_object` would accept it."""
    value = item.get(key)
    if type(value) is str and _text_fine(doc, fields[key], value):
        return value
    return None


def _feedback(doc: Document, value: Any) -> list[Feedback]:
    if type(value) is not list:
        return []
    subs = _subfields(_schema(Collection.LOOP)[0]["feedback"])
    out = []
    for item in value:
        if type(item) is dict and (said := _fine(doc, subs, item, "quote")) is not None:
            out.append(Feedback(_fine(doc, subs, item, "source") or "", said, _fine(doc, subs, item, "url")))
    return out


def _interfaces(doc: Document, value: Any) -> list[Interface]:
    if type(value) is not list:
        return []
    subs = _subfields(_schema(Collection.PRODUCT)[0]["interfaces"])
    out = []
    for item in value:
        if type(item) is dict and (called := _fine(doc, subs, item, "name")) is not None:
            out.append(
                Interface(
                    called,
                    _fine(doc, subs, item, "kind") or "",
                    _fine(doc, subs, item, "description") or "",
                )
            )
    return out
