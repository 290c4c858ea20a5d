"""Differential check of kb's body scanner against Python-Markdown, the site's renderer.

    python bench/oracle.py DIR [--config mkdocs.yml] [--examples 3]

Renders every markdown file under DIR (frontmatter removed as kb removes it) with
Python-Markdown under the configured extensions (the given mkdocs.yml, else DIR's or its
parents', else kb's built-in set), and compares with what `kb.markdown.scan` extracts:

- links: every `href`/`src` in the HTML that is not an external URL (no scheme, not `//`),
  except toc's permalinks and footnotes' own links, against kb's links that are not
  wikilinks (kb's own syntax, which the site never sees as such), each as `target#anchor`;
- heading ids: the `id` of every `<h1>`…`<h6>`, in order, against kb's anchors.

Both sides are compared as sets per file (links) and as lists (ids). It prints the
disagreements by class with counts and a few examples. `tests/test_oracle.py` holds kb to
this same comparison (`compare`) over its fixtures.
"""

from __future__ import annotations

import argparse
import importlib
import re
import sys
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from functools import lru_cache
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "builder"))

from kb import block, mdconfig  # noqa: E402
from kb.markdown import LinkKind, configure, scan  # noqa: E402

_EXTERNAL = re.compile(r"^(?:[a-zA-Z][a-zA-Z0-9+.-]*:|//)")
_SKIP_CLASSES = {"headerlink", "footnote-ref", "footnote-backref"}


@dataclass
class Diff:
    """What one body's two readings disagree on: (class, item) pairs."""

    items: list[tuple[str, str]] = field(default_factory=list)


class _Collector(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.links: set[str] = set()
        self.ids: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if tag in ("h1", "h2", "h3", "h4", "h5", "h6") and a.get("id"):
            self.ids.append(a["id"] or "")
        if set((a.get("class") or "").split()) & _SKIP_CLASSES:
            return
        for name in ("href", "src"):
            url = a.get(name)
            if url is not None and local(url) and not url.startswith("#__"):  # code line anchors
                self.links.add(url.strip())

    handle_startendtag = handle_starttag


def local(url: str) -> bool:
    """Whether a URL is one kb checks: not external (no scheme, not `//host`)."""
    return not _EXTERNAL.match(url.strip())


def _resolve(value: Any) -> Any:
    """A YAML value with its `!!python/name:` and `!!python/object/apply:` tags resolved."""
    if isinstance(value, mdconfig.Tag):
        if value.tag.startswith("name:"):
            module, _, name = value.tag[5:].rpartition(".")
            return getattr(importlib.import_module(module), name)
        if value.tag.startswith("object/apply:"):
            module, _, name = value.tag[13:].rpartition(".")
            func = getattr(importlib.import_module(module), name)
            spec = value.value if isinstance(value.value, dict) else {"args": value.value or []}
            return func(*spec.get("args", []), **(spec.get("kwds") or {}))
        return value.value  # !ENV and others: as written
    if isinstance(value, dict):
        return {k: _resolve(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_resolve(v) for v in value]
    return value


@lru_cache(maxsize=8)
def _renderer_args(text: str) -> tuple[tuple[str, ...], dict[str, Any]]:
    names, configs = mdconfig.read_extensions(text)
    names = [n for n in names if n != "pymdownx.snippets"]
    return tuple(names), {k: _resolve(v) for k, v in configs.items() if k in names}


def render(body: str, config_text: str) -> str:
    import markdown

    names, configs = _renderer_args(config_text)
    return markdown.Markdown(extensions=list(names), extension_configs=configs).convert(body)


def site_reading(body: str, config_text: str) -> tuple[set[str], list[str]]:
    """(local link targets, heading ids) of the rendered HTML."""
    collector = _Collector()
    collector.feed(render(body, config_text))
    collector.close()
    return collector.links, collector.ids


def kb_reading(body: str, config: mdconfig.MarkdownConfig) -> tuple[dict[str, str], list[str]]:
    """(local link targets -> kind, heading ids) as kb's scanner reads the body."""
    configure(config)
    result = scan(body, config)
    links: dict[str, str] = {}
    for x in result.links:
        if x.kind is LinkKind.WIKI:
            continue
        url = x.target if x.anchor is None else f"{x.target}#{x.anchor}"
        if local(url):
            links.setdefault(url.strip(), x.kind.value)
    return links, [h.anchor for h in result.headings]


def compare(body: str, config_text: str) -> Diff:
    """Where kb's scanner and the renderer disagree on a body."""
    config = mdconfig.from_text(config_text)
    site_links, site_ids = site_reading(body, config_text)
    kb_links, kb_ids = kb_reading(body, config)
    diff = Diff()
    for url in sorted(set(kb_links) - site_links):
        diff.items.append((f"link only kb sees ({kb_links[url]})", url))
    for url in sorted(site_links - set(kb_links)):
        diff.items.append(("link only the site has", url))
    if kb_ids != site_ids:
        only_kb = Counter(kb_ids) - Counter(site_ids)
        only_site = Counter(site_ids) - Counter(kb_ids)
        for anchor in sorted(only_kb.elements()):
            diff.items.append(("heading id only kb sees", anchor))
        for anchor in sorted(only_site.elements()):
            diff.items.append(("heading id only the site has", anchor))
        if not only_kb and not only_site:
            diff.items.append(("heading ids in another order", " ".join(kb_ids)))
    return diff


def body_of(path: Path) -> str:
    """A file's markdown body as kb reads it (frontmatter removed, LF newlines)."""
    text = path.read_text(encoding="utf-8", errors="replace").replace("\r\n", "\n").replace("\r", "\n")
    text = text.removeprefix("\ufeff")
    cut, _ = block.split(str(path), text, required=False)
    return cut.body


def find_config(folder: Path) -> Path | None:
    for parent in (folder, *folder.parents):
        for name in mdconfig.CONFIG_NAMES:
            if (parent / name).is_file():
                return parent / name
    return None


def builtin_config_text() -> str:
    path = mdconfig.config_path(Path("/nonexistent"))
    return path.read_text(encoding="utf-8") if path is not None else ""


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("dir", type=Path)
    parser.add_argument("--config", type=Path, help="mkdocs.yml to read the extensions from")
    parser.add_argument("--examples", type=int, default=3, help="examples printed per class")
    args = parser.parse_args(argv)
    config = args.config or find_config(args.dir)
    config_text = config.read_text(encoding="utf-8") if config else builtin_config_text()
    print(f"extensions from {config or 'kb built-in config'}")
    counts: Counter[str] = Counter()
    files: Counter[str] = Counter()
    examples: dict[str, list[str]] = defaultdict(list)
    paths = sorted(p for p in args.dir.rglob("*.md") if p.is_file())
    for path in paths:
        try:
            diff = compare(body_of(path), config_text)
        except Exception as exc:  # noqa: BLE001 - a renderer crash is a finding of its own
            diff = Diff([("renderer failed", f"{type(exc).__name__}: {exc}")])
        seen = set()
        for cls, item in diff.items:
            counts[cls] += 1
            if cls not in seen:
                files[cls] += 1
                seen.add(cls)
            if len(examples[cls]) < args.examples:
                examples[cls].append(f"{path.relative_to(args.dir)}: {item}")
    total = sum(counts.values())
    print(f"{len(paths)} files, {total} disagreements")
    for cls, n in counts.most_common():
        print(f"  {n:6d} in {files[cls]:4d} files  {cls}")
        for ex in examples[cls]:
            print(f"           e.g. {ex[:150]}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
