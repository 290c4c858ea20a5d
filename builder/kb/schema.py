"""One declarative schema per collection: the single source of what frontmatter holds.

The same field list drives validation (`kb.validate`), scaffolds (`kb new`, `kb next` and the
site's "new file" links, through `kb.scaffold`), the JSON Schema export (`kb schema`) and the
README's field tables (`field_tables`, held to the README by a test), so none of them can
disagree. Adding a field means adding one `Field` here; what a setting makes required is here
too (`REQUIRED_BY_SETTING`), so a scaffold written under that setting lints clean.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from enum import Enum
from typing import TYPE_CHECKING, Any

from kb.model import Collection, Stage, Status

if TYPE_CHECKING:
    from kb.settings import Settings

#: What an id is: lowercase kebab-case. Written once; validate, link and the JSON Schema use it.
ID_PATTERN = "[a-z0-9]+(?:-[a-z0-9]+)*"
#: `ID_PATTERN` matched against a whole string (use `.match`).
ID_RE = re.compile(ID_PATTERN + r"\Z")


class Kind(str, Enum):
    """The shape a field's value must have."""

    TEXT = "text"  # a non-blank string
    LINE = "line"  # a non-blank string on one line
    INT = "int"
    BOOL = "bool"
    DATE = "date"  # YYYY-MM-DD, bare or quoted
    CHOICE = "choice"  # one of `choices`
    ID = "id"  # an id of `ref`
    TEXTS = "texts"  # list of non-blank strings
    IDS = "ids"  # list of ids of `ref`
    OBJECTS = "objects"  # list of mappings with `fields`
    MAPPING = "mapping"  # any mapping (passed through untouched)
    ANY = "any"  # passed through to the renderer as it is


@dataclass(frozen=True)
class Field:
    """One frontmatter field: its name, shape, and what it means."""

    name: str
    kind: Kind
    doc: str
    required: bool = False
    choices: tuple[str, ...] = ()
    ref: Collection | None = None
    min_items: int = 0
    max_len: int = 0
    fields: tuple[Field, ...] = ()
    url: bool = False  # a URL: its scheme is checked (KB409)
    #: what `kb new` writes when no option gives a value ("today" for a date); "" for nothing
    initial: str = ""


TITLE = Field("title", Kind.LINE, "The document's name, as shown in titles and indexes.", True)
SUMMARY = Field("summary", Kind.LINE, "One line shown in every index.", True, max_len=200)
TAGS = Field("tags", Kind.TEXTS, "Free tags, each linking to its own page under tags/.")


def _type(collection: Collection) -> Field:
    """`type:` is optional, and when given it must name the file's own collection."""
    return Field("type", Kind.CHOICE, "Optional; must match the collection.", choices=(collection.value,))


EXTRA = Field("extra", Kind.MAPPING, "Anything of your own; kb does not check it.")
PRINCIPLES = Field("principles", Kind.IDS, "Principles practiced.", ref=Collection.PRINCIPLE)

PRINCIPLE: tuple[Field, ...] = (
    TITLE,
    SUMMARY,
    Field("order", Kind.INT, "Position in the principle index (then by title)."),
    Field("aliases", Kind.TEXTS, "Other names a wikilink may use ([[root cause]])."),
    Field("related", Kind.IDS, "Related principles.", ref=Collection.PRINCIPLE),
    TAGS,
    _type(Collection.PRINCIPLE),
    EXTRA,
)

INTERFACE_FIELDS = (
    Field("name", Kind.LINE, "The surface's name.", True),
    Field(
        "kind",
        Kind.CHOICE,
        "What kind of surface.",
        True,
        choices=("api", "cli", "ui", "file", "event", "other"),
    ),
    Field("description", Kind.TEXT, "What it offers.", True),
)

PRODUCT: tuple[Field, ...] = (
    TITLE,
    SUMMARY,
    Field("problem", Kind.TEXT, "The want or need it solves.", True),
    Field("users", Kind.TEXTS, "Who has that want or need.", True, min_items=1),
    Field("owner", Kind.LINE, "Person or team accountable.", True),
    Field(
        "status",
        Kind.CHOICE,
        "Where it is in its life.",
        True,
        choices=tuple(s.value for s in Status),
        initial=Status.IDEA.value,
    ),
    Field("interfaces", Kind.OBJECTS, "Its defined surfaces to other products.", fields=INTERFACE_FIELDS),
    Field("depends_on", Kind.IDS, "Products it combines with (reverse: used by).", ref=Collection.PRODUCT),
    Field("consumes", Kind.TEXTS, "Interfaces of other products it uses: product-id/interface-name."),
    Field("alternatives", Kind.TEXTS, "Product ids or free names it can be swapped with."),
    Field("non_goals", Kind.TEXTS, "What it deliberately does not do: its boundary."),
    PRINCIPLES,
    TAGS,
    _type(Collection.PRODUCT),
    EXTRA,
)

