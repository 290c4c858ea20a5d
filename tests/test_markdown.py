"""Tests for kb.markdown: the body scanner behind links, anchors, KB409 and KB501/502."""

from __future__ import annotations

import html

import markdown as python_markdown
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kb.markdown import BodyScan, Heading, Link, LinkKind, Unsafe, scan, slugify, strip_inline

W, M, IMG, R, H = LinkKind.WIKI, LinkKind.MARKDOWN, LinkKind.IMAGE, LinkKind.REFDEF, LinkKind.HTML


def heads(body: str) -> list[tuple]:
    """(level, text, anchor, line, col) of each heading."""
    return [(h.level, h.text, h.anchor, h.line, h.col) for h in scan(body).headings]


def links(body: str) -> list[tuple]:
    """(kind, target, anchor, label, line, col, syntax) of each link; syntax is body[start:end]."""
    return [
        (x.kind, x.target, x.anchor, x.label, x.line, x.col, body[x.start : x.end]) for x in scan(body).links
    ]


def unsafe(body: str) -> list[tuple]:
    return [(u.line, u.col, u.what) for u in scan(body).unsafe]


def toc(body: str) -> list[tuple]:
    """(level, id, text) of each heading as the site's renderer (Python-Markdown) makes them."""
    md = python_markdown.Markdown(extensions=["toc", "attr_list", "fenced_code"])
    md.convert(body)

    def flat(tokens: list[dict]) -> list[dict]:
        return [t for token in tokens for t in (token, *flat(token["children"]))]

    return [(t["level"], t["id"], html.unescape(t["name"])) for t in flat(md.toc_tokens)]


# -- headings ----------------------------------------------------------------------------


def test_atx_headings_levels_and_positions():
    # As Python-Markdown: `#` in column 1 with or without a space, no indent; 7 `#`s make an h6
    body = "# One\n\n  ### Three ###\n###### Six\n####### seven\n#nospace\n    # indented code"
    assert heads(body) == [
        (1, "One", "one", 1, 1),
        (6, "Six", "six", 4, 1),
        (6, "# seven", "seven", 5, 1),
        (1, "nospace", "nospace", 6, 1),
    ]


def test_atx_heading_that_is_only_hashes_is_empty():
    assert heads("#\n\n## ##") == [(1, "", "_1", 1, 1), (2, "", "_2", 3, 1)]


def test_setext_headings():
    body = "Title\n=====\n\nSub *title*\n---\ntext"
    assert heads(body) == [(1, "Title", "title", 1, 1), (2, "Sub title", "sub-title", 4, 1)]


@pytest.mark.parametrize(
    "body",
    [
        "text\n\n---\n",  # a rule after a blank line
        "---\ntext\n",  # a rule at the very start
        "a\nb\n---\n",  # second line of a paragraph (Python-Markdown: a rule)
        "a\nb\n===\n",
        "Title\n  ===\n",  # an indented underline is paragraph text
        "    code\n===\n",
        "<!-- note -->\n---\n",
    ],
)
def test_not_setext_headings(body):
    assert heads(body) == []


def test_setext_under_a_list_item_or_short():
    # Python-Markdown tries setext before lists, and one `-` or `=` is enough
    assert heads("- item\n---\n") == [(2, "- item", "-item", 1, 1)]
    assert heads("1. item\n===\n") == [(1, "1. item", "1-item", 1, 1)]
    assert heads("Text\n--\n") == [(2, "Text", "text", 1, 1)]


@pytest.mark.parametrize(
    "body",
    [
        "# H\nText\n---",  # an ATX heading ends a block
        "<!-- c -->\nText\n---",  # so does a comment on its own line
        "```\nx\n```\nText\n---",
        "[a]: x.md\nText\n===",  # a refdef before `===` (Python-Markdown's processor order)
        "[a]: x.md\nText\n---",  # ... but not before `---`
        "***\nText\n===",
    ],
)
def test_setext_text_starts_a_block_as_in_python_markdown(body):
    assert [(h[0], h[2]) for h in heads(body)] == [t[:2] for t in toc(body)]


