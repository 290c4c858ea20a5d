"""Headings kb writes into a document's page (templates/footer.md.j2), for links to them.

`kb.link` accepts a link to one of these anchors (`[[some-product#swap-this-product]]`,
`[x](#loop-history)`) only where the built page always has the heading: the heading on every
page of the collection, or under a condition the link stage can tell from the document alone.
Sections that depend on other documents (Backlinks, Guides products, Principles practiced)
are left out. tests/test_generated_headings.py builds a site and checks that every heading
listed here is on the page, so the list and the templates cannot drift apart.
"""

from __future__ import annotations

from kb.model import Collection, Document

#: On every page of the collection.
ALWAYS: dict[Collection, tuple[str, ...]] = {
    Collection.PRINCIPLE: ("Practiced in",),
    Collection.PRODUCT: ("Loop history",),
}
#: On a product card that declares interfaces.
SWAP = "Swap this product"


def headings(doc: Document) -> tuple[str, ...]:
    """The generated headings `doc`'s built page is sure to have."""
    out = ALWAYS.get(doc.collection, ())
    if doc.collection is Collection.PRODUCT:
        from kb.contracts import interfaces

        if interfaces(doc):
            out = (*out, SWAP)
    return out
