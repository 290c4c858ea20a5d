"""`kb new` (and `kb next`): write a new document that starts out right.

Frontmatter comes from the collection's schema (kb.schema, written with python-frontmatter) as
the handbook's settings make it (`fields_for`: `require_non_goals` makes `non_goals` required):
its required fields are the ones a scaffold needs, given as options (`option_name`), taken from
the field's `initial` value, asked for on a terminal (`prompt_text`), or refused
(`MissingFields`); references to principles, products and loops accept ids, aliases and
titles, as wikilinks do. Nothing about a field is written here, so a field added to the
schema is scaffolded, asked for and documented without a change to this module. The body comes from
`templates/new_<collection>.md.j2`: step headings with prompts as HTML comments, which count as
empty sections for KB502 until the writer replaces them. Never overwrites.

`draft` is the one scaffold function: `kb new` and `kb next` write what it returns, and the
site's "Start a loop cycle", "Continue this loop" and "Propose a product" links (kb.emit)
prefill the forge's new-file page with it. The site cannot ask for a missing field, so there
(`placeholders=True`) a missing one is written empty with a comment saying what it wants, and
lint reports it until the writer fills it in.
"""

from __future__ import annotations

import datetime as dt
import functools
import os
import re
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from kb.errors import KbError
from kb.link import closest
from kb.load import load
from kb.model import Collection, Document, Stage
from kb.new_options import option_name
from kb.schema import Field, Kind, fields_for, fields_of
from kb.settings import Settings
from kb.validate import slug, validate


class ScaffoldError(KbError):
    """Bad input to `kb new` (unknown product, file exists): exit 1 with a clear message."""


class MissingFields(KbError):
    """Required fields neither given nor asked for: exit 2, naming them and their options."""

    def __init__(self, collection: Collection, fields: list[Field], note: str = "") -> None:
        self.collection, self.fields = collection, fields
        named = _and([f"{f.name} ({option_name(f)})" for f in fields])
        super().__init__(
            f"kb new {collection.value} needs {named}: give "
            f"{'it as an option' if len(fields) == 1 else 'them as options'}, "
            f"or run it on a terminal to be asked{note}"
        )


@dataclass(frozen=True)
class NewDoc:
    """A document to write: its title, and frontmatter values by field name (as given: a
    principle or product may be named by id, title or alias; `create` resolves them)."""

    collection: Collection
    title: str
    values: dict[str, Any] = field(default_factory=dict)
    observe_notes: str = ""  # carried into the Observe prompt by `kb next`

    @property
    def date(self) -> dt.date:
        when = self.values.get("date")
        return when if isinstance(when, dt.date) else dt.date.today()


def schema_fields(settings: Settings, collection: Collection) -> dict[str, Field]:
    """The collection's fields as `settings` make them (kb.schema.fields_for)."""
    return fields_for(collection, settings)


def prompt_text(f: Field) -> str:
    """What a terminal asks for a missing field: its name and what it means."""
    doc = f.doc.rstrip(".")
    text = f"{f.name.replace('_', ' ').capitalize()} ({doc[:1].lower()}{doc[1:]})"
    if f.kind in (Kind.TEXTS, Kind.IDS):
        text += "; several separated by ';'"
    if f.kind is Kind.CHOICE:
        text += f"; one of {', '.join(f.choices)}"
    return text


def from_prompt(f: Field, answer: str) -> Any:
    """A prompted answer as the field's value (lists split at ';')."""
    if f.kind in (Kind.TEXTS, Kind.IDS):
        return tuple(part.strip() for part in answer.split(";") if part.strip())
    return answer.strip()


def with_defaults(settings: Settings, new: NewDoc) -> NewDoc:
    """Fill the defaults a collection's fields take; refuse options that are not its fields."""
    fields = schema_fields(settings, new.collection)
    values = {k: v for k, v in new.values.items() if not _blank(v)}
    stray = [k for k in values if k not in fields]
    if stray:
        known = {f.name: f for c in Collection for f in fields_of(c).values()}
        names = _and([option_name(known[k]) if k in known else k for k in stray])
        raise ScaffoldError(
            f"{names} {'does' if len(stray) == 1 else 'do'} not apply to a {new.collection.value}"
        )
    for name, f in fields.items():
        if f.initial:
            values.setdefault(name, initial(f))
    return replace(new, values=values)


def initial(f: Field) -> Any:
    """The value a new document's field starts with when no option gives one."""
    if f.kind is Kind.DATE and f.initial == "today":
        return dt.date.today()
    return f.initial


def missing(settings: Settings, new: NewDoc) -> list[Field]:
    """The required fields (from the schema) that `new` has no value for; the title is an argument."""
    return [
        f
        for f in schema_fields(settings, new.collection).values()
        if f.required and f.name != "title" and _blank(new.values.get(f.name))
    ]


