"""Links to the headings kb writes into pages (`kb.generated`): accepted by lint, and on the site.

A link to `#swap-this-product` on a product card, or `[[ownership#practiced-in]]`, is no KB407;
building the site shows every generated heading kb accepts on the page it accepts it for.
"""

from __future__ import annotations

import re
from pathlib import Path

from kb import generated
from kb.markdown import slugify
from kb.pipeline import check
from kb.settings import load_settings
from site_helpers import SMALL, run_kb, write_tree

LINKS = """\
---
title: Generated
---

See [[products/journal#swap-this-product]], [[products/journal#loop-history]],
[[ownership#practiced-in]] and [the history](../products/journal.md#loop-history).
A made-up one: [[products/journal#no-such-section]].
"""


def test_links_to_generated_headings_lint_and_exist_on_the_site(tmp_path: Path) -> None:
    root = write_tree(tmp_path / "hb", {**SMALL, "content/handbook/generated.md": LINKS})
    lint = run_kb(["lint"], root)
    kb407 = [line for line in lint.stdout.splitlines() if "KB407" in line and "generated.md" in line]
    assert len(kb407) == 1 and "no-such-section" in kb407[0], lint.stdout
    site = tmp_path / "site"
    built = run_kb(["build", "--out", str(site)], root)
    assert built.exit_code == 0, built.output
    checked = check(load_settings(root))
    seen = 0
    for doc in checked.corpus.documents:
        for text in generated.headings(doc):
            page = site / checked.graph.site_key(doc.key) / "index.html"
            html = page.read_text(encoding="utf-8")
            assert re.search(rf'<h2 id="{re.escape(slugify(text))}"', html), (doc.path, text)
            seen += 1
    assert seen >= 4  # two principles, two products, one of them with interfaces