FEEDBACK_FIELDS = (
    Field("source", Kind.LINE, "Who or where the feedback came from.", True),
    Field("quote", Kind.TEXT, "What they said.", True),
    Field("url", Kind.LINE, "Where it can be read.", url=True),
)

LOOP: tuple[Field, ...] = (
    TITLE,
    Field("date", Kind.DATE, "When the cycle started.", True, initial="today"),
    Field(
        "stage",
        Kind.CHOICE,
        "The furthest step reached.",
        True,
        choices=tuple(s.value for s in Stage),
        initial=Stage.OBSERVE.value,
    ),
    Field(PRINCIPLES.name, Kind.IDS, PRINCIPLES.doc, True, ref=Collection.PRINCIPLE, min_items=1),
    Field("product", Kind.ID, "The product the cycle improves.", ref=Collection.PRODUCT),
    Field("authors", Kind.TEXTS, "Who did it; defaults to the file's git authors."),
    Field("follows", Kind.ID, "The cycle this one repeats from.", ref=Collection.LOOP),
    Field("feedback", Kind.OBJECTS, "The user feedback observed.", fields=FEEDBACK_FIELDS),
    TAGS,
    _type(Collection.LOOP),
    EXTRA,
)

PAGE: tuple[Field, ...] = (
    Field("title", Kind.LINE, "Its name; else the '# ' heading it opens with, else its file name.", True),
    Field("summary", Kind.LINE, "One line shown in indexes.", max_len=200),
    TAGS,
    _type(Collection.PAGE),
    EXTRA,
    Field("description", Kind.LINE, "Passed to the renderer (meta description)."),
    Field("hide", Kind.TEXTS, "Passed to Material: navigation, toc, footer, tags."),
    Field("icon", Kind.LINE, "Passed to Material."),
    Field("status", Kind.LINE, "Passed to Material (new, deprecated)."),
    Field("subtitle", Kind.LINE, "Passed to Material."),
    Field("template", Kind.LINE, "Passed to the renderer."),
    Field("search", Kind.MAPPING, "Passed to Material (search: {exclude: true})."),
    Field("comments", Kind.BOOL, "Passed to Material."),
)

SCHEMAS: dict[Collection, tuple[Field, ...]] = {
    Collection.PRINCIPLE: PRINCIPLE,
    Collection.PRODUCT: PRODUCT,
    Collection.LOOP: LOOP,
    Collection.PAGE: PAGE,
}


#: Settings that make an optional field required, with at least one item: setting → (collection,
#: field). Lint reports such a field missing under its own rule (KB414 for `non_goals`).
REQUIRED_BY_SETTING: dict[str, tuple[Collection, str]] = {
    "require_non_goals": (Collection.PRODUCT, "non_goals"),
}


def fields_of(collection: Collection) -> dict[str, Field]:
    """The collection's fields by name, as declared (no setting applied)."""
    return {f.name: f for f in SCHEMAS[collection]}


def fields_for(collection: Collection, settings: Settings | None) -> dict[str, Field]:
    """The collection's fields by name as a handbook's settings make them: a field named in
    `REQUIRED_BY_SETTING` is required (at least one item) where its setting is true."""
    fields = fields_of(collection)
    if settings is None:
        return fields
    for setting, (where, name) in REQUIRED_BY_SETTING.items():
        if where is collection and getattr(settings, setting) and name in fields:
            fields[name] = replace(fields[name], required=True, min_items=max(1, fields[name].min_items))
    return fields


def required_fields(collection: Collection, settings: Settings | None = None) -> list[Field]:
    """The fields a document of `collection` must have. A page needs none: MkDocs takes its
    title from its first heading, else from its file name."""
    if collection is Collection.PAGE:
        return []
    return [f for f in fields_for(collection, settings).values() if f.required]


def json_schema(collection: Collection, settings: Settings | None = None) -> dict[str, Any]:
    """The collection's frontmatter as JSON Schema (draft 2020-12), for editors; with
    `settings`, a field a setting requires is required."""
    fields = tuple(fields_for(collection, settings).values())
    schema = _object(fields, closed=True)
    if collection is Collection.PAGE:
        schema["required"] = []  # a page may take its title from its first heading
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": f"https://kb.invalid/schema/{collection.value}.json",
        "title": f"kb {collection.value} frontmatter",
        **schema,
    }


