"""kb's own MkDocs plugin for its renders: the same pages in fewer bytes.

Registered by `kb.render.load` on every kb render (it is not needed to render kb's emitted
tree: plain MkDocs builds the same pages, only slower and with more blank lines). Public
plugin events only:

- `on_post_page`: the whitespace Material's templates leave before a tag (blank lines and
  indentation: a third of a plain page's bytes) is cut to one newline, outside `<pre>`, `<code>`, `<kbd>`,
  `<textarea>`, `<script>` and `<style>`. Between tags, HTML renders a newline as it renders
  the run of whitespace it replaces, so the page displays and behaves the same; the search
  index, built from the page's content before this, is unchanged.

Tried and left out: handing MkDocs' per-page `markdown.Markdown()` the configured extensions as
instances built once (Python-Markdown accepts them) gave the same HTML but saved 0.04 ms of
the 0.5 ms a `Markdown()` costs with the built-in extensions: nothing worth a difference from
MkDocs' own way.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from mkdocs.plugins import BasePlugin, event_priority

from kb import templating

NAME = "kb/render"

#: An element whose whitespace is content (Material styles code and kbd `white-space: pre-wrap`).
_VERBATIM = re.compile(r"(<(pre|code|kbd|textarea|script|style)\b.*?</\2\s*>)", re.S | re.I)
#: A line end followed by whitespace (blank lines, indentation) up to a tag (or a verbatim element).
_BEFORE_TAG = re.compile(r"\n[ \t\n]+(?=<|\Z)")


def squeeze(html: str) -> str:
    """`html` with the whitespace before each tag cut to one newline (verbatim elements untouched).

    `_VERBATIM.split` gives text, element, element name, text, ...: about 0.3 ms for a 30 kB
    page, a third of one regex with a callback per match."""
    parts = _VERBATIM.split(html)
    parts[0::3] = [_BEFORE_TAG.sub("\n", text) for text in parts[0::3]]
    del parts[2::3]
    return "".join(parts)


class RenderPlugin(BasePlugin):
    def __init__(self, compiled: Path | None = None) -> None:
        super().__init__()
        self.compiled = compiled
        self.partials: Any = None  # kb.render_partials.Partials of the last render

    @event_priority(100)  # before any template is loaded
    def on_env(self, env: Any, config: Any, files: Any) -> Any:
        from kb import render_partials

        if self.compiled is not None:
            env.bytecode_cache = templating.bytecode_cache(self.compiled)
        self.partials = render_partials.install(env, config)  # partials that read nothing of the page, once
        return env

    def on_post_page(self, output: str, page: Any, config: Any) -> str:
        return squeeze(output)


def add(config: Any, compiled: Path | None = None) -> None:
    """Register the plugin in a loaded MkDocs config (before `build()` runs `on_config`);
    `compiled`: a folder in kb's cache for the theme's compiled templates."""
    if NAME not in config["plugins"]:
        config["plugins"][NAME] = RenderPlugin(compiled)
