"""`kb new` (and `kb next`): write a new document that starts out right.

Frontmatter comes from the collection's schema (written with python-frontmatter), the body
from `templates/new_<collection>.md.j2`: step headings with prompts as HTML comments, which
count as empty sections for KB502 until the writer replaces them. Never overwrites.
"""

from __future__ import annotations

import datetime as dt
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kb.errors import KbError
from kb.link import closest
from kb.load import load
from kb.model import Collection, Stage
from kb.settings import Settings
from kb.validate import slug


class ScaffoldError(KbError):
    """Bad input to `kb new` (unknown product, file exists): exit 1 with a clear message."""


@dataclass(frozen=True)
class NewDoc:
    collection: Collection
    title: str
    product: str | None = None
    principles: tuple[str, ...] = ()
    stage: Stage = Stage.OBSERVE
    date: dt.date = field(default_factory=dt.date.today)
    authors: tuple[str, ...] = ()
    follows: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)  # product/principle fields given as options
    observe_notes: str = ""  # carried into the Observe prompt by `kb next`


def target_path(settings: Settings, new: NewDoc) -> Path:
    name = slug(new.title)
    if new.collection is Collection.LOOP:
        return settings.content / "loops" / f"{new.date:%Y}" / f"{new.date.isoformat()}-{name}.md"
    return settings.content / new.collection.folder / f"{name}.md"


def create(settings: Settings, new: NewDoc) -> Path:
    """Write the new file and return its path; refuse unknown references and existing files."""
    if not new.title.strip():
        raise ScaffoldError("the title is empty")
    _check_references(settings, new)
    path = target_path(settings, new)
    text = render(settings, new)
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
    except FileExistsError:
        raise ScaffoldError(f"{path.relative_to(settings.root)} already exists; kb new never overwrites") from None
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(text)
    return path


def render(settings: Settings, new: NewDoc) -> str:
    import frontmatter

    from kb.templating import environment

    body = environment(settings.root).get_template(f"new_{new.collection.value}.md.j2").render()
    if new.observe_notes:
        body = _carry_notes(body, new.observe_notes)
    post = frontmatter.Post(body, **_meta(settings, new))
    return frontmatter.dumps(post, sort_keys=False, allow_unicode=True) + "\n"


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


def _meta(settings: Settings, new: NewDoc) -> dict[str, Any]:
    if new.collection is Collection.LOOP:
        meta: dict[str, Any] = {"title": new.title, "date": new.date, "stage": new.stage.value,
                                "principles": list(new.principles)}
        if new.product:
            meta["product"] = new.product
        if new.authors:
            meta["authors"] = list(new.authors)
        if new.follows:
            meta["follows"] = new.follows
        return meta
    if new.collection is Collection.PRODUCT:
        return {"title": new.title, "summary": new.extra.get("summary", ""),
                "problem": new.extra.get("problem", ""), "users": list(new.extra.get("users", ())),
                "owner": new.extra.get("owner", ""), "status": new.extra.get("status", "idea")}
    meta = {"title": new.title, "summary": new.extra.get("summary", "")}
    order = _next_order(settings)
    if order:
        meta["order"] = order
    return meta


def _next_order(settings: Settings) -> int | None:
    orders = [d.meta.get("order") for d in _docs(settings, Collection.PRINCIPLE)]
    numbers = [o for o in orders if isinstance(o, int) and not isinstance(o, bool)]
    return max(numbers) + 1 if numbers else None


def _docs(settings: Settings, collection: Collection) -> list[Any]:
    return [d for d in load(settings).documents if d.collection is collection and d.readable]


def _check_references(settings: Settings, new: NewDoc) -> None:
    if new.collection is not Collection.LOOP:
        return
    corpus = load(settings).documents
    ids = {c: {d.id for d in corpus if d.collection is c} for c in Collection}
    if new.product:
        _known(new.product, ids[Collection.PRODUCT], "product", "--product")
    for principle in new.principles:
        _known(principle, ids[Collection.PRINCIPLE], "principle", "--principle")
    if new.follows:
        _known(new.follows, ids[Collection.LOOP], "loop", "LOOP")


def _known(ident: str, ids: set[str], noun: str, option: str) -> None:
    if ident in ids:
        return
    close = closest(ident, ids)
    hint = f" (did you mean '{close}'?)" if close else f" (known: {', '.join(sorted(ids)[:10]) or 'none'})"
    raise ScaffoldError(f"{option}: unknown {noun} '{ident}'{hint}")


def next_cycle(settings: Settings, loop_id: str, title: str | None, when: dt.date) -> tuple[NewDoc, str]:
    """The next turn of a loop: follows it, same product and principles, its Repeat notes
    carried into the new Observe prompt. Returns the new document and a note for the user."""
    from kb.model import as_strs

    corpus = [d for d in load(settings).documents if d.readable]
    loops = {d.id: d for d in corpus if d.collection is Collection.LOOP}
    _known(loop_id, set(loops), "loop", "LOOP")
    previous = loops[loop_id]
    product = previous.meta.get("product")
    product = product if isinstance(product, str) else None
    principles = as_strs(previous.meta.get("principles"))
    _carried(corpus, loop_id, product, principles)
    note = "" if previous.meta.get("stage") == Stage.REPEAT.value else (
        f"note: {loop_id} is at stage '{previous.meta.get('stage')}', not 'repeat' yet")
    new = NewDoc(
        Collection.LOOP, title or f"{previous.title} (next cycle)", product=product,
        principles=principles, date=when, follows=loop_id, observe_notes=repeat_notes(previous),
    )
    return new, note


def _carried(corpus: list[Any], loop_id: str, product: str | None, principles: tuple[str, ...]) -> None:
    """Refuse to copy a broken reference, naming the loop it comes from (not an option)."""
    for ident, collection in [(product, Collection.PRODUCT)] + [(p, Collection.PRINCIPLE) for p in principles]:
        ids = {d.id for d in corpus if d.collection is collection}
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