def test_title_is_a_level_one_heading_the_body_opens_with():
    """MkDocs titles a page from its first element only when that is an `<h1>`."""
    assert scan("\n# Main\n# Other").title == "Main"
    assert scan("## Sub\n# Main\n# Other").title is None
    assert scan("<!-- lint -->\n# Main\n").title is None
    assert scan("---\n\n# Main\n").title is None
    assert scan("- # Main\n").title is None
    assert scan("Main *page*\n===").title == "Main page"
    assert scan("## only sub\n").title is None


def test_many_repeated_headings_stay_linear():
    result = scan("## Step\n" * 3000)
    assert [h.anchor for h in result.headings[:3]] == ["step", "step_1", "step_2"]
    assert result.headings[-1].anchor == "step_2999"


def test_anchor_dedup_like_toc_unique():
    body = "# x\n# x\n# x_1\n# x\n#\n#"
    assert [h[2] for h in heads(body)] == ["x", "x_1", "x_2", "x_3", "_1", "_2"]


def test_custom_ids_are_kept_and_reserved():
    body = "# A {#cust}\n# cust\n# B {: #other .wide}\n# C {.cls}\n# D{#not-attr}"
    assert [h[1:3] for h in heads(body)] == [
        ("A", "cust"),
        ("cust", "cust_1"),
        ("B", "other"),
        ("C", "c"),
        ("D{#not-attr}", "dnot-attr"),
    ]


def test_headings_in_fences_are_ignored():
    body = "```\n# no\n```\n~~~ python\n# no\n~~~\n  ```\n  # no\n  ```\n# yes"
    assert heads(body) == [(1, "yes", "yes", 10, 1)]


def test_a_fence_that_never_closes_is_no_fence():
    # superfences closes a fence only with the same run at the same indent; else no code at all
    body = "~~~~ python\n# a\n~~~\n# b\n~~~~~\n   ```\n# c\n  ````\n# d"
    assert [h[2] for h in heads(body)] == ["a", "b", "c", "d"]


def test_backtick_fence_info_may_not_hold_backticks():
    assert heads("``` a`b\n# yes") == [(1, "yes", "yes", 2, 1)]


def test_unclosed_fence_is_markdown():
    body = "# a\n```\n# b\n[[x]] [y](z.md)"
    assert heads(body) == [(1, "a", "a", 1, 1), (1, "b", "b", 3, 1)]
    assert [x.target for x in scan(body).links] == ["x", "z.md"]


def test_headings_in_comments_are_ignored():
    assert heads("<!--\n# hidden\n-->\n# shown") == [(1, "shown", "shown", 4, 1)]


def test_has_content():
    body = (
        "## A\n\n<!-- prompt\n  over lines -->\n\n## B\n   \n\t\n## C\ntext\n## D\n### D1\n"
        "## E\n```\n```\n## F\n---\n## G\n<!-- a --> b"
    )
    assert {h.text: h.has_content for h in scan(body).headings} == {
        "A": False,
        "B": False,
        "C": True,
        "D": True,
        "D1": False,
        "E": True,
        "F": False,
        "G": True,
    }


def test_has_content_of_setext_heading_excludes_its_underline():
    assert [h.has_content for h in scan("A\n===\n\nB\n---\n\nbody").headings] == [True, True]
    assert [h.has_content for h in scan("## A\nB\n---\n").headings] == [False, False]


@pytest.mark.parametrize(
    ("raw", "plain"),
    [
        ("`code` and ``a`b``", "code and a`b"),
        ("*em* **strong** ***both*** _u_ __uu__", "em strong both u uu"),
        ("snake_case and __init__ and _a_b", "snake_case and init and _a_b"),
        ("*a*b*c and 2 * 3 * 4", "ab*c and 2 * 3 * 4"),
        ("[text](url.md) [a [b] c](x) [ref][id] ![img](p.png)", "text a [b] c ref"),
        ("[[ownership|Own]] and [[root cause]]", "Own and root cause"),
        ("<b>bold</b> <span class='x'>s</span><!-- c -->", "bold s"),
        ("A &amp; B &copy; &lt;tag&gt;", "A & B © <tag>"),
        ("`&amp;` stays", "&amp; stays"),
        ("Title {#custom}", "Title"),
        ("Title {: .cls #id}", "Title"),
        ("Title ##", "Title"),
        ("C#", "C"),
        ("C \\#", "C #"),
        ("\\&amp; \\<b>", "\\& \\"),  # `&` and `<` are not escapable in Python-Markdown
        ("x {#b}{#a}", "x {#b}{#a}"),  # attr_list's strict mode: a stray `}` voids the list
        ("x ## {#y}", "x"),
        ("a \\*not em\\* \\_x\\_", "a *not em* _x_"),
        ("  spaced    out  ", "spaced out"),
    ],
)
def test_strip_inline(raw, plain):
    assert strip_inline(raw) == plain


