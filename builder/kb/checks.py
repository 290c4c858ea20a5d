"""Validate's checks beyond the frontmatter fields: unsafe HTML and nesting in the body, and a
loop's sections, age and place, which read its record (`Document.loop`).

Pure, document by document, like the rest of `kb.validate`, which runs them.
"""

from __future__ import annotations

import datetime as dt
import re

from kb.findings import Finding, finding
from kb.model import Collection, Document, Stage
from kb.settings import Settings


def unsafe_body(doc: Document, strict_embeds: bool = False) -> list[Finding]:
    """KB409. What runs script is a finding everywhere; embeds of https or same-site sources
    (`<iframe>`, `<video>`, `<audio>`, `<object>`, `<embed>`) and `<style>` only in principles,
    products and loops, or on plain pages too when `strict_embeds`."""
    out = []
    lenient = doc.collection is Collection.PAGE and not strict_embeds
    for item in doc.scan.unsafe:
        if lenient and item.kind == "embed":  # kb.markdown.EMBED
            continue
        line, col = doc.file_pos(item.line, item.col)
        if item.kind == "embed":
            hint = (
                "plain pages may embed https or same-site sources; in principles, products and "
                "loops link to it instead"
            )
        else:
            hint = "remove it; the site is public and kb does not run scripts from content"
        out.append(finding(doc.path, line, col, "KB409", f"unsafe HTML or URL: {item.what}", hint))
    return out


#: Each stage's value -> the steps reached at that stage, in order, with their values. Built
#: once: the `Stage` enum's lookups, `.value` and `Stage.number` (a list of the members per
#: call) cost more than the check itself.
_REACHED: dict[str, tuple[tuple[Stage, str], ...]] = {
    s.value: tuple((step, step.value) for step in tuple(Stage)[: i + 1]) for i, s in enumerate(Stage)
}


def loop_sections(doc: Document) -> list[Finding]:
    """KB501 a section the loop's stage has reached is missing, KB502 it is empty."""
    reached = doc.loop.stage
    if reached is None:
        return []
    stage = reached.value
    sections = [(h, h.text.lower()) for h in doc.scan.headings if h.level == 2]
    found = []
    for step, word in _REACHED[stage]:
        heading = None
        for h, lower in sections:
            if word in lower:
                heading = h
                break
        if heading is None:
            line, col = doc.front.value_pos("stage")
            found.append(
                finding(
                    doc.path,
                    line,
                    col,
                    "KB501",
                    f"stage is '{stage}' but there is no '## {step.number}. {step.value.title()}' section",
                    f"add a '## {step.number}. {step.value.title()}' section, or lower the stage",
                )
            )
        elif not heading.has_content:
            line, col = doc.file_pos(heading.line, heading.col)
            found.append(
                finding(
                    doc.path,
                    line,
                    col,
                    "KB502",
                    f"section '{heading.text}' is empty",
                    "write what happened in this step (prompts in comments do not count)",
                )
            )
    return found


def too_deep(doc: Document) -> Finding:
    """KB416: the renderer nests one call per level; past a few hundred the page fails to build."""
    from kb.markdown import MAX_NESTING

    assert doc.scan.deep is not None
    line, col = doc.file_pos(*doc.scan.deep)
    return finding(
        doc.path,
        line,
        col,
        "KB416",
        f"nesting deeper than the renderer can take: lists, quotes or blocks more than "
        f"{MAX_NESTING} levels deep",
        "flatten it; the site's markdown renderer fails on a page nested a few hundred levels",
    )


_DATED = re.compile(r"\d{4}-\d{2}-\d{2}-")  # a loop file name that starts with a date


def loop_place(doc: Document) -> list[Finding]:
    """KB305: a file name that starts with a date starts with the loop's `date:`, and a year
    folder above it is that date's year (`loops/2026/2026-03-01-x.md`). A mismatch misfiles
    the loop: its URL and folder say one day, its year page another. The hint names the right
    path. Names without a date (`slow-ci.md`) and loops outside year folders are left alone."""
    started = doc.loop.date
    if started is None:
        return []
    day, year = started.isoformat(), str(started.year)
    *folders, _name = doc.path.split("/")
    in_year = bool(folders) and len(folders[-1]) == 4 and folders[-1].isdigit()
    dated = _DATED.match(doc.id) is not None
    name_ok = not dated or doc.id.startswith(day + "-")
    if name_ok and (not in_year or folders[-1] == year):
        return []
    name = f"{day}-{doc.id[11:]}" if dated else doc.id
    right = "/".join([*folders[:-1], year] if in_year else folders) + f"/{name}.md"
    if not name_ok:
        what = f"loop file name '{doc.id}.md' does not start with its date {day}"
    else:
        what = f"loop dated {day} is in the year folder '{folders[-1]}'"
    line, col = doc.front.value_pos("date")
    return [finding(doc.path, line, col, "KB305", what, f"move it to {right}, or correct its date")]


def stale(doc: Document, settings: Settings, today: dt.date) -> list[Finding]:
    """KB602: a loop still open `stale_days` after it started."""
    started, reached = doc.loop.date, doc.loop.stage
    if started is None or reached is None or reached is Stage.REPEAT:
        return []
    stage = reached.value
    age = (today - started).days
    if age <= settings.stale_days:
        return []
    line, col = doc.front.value_pos("date")
    return [
        finding(
            doc.path,
            line,
            col,
            "KB602",
            f"loop is still at '{stage}' {age} days after it started",
            "move it forward, or set stage: repeat and start a follow-up",
        )
    ]