def _blank(value: Any) -> bool:
    return (
        value is None
        or (isinstance(value, str) and not value.strip())
        or (isinstance(value, (list, tuple)) and not value)
    )


def target_path(settings: Settings, new: NewDoc) -> Path:
    name = slug(new.title)
    if new.collection is Collection.LOOP:
        return settings.content / "loops" / f"{new.date:%Y}" / f"{new.date.isoformat()}-{name}.md"
    return settings.content / new.collection.folder / f"{name}.md"


class Known:
    """The readable documents of a handbook, with the name lookups scaffolds need, computed
    once per collection (the site drafts one file per loop, product and principle page)."""

    def __init__(self, documents: Iterable[Any]) -> None:
        self.documents = [d for d in documents if d.readable]

    @classmethod
    def load(cls, settings: Settings) -> Known:
        return cls(validated(settings))

    @functools.cache  # noqa: B019 - one Known per build; it lives as long as its caches
    def of(self, collection: Collection) -> dict[str, Any]:
        """id → document, for one collection."""
        return {d.id: d for d in self.documents if d.collection is collection}

    @functools.cache  # noqa: B019
    def names(self, collection: Collection) -> dict[str, str]:
        return names_of(self.documents, collection)


@dataclass(frozen=True)
class Draft:
    """A scaffolded file: where it goes and what it holds."""

    path: Path
    text: str
    missing: tuple[str, ...] = ()  # fields written as placeholders (placeholders=True only)


def draft(settings: Settings, new: NewDoc, known: Known | None = None, placeholders: bool = False) -> Draft:
    """The file `kb new` / `kb next` would write for `new`, and where: the one scaffold of the
    CLI and the site. Missing required fields are MissingFields, or with `placeholders` written
    empty with a comment; unknown references are ScaffoldError."""
    if not new.title.strip():
        raise ScaffoldError("the title is empty")
    new = with_defaults(settings, new)
    absent = missing(settings, new)
    if absent and not placeholders:
        raise MissingFields(new.collection, absent, _empty_note(settings, absent))
    known = known if known is not None else Known.load(settings)
    new = _resolve_references(settings, new, known)
    text = render(settings, new, known, absent)
    return Draft(target_path(settings, new), text, tuple(f.name for f in absent))


def create(settings: Settings, new: NewDoc) -> Path:
    """Write the new file and return its path; refuse missing fields (MissingFields), unknown
    references and existing files (ScaffoldError)."""
    scaffold = draft(settings, new)
    path, text = scaffold.path, scaffold.text
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
    except FileExistsError:
        raise ScaffoldError(
            f"{path.relative_to(settings.root)} already exists; kb new never overwrites"
        ) from None
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(text)
    return path


def render(settings: Settings, new: NewDoc, known: Known | None = None, absent: Iterable[Field] = ()) -> str:
    import frontmatter

    known = known if known is not None else Known.load(settings)
    body = _body(settings.root, new.collection)
    if new.observe_notes:
        body = _carry_notes(body, new.observe_notes)
    absent = list(absent)
    meta = _meta(settings, new, known)
    for f in absent:
        meta[f.name] = [] if f.kind in (Kind.TEXTS, Kind.IDS, Kind.OBJECTS) else ""
    text = frontmatter.dumps(frontmatter.Post(body, **meta), sort_keys=False, allow_unicode=True) + "\n"
    return _comment_placeholders(text, absent, known)


@functools.lru_cache(maxsize=16)
def _body_cached(root: Path, collection: Collection, stamp: tuple[Any, ...]) -> str:
    from kb.templating import environment

    return environment(root).get_template(f"new_{collection.value}.md.j2").render()


def _body(root: Path, collection: Collection) -> str:
    """The template's body (it takes no context): rendered once per template file version."""
    from kb.templating import default_templates

    name = f"new_{collection.value}.md.j2"
    stamp: list[tuple[str, int | None, int | None]] = []
    for folder in (root / "templates", default_templates()):
        try:
            info = (folder / name).stat()
            stamp.append((str(folder), info.st_mtime_ns, info.st_size))
        except OSError:
            stamp.append((str(folder), None, None))
    return _body_cached(root, collection, tuple(stamp))


def _comment_placeholders(text: str, absent: list[Field], known: Known) -> str:
    """A YAML comment after each placeholder: what the field wants (and, for references, the
    ids to choose from)."""
    if not absent:
        return text
    head, sep, rest = text.partition("\n---\n")
    lines = head.split("\n")
    for f in absent:
        note = f.doc.rstrip(".")
        if f.ref is not None:
            ids = sorted(known.of(f.ref))
            more = f", … ({len(ids) - 20} more)" if len(ids) > 20 else ""
            note = (
                f"{'one or more' if f.kind is Kind.IDS else 'one'} of: {', '.join(ids[:20])}{more}"
                if ids
                else (f"there are no {f.ref.folder} yet")
            )
        for i, line in enumerate(lines):
            if line.startswith(f"{f.name}:"):
                lines[i] = f"{line}  # {' '.join(note.split())}"
                break
    return "\n".join(lines) + sep + rest


