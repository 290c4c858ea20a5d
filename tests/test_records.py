"""Validate's typed records: what later stages read instead of the raw frontmatter."""

from __future__ import annotations

import datetime as dt
import pickle
from dataclasses import replace
from pathlib import Path

import pytest

from conftest import LOOP, PRODUCT, TODAY, make_base
from kb.model import (
    Document,
    Feedback,
    Interface,
    LoopInfo,
    PageInfo,
    PrincipleInfo,
    ProductInfo,
    Stage,
    Status,
)
from kb.pipeline import check
from kb.settings import load_settings

FEEDBACK_LOOP = """\
---
title: Feedback
date: 2026-11-20
stage: observe
principles: [ownership, 5, ""]
product: kb
authors: [Ana, "  "]
feedback:
  - source: A user
    quote: It is slow.
    url: https://example.com/issue/1
  - quote: Still slow.
    url: "javascript:alert(1)"
  - source: no quote here
  - not a mapping
tags: [speed]
---

## 1. Observe

Saw it.
"""


def documents(tmp_path: Path, files: dict[str, str]) -> dict[str, Document]:
    checked = check(load_settings(make_base(tmp_path, files)), TODAY)
    return {d.path: d for d in checked.corpus.documents}


def test_a_loop_record_keeps_what_validate_accepted(tmp_path: Path) -> None:
    path = "content/loops/2026/2026-11-20-feedback.md"
    doc = documents(tmp_path, {path: FEEDBACK_LOOP})[path]
    assert doc.loop == LoopInfo(
        date=dt.date(2026, 11, 20),
        stage=Stage.OBSERVE,
        principles=("ownership",),  # of a list, the valid items
        product="kb",
        authors=("Ana",),
        follows=None,
        feedback=(
            Feedback("A user", "It is slow.", "https://example.com/issue/1"),
            Feedback("", "Still slow.", None),  # an unsafe URL is no URL
        ),
        tags=("speed",),
    )
    assert doc.tags == ("speed",) and doc.summary == ""


def test_a_rejected_field_reads_as_absent(tmp_path: Path) -> None:
    text = (
        "---\ntitle: X\ndate: 2026-13-45\nstage: finished\nprinciples: [ownership]\n"
        "product: Not An Id\n---\n\n## 1. Observe\n\nSaw it.\n"
    )
    path = "content/loops/2026/x.md"
    info = documents(tmp_path, {path: text})[path].loop
    assert (info.date, info.stage, info.product) == (None, None, None)


def test_product_and_principle_records(tmp_path: Path) -> None:
    card = """\
---
title: Search
summary: Finds pages.
problem: Nobody finds anything.
users: [Readers]
owner: Team S
status: building
interfaces:
  - name: query
    kind: api
    description: Ask it.
  - name: feed
    kind: carrier-pigeon
  - kind: cli
depends_on: [kb]
consumes: [kb/kb lint]
alternatives: [kb, grep]
non_goals: [Ranking]
principles: [ownership]
---
"""
    docs = documents(tmp_path, {"content/products/search.md": card})
    assert docs["content/products/search.md"].product == ProductInfo(
        summary="Finds pages.",
        problem="Nobody finds anything.",
        users=("Readers",),
        owner="Team S",
        status=Status.BUILDING,
        interfaces=(Interface("query", "api", "Ask it."), Interface("feed", "", "")),
        depends_on=("kb",),
        consumes=("kb/kb lint",),
        alternatives=("kb", "grep"),
        non_goals=("Ranking",),
        principles=("ownership",),
        tags=(),
    )
    principle = docs["content/principles/ownership.md"].principle
    assert principle == PrincipleInfo(
        summary="Treat the problems you touch as yours to see through.",
        order=None,
        aliases=("take ownership",),
        related=(),
        tags=(),
    )


def test_a_page_record_passes_only_valid_renderer_keys(tmp_path: Path) -> None:
    page = (
        "---\ntitle: P\nsummary: One line.\nhide: 5\nicon: material/book\nsearch: {exclude: true}\n"
        "weight: 3\nkb_edit: https://evil.example\ntags: [a]\n---\n\nText.\n"
    )
    doc = documents(tmp_path, {"content/handbook/p.md": page})["content/handbook/p.md"]
    assert doc.page == PageInfo(
        summary="One line.",
        tags=("a",),
        render={"icon": "material/book", "search": {"exclude": True}},  # hide: 5 crashes Material
        own={"weight": 3},  # kb_ keys are kb's own
    )


def test_an_unreadable_document_has_an_empty_record_and_a_missing_one_is_an_error(
    tmp_path: Path,
) -> None:
    docs = documents(tmp_path, {"content/products/broken.md": "---\ntitle: [unclosed\n---\n"})
    broken = docs["content/products/broken.md"]
    assert not broken.readable and broken.info is None
    assert broken.product.interfaces == () and broken.tags == ()
    with pytest.raises(TypeError, match="no LoopInfo record"):
        _ = docs[PRODUCT].loop  # a product has no loop record
    from kb.load import load

    unvalidated = {d.path: d for d in load(load_settings(tmp_path)).documents}[PRODUCT]
    with pytest.raises(TypeError, match="validated"):
        _ = unvalidated.product


def test_records_pickle_with_their_document(tmp_path: Path) -> None:
    """Validate runs in load's worker processes: the record must come back with the document."""
    doc = documents(tmp_path, {})[LOOP]
    again = pickle.loads(pickle.dumps(doc))
    assert again.info == doc.info and isinstance(again.info, LoopInfo)
    assert type(doc.info).__reduce__(doc.info)[1] == tuple(  # type: ignore[union-attr]
        getattr(doc.info, name) for name in LoopInfo.__dataclass_fields__
    )


def test_item_positions_follow_the_file_not_the_record(tmp_path: Path) -> None:
    """A record keeps a list's valid items; findings about one still point at its own line."""
    card = (
        "---\ntitle: Two\nsummary: s\nproblem: p\nusers: [u]\nowner: o\nstatus: live\n"
        "alternatives:\n  - 5\n  - kb\n  - kb\n---\n"
    )
    doc = documents(tmp_path, {"content/products/two.md": card})["content/products/two.md"]
    assert doc.product.alternatives == ("kb", "kb")
    assert doc.front.item_pos("alternatives", "kb") == (10, 5)
    assert doc.front.item_pos("alternatives", "kb", 1) == (11, 5)
    assert doc.front.item_pos("alternatives", "grep") == doc.front.value_pos("alternatives")


def test_one_rejected_field_leaves_the_others_as_an_all_valid_loop_reads_them(tmp_path: Path) -> None:
    """Two ways to a loop's record (every field valid, taken as it is; or field by field)
    must agree on every field validate accepted."""
    valid = FEEDBACK_LOOP.replace('principles: [ownership, 5, ""]', "principles: [ownership]").replace(
        'authors: [Ana, "  "]', "authors: [Ana]"
    )
    valid = valid.replace('    url: "javascript:alert(1)"\n', "").replace("  - source: no quote here\n", "")
    valid = valid.replace("  - not a mapping\n", "").replace("  - quote: Still slow.\n", "")
    one_bad = valid.replace("product: kb", "product: Not An Id")
    path, other = "content/loops/2026/2026-11-20-feedback.md", "content/loops/2026/2026-11-20-other.md"
    docs = documents(tmp_path, {path: valid, other: one_bad})
    assert docs[path].loop.feedback == (Feedback("A user", "It is slow.", "https://example.com/issue/1"),)
    assert docs[other].loop == replace(docs[path].loop, product=None)