@pytest.mark.parametrize(
    ("text", "slug"),
    [
        ("Hello, World!", "hello-world"),
        ("Über uns — “quotes”", "uber-uns-quotes"),
        ("snake_case stays", "snake_case-stays"),
        ("  a -- b  ", "a-b"),
        ("2. Reflect — patterns", "2-reflect-patterns"),
        ("日本語", ""),
    ],
)
def test_slugify(text, slug):
    assert slugify(text) == slug


TRICKY = [
    "C#",
    "C \\#",
    "a # b #",
    "A {#cust}",
    "A {: #cust .c}",
    "`a<b>` &amp; *em* _x_ snake_case",
    "[l](u) and [n [e] d](v)",
    "A &copy; B",
    "<b>bold</b> t",
    "a\\_b",
    "__init__ py",
    "*a*b*c",
    "_a_b",
    "***x***",
    "x {.cls}",
    "Ünïcödé ñ",
    "x {#}",
    "x {#a #b}",
    "![logo](l.png) Logo",
    "2 * 3 * 4",
    "a__b__c",
    "**bold** and __strong__",
    "Über-uns — “quotes” & ‘more’",
    "1. Observe",
    "2. Reflect — patterns",
    "<!-- c --> vis",
    "spaced    out   ",
    "tab\there",
    "`code` `` a`b ``",
    "x ##",
    "x {#y} ##",
    "&lt;tag&gt;",
    "a&b",
    "'quote' \"dq\"",
    "dash-case_and_snake",
    "\\*not em\\*",
    "a * b",
    "foo_bar_",
    "x",
    "x",
    "x_1",
    "x",
    "cust",
    "",
    "",
    "-",
    "--",
    "_",
    "_1",
    "_",
]


@pytest.mark.parametrize("level", [1, 2])
def test_anchors_match_python_markdown_toc(level):
    body = "\n\n".join("#" * level + " " + text for text in TRICKY)
    body += "\n\nSetext *one*\n===\n\nSetext two\n---\n\n  Indented\n===\n\n```\n# in code\n```\n\nx\n---\n"
    assert [(h.level, h.anchor, h.text) for h in scan(body).headings] == toc(body)


@pytest.mark.parametrize(
    "body",
    [
        "# x\n\n# x {#x_1}\n\n# x",
        "# H\n\n# h\n\n# H",
        "# x_1\n\n# x\n\n# x",
        "# H\nText\n---",
        "Title\n===\ntext",
        "# _\n\n# _1\n\n# _",
    ],
)
def test_dedup_matches_python_markdown_toc(body):
    assert [(h.level, h.anchor, h.text) for h in scan(body).headings] == toc(body)


# -- links -------------------------------------------------------------------------------


def test_wikilink_forms():
    body = "See [[ownership]], [[products/kb|KB]] and\n  [[root cause#Why it matters|why]] [[x#h]] ![[emb]]"
    assert links(body) == [
        (W, "ownership", None, None, 1, 5, "[[ownership]]"),
        (W, "products/kb", None, "KB", 1, 20, "[[products/kb|KB]]"),
        (W, "root cause", "Why it matters", "why", 2, 3, "[[root cause#Why it matters|why]]"),
        (W, "x", "h", None, 2, 37, "[[x#h]]"),
        (W, "emb", None, None, 2, 45, "![[emb]]"),
    ]