_OBSERVE = re.compile(r"^##[ \t][^\n]*observe[^\n]*\n", re.I | re.M)


def _carry_notes(body: str, notes: str) -> str:
    """Put the previous cycle's notes, as a comment, under the first Observe heading of the
    template (a handbook's own template may word it differently)."""
    comment = f"<!-- From the previous cycle's Repeat notes:\n{notes}\n-->\n\n"
    match = _OBSERVE.search(body)
    if match is None:
        return comment + body
    end = match.end()
    return body[:end] + "\n" + comment + body[end:].lstrip("\n")


def _meta(settings: Settings, new: NewDoc, known: Known) -> dict[str, Any]:
    """Frontmatter in the schema's field order: the title, then every value given."""
    values = {"title": new.title, **new.values}
    if new.collection is Collection.PRINCIPLE and "order" not in values:
        order = _next_order(known)
        if order:
            values["order"] = order
    meta: dict[str, Any] = {}
    for name, f in schema_fields(settings, new.collection).items():
        if name in values and not _blank(values[name]):
            value = values[name]
            meta[name] = list(value) if f.kind in (Kind.TEXTS, Kind.IDS, Kind.OBJECTS) else value
    return meta


def _next_order(known: Known) -> int | None:
    numbers = [o for d in known.of(Collection.PRINCIPLE).values() if (o := d.principle.order) is not None]
    return max(numbers) + 1 if numbers else None


def _docs(settings: Settings, collection: Collection) -> list[Any]:
    return [d for d in validated(settings) if d.collection is collection and d.readable]


def validated(settings: Settings) -> tuple[Document, ...]:
    """The handbook's documents with their records (validate's findings are lint's business)."""
    return load(settings, functools.partial(validate, settings=settings, today=dt.date.today())).documents


def _resolve_references(settings: Settings, new: NewDoc, known: Known) -> NewDoc:
    """Every value of a field that references a collection, resolved to an id the way a
    wikilink resolves (id, alias, or title, ignoring case); unknown ones refused."""
    fields = schema_fields(settings, new.collection)
    refs = {name: f for name, f in fields.items() if f.ref is not None and name in new.values}
    if not refs:
        return new
    corpus = known
    values = dict(new.values)
    for name, f in refs.items():
        assert f.ref is not None
        option = "LOOP" if name == "follows" else option_name(f)
        if isinstance(values[name], (list, tuple)):
            values[name] = tuple(dict.fromkeys(resolve(corpus, f.ref, v, option) for v in values[name]))
        else:
            values[name] = resolve(corpus, f.ref, values[name], option)
    return replace(new, values=values)


def names_of(corpus: list[Any], collection: Collection) -> dict[str, str]:
    """Every name a document of `collection` answers to (casefolded) → its id: ids, aliases,
    titles and titles made into ids."""
    names: dict[str, str] = {}
    docs = sorted((d for d in corpus if d.collection is collection), key=lambda d: d.id)
    for doc in docs:  # weakest first, so an id always wins over another document's title
        names.setdefault(slug(doc.title), doc.id)
    for doc in docs:
        names[doc.title.casefold()] = doc.id
    for doc in docs:
        for alias in doc.principle.aliases if doc.collection is Collection.PRINCIPLE else ():
            names[alias.casefold()] = doc.id
    for doc in docs:
        names[doc.id.casefold()] = doc.id
    return names


def resolve(corpus: list[Any] | Known, collection: Collection, name: str, option: str) -> str:
    """The id `name` means among `collection`'s documents, or ScaffoldError with a suggestion."""
    known = corpus if isinstance(corpus, Known) else Known(corpus)
    names = known.names(collection)
    ids = sorted(known.of(collection))
    text = " ".join(str(name).split())
    found = names.get(text.casefold()) or names.get(slug(text))
    if found:
        return found
    noun = collection.value
    if not ids:
        raise ScaffoldError(
            f"{option}: there are no {collection.folder} in this handbook yet, so "
            f"'{text}' cannot be one; write the first with `kb new {noun} TITLE`"
        )
    raise ScaffoldError(f"{option}: unknown {noun} '{text}'{suggest(text, ids)}")