def _object(fields: tuple[Field, ...], closed: bool) -> dict[str, Any]:
    return {
        "type": "object",
        "properties": {f.name: _property(f) for f in fields},
        "required": [f.name for f in fields if f.required],
        "additionalProperties": not closed,
    }


_ID_PATTERN = f"^{ID_PATTERN}$"


def _property(f: Field) -> dict[str, Any]:
    prop: dict[str, Any] = {"description": f.doc}
    prop.update(_shape(f))
    return prop


def _shape(f: Field) -> dict[str, Any]:
    if f.kind in (Kind.TEXT, Kind.LINE):
        out: dict[str, Any] = {"type": "string", "minLength": 1}
        if f.max_len:
            out["maxLength"] = f.max_len
        return out
    if f.kind is Kind.CHOICE:
        return {"type": "string", "enum": list(f.choices)}
    if f.kind is Kind.ID:
        return {"type": "string", "pattern": _ID_PATTERN}
    if f.kind in (Kind.TEXTS, Kind.IDS):
        item = (
            {"type": "string", "pattern": _ID_PATTERN}
            if f.kind is Kind.IDS
            else {"type": "string", "minLength": 1}
        )
        return {"type": "array", "items": item, "minItems": f.min_items}
    if f.kind is Kind.OBJECTS:
        return {"type": "array", "items": _object(f.fields, closed=True)}
    simple = {
        Kind.INT: {"type": "integer"},
        Kind.BOOL: {"type": "boolean"},
        Kind.DATE: {"type": "string", "format": "date"},
        Kind.MAPPING: {"type": "object"},
    }
    return simple.get(f.kind, {})


# -- the README's field tables -------------------------------------------------------------

#: Where each collection's documents live, for the tables' headings.
_PLACES = {
    Collection.PRINCIPLE: "`content/principles/*.md`",
    Collection.PRODUCT: "`content/products/*.md`",
    Collection.LOOP: "`content/loops/YYYY/YYYY-MM-DD-slug.md`",
    Collection.PAGE: "any other `.md` file",
}


def field_tables() -> str:
    """The README's field tables, one per collection, written from the schema: the README
    holds this text between its `fields` markers, and a test fails when the two differ (so the
    README never describes a field the schema lacks, or misses one it has)."""
    parts = []
    for collection in SCHEMAS:
        rows = ["| field | value | required | meaning |", "|---|---|---|---|"]
        for f in SCHEMAS[collection]:
            rows.append(_row(collection, f, f"`{f.name}`"))
            for sub in f.fields:
                rows.append(_row(collection, sub, f"`{f.name}[].{sub.name}`"))
        parts.append(f"**{collection.value}** — {_PLACES[collection]}\n\n" + "\n".join(rows))
    return "\n\n".join(parts) + "\n"


def _row(collection: Collection, f: Field, name: str) -> str:
    return f"| {name} | {_value(f)} | {_requirement(collection, f)} | {f.doc} |"


def _requirement(collection: Collection, f: Field) -> str:
    if collection is Collection.PAGE and f.name == "title":
        return "no: the `# ` heading it opens with, else the file name"
    if f.required:
        return f"yes; `kb new` writes `{f.initial}`" if f.initial else "yes"
    settings = [s for s, (c, name) in REQUIRED_BY_SETTING.items() if c is collection and name == f.name]
    return f"with `{settings[0]}`" if settings else "no"


def _value(f: Field) -> str:
    """A field's shape in words, with its limits."""
    what = {
        Kind.TEXT: "text",
        Kind.LINE: "one line of text",
        Kind.INT: "integer",
        Kind.BOOL: "`true` or `false`",
        Kind.DATE: "date `YYYY-MM-DD`",
        Kind.TEXTS: "list of texts",
        Kind.MAPPING: "mapping",
        Kind.ANY: "anything",
        Kind.OBJECTS: "list of mappings",
    }.get(f.kind, "")
    if f.kind is Kind.CHOICE:
        what = "one of " + " ".join(f"`{c}`" for c in f.choices)
    elif f.kind is Kind.ID and f.ref is not None:
        what = f"a {f.ref.value} id"
    elif f.kind is Kind.IDS and f.ref is not None:
        what = f"list of {f.ref.value} ids"
    if f.max_len:
        what += f", ≤ {f.max_len} characters"
    if f.min_items:
        what += f", ≥ {f.min_items} item{'s' if f.min_items > 1 else ''}"
    if f.url:
        what += ", an `http(s)` URL"
    return what