def test_wikilink_escaped_pipe_in_table():
    assert links("| [[a\\|A]] |")[0][1:4] == ("a", None, "A")


def test_wikilink_start_end_offsets():
    body = "ab\n[[ownership|Own]]"
    (link,) = scan(body).links
    assert (link.start, link.end, link.line, link.col) == (3, 20, 2, 1)


def test_markdown_links_and_images():
    body = (
        '[a](b.md) [sp](<my file.md#s p>) [t](c.md "Title") [a [b] c](x.md)\n'
        "[self](#anchor) ![alt](img/p.png 'T') [e]() [p](u(x)y.md)"
    )
    assert links(body) == [
        (M, "b.md", None, "a", 1, 1, "[a](b.md)"),
        (M, "my file.md", "s p", "sp", 1, 11, "[sp](<my file.md#s p>)"),
        (M, "c.md", None, "t", 1, 34, '[t](c.md "Title")'),
        (M, "x.md", None, "a [b] c", 1, 52, "[a [b] c](x.md)"),
        (M, "", "anchor", "self", 2, 1, "[self](#anchor)"),
        (IMG, "img/p.png", None, "alt", 2, 17, "![alt](img/p.png 'T')"),
        (M, "", None, "e", 2, 39, "[e]()"),
        (M, "u(x)y.md", None, "p", 2, 45, "[p](u(x)y.md)"),
    ]


def test_autolinks_and_reference_definitions():
    # a definition is a link where it is used; `<a b.md>` (a space) is no definition
    body = (
        'go <https://e.com/a#f> now\n[id]: ./x.md#h "T"\n   [two]: <a b.md>\n    [code]: no.md\n'
        "  [three]: <c.md>\n\n[id] [code] [x][THREE]"
    )
    assert links(body) == [
        (M, "https://e.com/a", "f", None, 1, 4, "<https://e.com/a#f>"),
        (R, "./x.md", "h", "id", 2, 1, '[id]: ./x.md#h "T"'),
        (R, "c.md", None, "three", 5, 3, "[three]: <c.md>"),
    ]


def test_unused_reference_definitions_are_no_links():
    assert links("[a]: a.md\n[b]: b.md\n\n[b][] and [^a] and `[a]`") == [
        (R, "b.md", None, "b", 2, 1, "[b]: b.md")
    ]


def test_html_href_and_src_attributes():
    body = 'x <a class="c" href="../p/x.md#s">y</a>\n<img\n  src=\'pic.png\' alt=x>'
    assert links(body) == [
        (H, "../p/x.md", "s", None, 1, 3, '<a class="c" href="../p/x.md#s">'),
        (H, "pic.png", None, None, 2, 1, "<img\n  src='pic.png' alt=x>"),
    ]


def test_code_spans_hide_links():
    body = "`[[x]]` and ``a ` [[y]]`` [[z]] `<a href=q.md>` `[l](m.md)`"
    assert links(body) == [(W, "z", None, None, 1, 27, "[[z]]")]


def test_unmatched_backticks_hide_nothing():
    assert [x[1] for x in links("``[[x]]` [[y]]")] == ["x", "y"]


def test_fences_hide_links():
    body = "```md\n[[x]] [a](b.md) <https://x.y>\n```\n~~~\n[r]: s.md\n~~~\n[[after]]"
    assert links(body) == [(W, "after", None, None, 7, 1, "[[after]]")]


def test_indented_code_hides_links_and_html_outside_lists():
    body = "text\n\n    [[code]] <script>\n\n\t[[tab]]\n\n- item\n\n    [[in-list]]\n\npara\n    [[lazy]]"
    assert [x[1] for x in links(body)] == ["in-list", "lazy"]
    assert unsafe(body) == []
    assert [x[1] for x in links("## H\n    [[after-heading]]")] == []


def test_comments_hide_links():
    body = "<!-- [[x]] --> [[y]]\n<!--\n[[z]]\n[q]: r.md\n--> [[w]]"
    assert [(x[1], x[4], x[5]) for x in links(body)] == [("y", 1, 16), ("w", 5, 5)]


