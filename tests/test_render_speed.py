"""kb's own MkDocs plugin (kb.render_speed): fewer bytes, the same page."""

from __future__ import annotations

import re
from html.parser import HTMLParser
from pathlib import Path

from kb.render_speed import squeeze

VERBATIM = {"pre", "code", "kbd", "textarea", "script", "style"}


class _Events(HTMLParser):
    """Tags, attributes and text, with whitespace runs outside verbatim elements as one space:
    what a browser renders from the page."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.events: list[tuple] = []
        self.depth = 0

    def handle_starttag(self, tag: str, attrs: list) -> None:
        self.events.append(("start", tag, tuple(attrs)))
        self.depth += tag in VERBATIM

    def handle_endtag(self, tag: str) -> None:
        self.events.append(("end", tag))
        self.depth -= tag in VERBATIM

    def handle_data(self, data: str) -> None:
        if not self.depth:
            data = re.sub(r"\s+", " ", data)
        if self.events and self.events[-1][0] == "text":
            data = self.events.pop()[1] + data
        self.events.append(("text", data))


def rendered(html: str) -> list[tuple]:
    parser = _Events()
    parser.feed(html)
    parser.close()
    return parser.events


PAGE = """<!doctype html>
<html>
  <head>
    <style>
      a { color: red }

      b { color: blue }
    </style>
    <script>
      var s = `line one

        line two`;
    </script>
  </head>
  <body>

    <nav>
      <ul>

          <li><a href="x/" title="a  b">X</a></li>


          <li>text
            <span>after text</span>
          </li>
      </ul>
    </nav>
    <pre><code>def f():

    <span class="k">return</span> 1
</code></pre>
    <p>Inline <code>a
        <span>b</span></code> and <kbd>Ctrl
   <b>C</b></kbd>.</p>
    <textarea>
one

    <two>
</textarea>
  </body>
</html>
"""


def test_squeeze_drops_whitespace_before_tags_and_keeps_what_renders() -> None:
    out = squeeze(PAGE)
    assert len(out) < len(PAGE) * 0.9
    assert "<body>\n<nav>\n<ul>\n<li>" in out  # blank lines and indentation before tags: gone
    assert "\n<li>" in out and "\n          <li>" not in out
    for kept in (
        "a { color: red }\n\n      b",
        "line one\n\n        line two",
        "def f():\n\n    <span",
        "<code>a\n        <span>",
        "Ctrl\n   <b>",
        "one\n\n    <two>",
    ):
        assert kept in out, kept
    assert rendered(out) == rendered(PAGE)


def test_squeeze_is_idempotent_and_leaves_text_alone() -> None:
    once = squeeze(PAGE)
    assert squeeze(once) == once
    assert squeeze("plain text\n\n   more text") == "plain text\n\n   more text"


def test_a_plain_handbook_ships_no_mermaid_and_squeezed_pages(tmp_path: Path) -> None:
    """No page of plain pages loads mermaid, so the 2.75 MB script is not shipped; kb's plugin
    runs on the build: no blank line before a tag, code blocks keep theirs."""
    from site_helpers import run_kb, write_tree

    root = write_tree(
        tmp_path / "hb",
        {
            "content/index.md": "# Home\n\nSee [the guide](guide.md).\n",
            "content/guide.md": "# Guide\n\n```python\ndef f():\n\n    return 1\n```\n\nBack [home](index.md).\n",
        },
    )
    result = run_kb(["build", "--out", str(tmp_path / "site")], root)
    assert result.exit_code == 0, result.output
    site = tmp_path / "site"
    assert not (site / "assets/kb/mermaid.min.js").exists()
    assert not (root / ".kb-cache/docs/assets/kb/mermaid.min.js").exists()
    page = (site / "guide/index.html").read_text(encoding="utf-8")
    assert re.search(r"\n[ \t]*\n[ \t]*<", page.split("<pre")[0]) is None
    assert re.search(r"\):\s*\n\s*\n", re.sub(r"<[^>]+>", "", page.split("<pre", 1)[1]))
