"""One declarative schema per collection.

The same field list drives validation (`kb.validate`), scaffolds (`kb new`) and the JSON
Schema export (`kb schema`), so the three can never disagree.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from typing import Any

from kb.model import Collection, Stage, Status


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


TITLE = Field("title", Kind.LINE, "The document's name, as shown in titles and indexes.", True)
SUMMARY = Field("summary", Kind.LINE, "One line shown in every index.", True, max_len=200)
TAGS = Field("tags", Kind.TEXTS, "Free tags, rendered by Material's tags plugin.")


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
    Field("status", Kind.CHOICE, "Where it is in its life.", True, choices=tuple(s.value for s in Status)),
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
    Field("date", Kind.DATE, "When the cycle started.", True),
    Field("stage", Kind.CHOICE, "The furthest step reached.", True, choices=tuple(s.value for s in Stage)),
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
    Field("title", Kind.LINE, "The page's name; defaults to its first '# ' heading.", True),
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


def fields_of(collection: Collection) -> dict[str, Field]:
    return {f.name: f for f in SCHEMAS[collection]}


def json_schema(collection: Collection) -> dict[str, Any]:
    """The collection's frontmatter as JSON Schema (draft 2020-12), for editors."""
    schema = _object(SCHEMAS[collection], closed=True)
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


_ID_PATTERN = "^[a-z0-9]+(-[a-z0-9]+)*$"


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