def test_links_in_headings_are_links():
    assert links("## See [[ownership]]") == [(W, "ownership", None, None, 1, 8, "[[ownership]]")]


# -- unsafe HTML and URLs -----------------------------------------------------------------


def test_unsafe_elements():
    body = (
        "<script>x</script> <IFRAME src=a.html></iframe>\n<style>\n<meta charset=utf-8>"
        "<base href=/><form><object><embed/>"
    )
    assert unsafe(body) == [
        (1, 1, "<script> element"),
        (1, 20, "<iframe> element"),
        (2, 1, "<style> element"),
        (3, 1, "<meta> element"),
        (3, 21, "<base> element"),
        (3, 34, "<form> element"),
        (3, 40, "<object> element"),
        (3, 48, "<embed> element"),
    ]


def test_lookalike_and_closing_tags_are_safe():
    assert unsafe("</script> <scripts> <formula> <p>form</p> script: x") == []


def test_event_handlers():
    body = "<img src=x.png onerror=alert(1)>\n<svg/onload=\"a()\"> <a\n ONCLICK = 'x'>"
    assert unsafe(body) == [
        (1, 16, "inline event handler onerror="),
        (2, 6, "inline event handler onload="),
        (3, 2, "inline event handler onclick="),
    ]


def test_unsafe_url_schemes():
    body = (
        "[x](javascript:alert(1)) ![i](data:image/png;base64,AA) <vbscript:msgbox>\n"
        "[r]: JavaScript:void(0)\n"
        '<a href=" java&#9;script:x">a</a> <img src="DATA:text/html,x"> [s](<java\tscript:y>)'
    )
    assert unsafe(body) == [
        (1, 5, "javascript: URL"),
        (1, 31, "data: URL"),
        (1, 58, "vbscript: URL"),
        (2, 6, "javascript: URL"),
        (3, 10, "javascript: URL"),
        (3, 45, "data: URL"),
        (3, 69, "javascript: URL"),
    ]
    assert [x.target for x in scan(body).links][:2] == ["javascript:alert(1)", "data:image/png;base64,AA"]


def test_safe_urls_are_not_unsafe():
    assert unsafe("[x](https://javascript.info) [y](notes/data:x.md) <a href='#javascript:'>") == []


def test_code_hides_unsafe_html():
    assert unsafe("`<script>` and\n```\n<iframe>\n```\n<!-- <script> -->") == []


def test_unclosed_fence_and_comment_still_checked_for_unsafe_html():
    assert unsafe("```\n<script>") == [(2, 1, "<script> element")]
    assert unsafe("<!-- never closed\n<a onclick=x>") == [(2, 4, "inline event handler onclick=")]
    assert scan("<!-- never closed\n[[x]]").links == ()


# -- suppressions ------------------------------------------------------------------------


def test_suppression_covers_its_line_and_the_next():
    body = "text\n<!-- kb: ignore KB407 KB404 -->\n[[x]]"
    assert scan(body).suppressions == {2: frozenset({"KB407", "KB404"}), 3: frozenset({"KB407", "KB404"})}


def test_suppression_without_codes_means_all():
    assert scan("[[x]] <!-- kb: ignore -->").suppressions == {1: frozenset({"*"}), 2: frozenset({"*"})}


def test_suppressions_merge_and_span_multiline_comments():
    body = "<!-- kb: ignore KB404 -->\n<!-- kb:ignore\n  kb406 because -->\nx"
    assert scan(body).suppressions == {
        1: frozenset({"KB404"}),
        2: frozenset({"KB404", "KB406"}),
        3: frozenset({"KB406"}),
        4: frozenset({"KB406"}),
    }


def test_suppressions_in_code_do_not_count():
    assert scan("```\n<!-- kb: ignore -->\n```\n`<!-- kb: ignore -->`").suppressions == {}


# -- the record types and robustness --------------------------------------------------------


def test_records_are_frozen():
    result = scan("# T\n[[x]] <script>")
    assert isinstance(result, BodyScan)
    for record in (result.headings[0], result.links[0], result.unsafe[0]):
        assert isinstance(record, (Heading, Link, Unsafe))
        with pytest.raises(AttributeError):
            record.line = 9  # type: ignore[misc]


