"""The options of `kb new`, one per schema field a scaffold can take.

Kept apart from kb.scaffold (which loads handbooks) so the CLI can build its `new` command
from the schema at import time without importing the loader: it imports only the schema.
"""

from __future__ import annotations

from typing import Any

from kb.model import Collection
from kb.schema import REQUIRED_BY_SETTING, Field, Kind, fields_of


def option_name(f: Field) -> str:
    """The `kb new` option that gives a field: lists take one item per option, so singular."""
    name = f.name
    if f.kind in (Kind.TEXTS, Kind.IDS) and name.endswith("s"):
        name = name[:-2] if name.endswith(("ses", "xes", "shes", "ches")) else name[:-1]
    return "--" + name.replace("_", "-")


#: The collections `kb new` writes, in the order its help lists them.
NEW_KINDS = (Collection.LOOP, Collection.PRODUCT, Collection.PRINCIPLE)
#: Field kinds an option can give (mappings and lists of mappings are written by hand).
_OPTION_KINDS = {Kind.TEXT, Kind.LINE, Kind.CHOICE, Kind.ID, Kind.IDS, Kind.TEXTS, Kind.DATE, Kind.INT}


def option_fields() -> dict[str, tuple[Field, list[Collection]]]:
    """Every field `kb new` takes as an option (by name), with the collections that have it:
    from the schema, so a field added there becomes an option without a change here."""
    out: dict[str, tuple[Field, list[Collection]]] = {}
    for collection in NEW_KINDS:
        for f in fields_of(collection).values():
            if f.kind in _OPTION_KINDS and f.name not in ("title", "type"):
                out.setdefault(f.name, (f, []))[1].append(collection)
    return out


def option_help(f: Field, collections: list[Collection]) -> str:
    """`kb new --help` for a field: which collections take it (and need it), and what it means."""
    who = []
    for c in collections:
        own = fields_of(c)[f.name]
        needs = [s for s, (where, name) in REQUIRED_BY_SETTING.items() if where is c and name == f.name]
        note = " (required)" if own.required else (f" (required with {needs[0]})" if needs else "")
        who.append(c.value + note)
    text = f"{', '.join(who).capitalize()}: {f.doc.rstrip('.')[:1].lower()}{f.doc.rstrip('.')[1:]}"
    if f.ref is not None:
        text += f"; a {f.ref.value} by id, title or alias"
    if f.kind in (Kind.TEXTS, Kind.IDS):
        text += " (repeatable)"
    text += "."
    if f.initial:
        text += f"  [default: {f.initial}]"
    return text


def field_options(date_type: Any) -> Any:
    """A decorator adding one click option per `option_fields()` entry to `kb new`: the option
    `option_name(f)`, the keyword argument `f.name` (a tuple for lists). `date_type` is the
    click type that parses a date (the CLI's, with its messages)."""
    import click

    def decorate(command: Any) -> Any:
        for name, (f, collections) in reversed(list(option_fields().items())):
            kind: Any = click.STRING
            if f.kind is Kind.CHOICE:
                kind = click.Choice(list(f.choices))
            elif f.kind is Kind.DATE:
                kind = date_type
            elif f.kind is Kind.INT:
                kind = click.INT
            command = click.option(
                option_name(f),
                name,
                type=kind,
                multiple=f.kind in (Kind.TEXTS, Kind.IDS),
                help=option_help(f, collections),
            )(command)
        return command

    return decorate