def suggest(word: str, ids: list[str], shown: int = 10) -> str:
    """' (did you mean …?)' for a near miss or a prefix, else ' (known: …)', cut at `shown`."""
    starting = [i for i in ids if i.startswith(word.casefold())] if word else []
    if len(starting) == 1:
        return f" (did you mean '{starting[0]}'?)"
    if starting:
        more = f", … ({len(starting) - 5} more)" if len(starting) > 5 else ""
        return f" (did you mean one of {', '.join(starting[:5])}{more}?)"
    close = closest(word.casefold(), ids)
    if close:
        return f" (did you mean '{close}'?)"
    if not ids:
        return " (there are none yet)"
    more = f", … ({len(ids) - shown} more)" if len(ids) > shown else ""
    return f" (known: {', '.join(ids[:shown])}{more})"


def _empty_note(settings: Settings, absent: list[Field]) -> str:
    """When a missing reference cannot be given because its collection is empty, say how to start."""
    for f in absent:
        if f.ref is not None and not _docs(settings, f.ref):
            return f". There are no {f.ref.folder} yet: write the first with `kb new {f.ref.value} TITLE`"
    return ""


def _and(items: list[str]) -> str:
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


_CYCLE_SUFFIX = re.compile(r"(?:\s*\((?:next cycle|cycle \d+)\))+\s*$", re.I)


def next_title(title: str, number: int) -> str:
    """'Slow CI' → 'Slow CI (cycle 2)'; an earlier '(cycle N)' or '(next cycle)' is replaced."""
    return f"{_CYCLE_SUFFIX.sub('', title) or title} (cycle {number})"


def next_cycle(
    settings: Settings, loop_id: str, title: str | None, when: dt.date, known: Known | None = None
) -> tuple[NewDoc, str]:
    """The next turn of a loop: follows it, same product and principles, its Repeat notes
    carried into the new Observe prompt. Returns the new document and a note for the user."""
    known = known if known is not None else Known.load(settings)
    loops = known.of(Collection.LOOP)
    if loop_id not in loops:
        raise ScaffoldError(f"LOOP: unknown loop '{loop_id}'{suggest(loop_id, sorted(loops))}")
    previous = loops[loop_id]
    product, principles = previous.loop.product, previous.loop.principles
    _carried(known, loop_id, product, principles)
    note = (
        ""
        if previous.loop.stage is Stage.REPEAT
        else (f"note: {loop_id} is at stage '{_stage(previous)}', not 'repeat' yet")
    )
    values: dict[str, Any] = {"date": when, "principles": principles, "follows": loop_id}
    if product:
        values["product"] = product
    new = NewDoc(
        Collection.LOOP,
        title or next_title(previous.title, _cycle_number(loops, loop_id)),
        values,
        observe_notes=repeat_notes(previous),
    )
    return new, note


def _stage(loop: Document) -> str:
    return loop.loop.stage.value if loop.loop.stage else "none"


def _cycle_number(loops: dict[str, Any], loop_id: str) -> int:
    """The number of the cycle after `loop_id`: one more than the length of its `follows` chain."""
    seen, current = [loop_id], loops[loop_id].loop.follows
    while current is not None and current in loops and current not in seen:
        seen.append(current)
        current = loops[current].loop.follows
    return len(seen) + 1


def _carried(known: Known, loop_id: str, product: str | None, principles: tuple[str, ...]) -> None:
    """Refuse to copy a broken reference, naming the loop it comes from (not an option)."""
    for ident, collection in [(product, Collection.PRODUCT)] + [
        (p, Collection.PRINCIPLE) for p in principles
    ]:
        ids = known.of(collection)
        if ident is None or ident in ids:
            continue
        close = closest(ident, ids)
        hint = f" (did you mean '{close}'?)" if close else ""
        raise ScaffoldError(f"{loop_id}: unknown {collection.value} '{ident}'{hint}; fix it first")


_SETEXT_UNDERLINE = r"[ ]{0,3}(?:=+|-+)[ \t]*"


def repeat_notes(doc: Any) -> str:
    """The text of a loop's Repeat section without its HTML comments, made safe to carry
    inside an HTML comment: no two dashes stay adjacent, so nothing in it can end the comment
    (`-->`, `--!>`) or open another."""
    import re

    headings = [h for h in doc.scan.headings if h.level <= 2]
    for i, heading in enumerate(headings):
        if heading.level == 2 and "repeat" in heading.text.lower():
            lines = doc.body.split("\n")
            start, end = heading.line, headings[i + 1].line - 1 if i + 1 < len(headings) else len(lines)
            if start < end and re.fullmatch(_SETEXT_UNDERLINE, lines[start]):
                start += 1
            text = re.sub(r"<!--.*?-->", "", "\n".join(lines[start:end]), flags=re.S).strip()
            return re.sub(r"-(?=-)", "- ", text)
    return ""