def test_empty_body():
    assert scan("") == BodyScan((), (), (), None, {})


TOKENS = [*"[]()<>!#`~-=*_|{}:/\"' \n\tahjs.", "<!--", "-->", "[[", "](", "on", "src=", "```", "\n\n"]
MARKDOWNISH = st.lists(st.sampled_from(TOKENS), max_size=60).map("".join)


@settings(max_examples=300, deadline=None)
@given(st.one_of(st.text(), MARKDOWNISH))
def test_scan_never_raises_and_positions_are_consistent(body):
    result = scan(body)
    for link in result.links:
        assert body[link.start : link.end][:1] in ("[", "!", "<")
        assert link.line == body.count("\n", 0, link.start) + 1
        assert link.col == link.start - body.rfind("\n", 0, link.start)
    for heading in result.headings:
        assert 1 <= heading.line <= body.count("\n") + 1


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.sampled_from(["x", "x_1", "X", "", "a b", "é", "`x`", "*x*", "_1", "x {#x_2}", "y {#x}"]),
        max_size=12,
    )
)
def test_generated_anchors_match_toc_and_are_unique(texts):
    body = "\n\n".join(f"## {t}" for t in texts)
    headings = scan(body).headings
    assert [(h.level, h.anchor, h.text) for h in headings] == toc(body)
    if not any("{#" in t for t in texts):  # custom ids may repeat; generated ones never do
        assert len({h.anchor for h in headings}) == len(headings)


# -- as the renderer reads it (tests/test_oracle.py holds the whole reading to Python-Markdown) --


def test_footnotes_are_not_links_but_their_text_holds_links():
    body = "A note[^1].\n\n[^1]: This can vary [a lot](lot.md).\n    More [here](here.md).\n"
    assert [(x.target, x.line) for x in scan(body).links] == [("lot.md", 3), ("here.md", 4)]


def test_link_text_across_lines_and_images_in_links():
    body = "see [foo\nbar](x.md#a) and [![img](a.png)](b.md)"
    assert links(body) == [
        (M, "x.md", "a", "foo\nbar", 1, 5, "[foo\nbar](x.md#a)"),
        (M, "b.md", None, "![img](a.png)", 2, 18, "[![img](a.png)](b.md)"),
        (IMG, "a.png", None, "img", 2, 19, "![img](a.png)"),
    ]


def test_urls_with_spaces_and_titles_are_links_as_the_renderer_reads_them():
    body = '[x](#Thanks and praise) [y](a b.md "T") [z](p_(1).md)'
    assert [(x.target, x.anchor) for x in scan(body).links] == [
        ("", "Thanks and praise"),
        ("a b.md", None),
        ("p_(1).md", None),
    ]


def test_raw_html_blocks_hide_markdown_but_not_tags():
    body = '<div>\n# no\n[no](no.md) <a href="yes.md">y</a>\n<!-- kb: ignore KB406 -->\n</div>\n\n# yes\n'
    result = scan(body)
    assert [h.anchor for h in result.headings] == ["yes"]
    assert [x.target for x in result.links] == ["yes.md"]
    assert result.suppressions == {4: frozenset({"KB406"}), 5: frozenset({"KB406"})}
    assert heads('<div markdown="1">\n# yes\n</div>') == [(1, "yes", "yes", 2, 1)]


def test_headings_in_containers():
    body = "- ### In a list\n\n> ## Quoted\n\n!!! note\n    ## In a note\n\n#word\n"
    assert [(h.level, h.anchor, h.line, h.col) for h in scan(body).headings] == [
        (3, "in-a-list", 1, 3),
        (2, "quoted", 3, 3),
        (2, "in-a-note", 6, 5),
        (1, "word", 8, 1),
    ]


def test_indented_code_only_where_a_block_starts_outside_containers():
    body = "1. step\n\n    [in item](a.md)\n\n        [code](b.md)\n\npara\n    [lazy](c.md)\n\n    [code](d.md)\n"
    assert [x.target for x in scan(body).links] == ["a.md", "c.md"]
