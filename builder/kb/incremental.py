"""What one run of the pipeline remembers for the next (`kb serve`), so it redoes only what changed.

After an edit the pure stages run again (they are fast), and this memory decides the rest:

- git history is read again only when HEAD moved (a commit, a checkout), since reading it
  walks the whole log; the loop feeds' stage dates come with it, as in `kb build`;
- an edit that changed only a document's body re-emits that document's page alone (no other
  page shows its prose); anything else re-emits the tree (emit still writes only what changed);
- the render is MkDocs' dirty build of the changed pages, unless the nav, the site name or the
  site configuration changed, or a page was removed: every page prints those, so a full render;
- MkDocs' dirty build writes a search index of only the pages it re-rendered, so the full
  index is kept here and merged;
- an edit that makes a readable page unreadable (broken frontmatter) stops the run before
  emit: the last good site stays served until it is fixed.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kb import searchindex
from kb.settings import Settings

#: A document's snapshot: (readable, frontmatter, links, headings, body). Keys starting with a
#: space hold the templates and the assets, which no document key can start with.
Snapshot = dict[str, tuple[Any, ...]]
#: No HEAD read yet (None is taken: a folder outside git, or a repository with no commit).
UNREAD = "unread"


@dataclass
class Memory:
    """The state kept between runs; `kb.pipeline.run` reads and updates it."""

    head: str | None = UNREAD
    """The commit HEAD named when `history` and `stages` were read."""
    history: Any = None
    stages: dict[str, list[tuple[int, str]]] = field(default_factory=dict)
    snapshot: Snapshot = field(default_factory=dict)
    emitted: Any = None
    layout: Any = None
    """Nav (with titles), site name and site configuration: what every page shows."""
    search: dict[str, list[dict[str, Any]]] = field(default_factory=dict)

    def broken(self, after: Snapshot) -> set[str]:
        """Documents readable in the last good run whose frontmatter can no longer be read."""
        before = self.snapshot
        return {
            key
            for key, entry in after.items()
            if not key.startswith(" ") and not entry[0] and key in before and before[key][0]
        }

    def prose_edits(self, after: Snapshot) -> list[str] | None:
        """The documents whose body text alone changed, or None when anything else did (then
        the whole tree is emitted again): a new, removed or renamed file, frontmatter, links,
        headings; or no tree emitted yet."""
        before = self.snapshot
        if self.emitted is None or before.keys() != after.keys():
            return None
        changed = [key for key in after if after[key] != before[key]]
        if any(after[key][:-1] != before[key][:-1] for key in changed):
            return None
        return changed

    def needs_full_render(self, layout: Any, removed: bool) -> bool:
        """A removed page, a changed nav, or a changed title shown in it (every page prints the
        whole nav, and its neighbours' titles in the footer) changes other pages' HTML. A new
        loop renders fine in a dirty build: loops are not in the nav."""
        return self.layout is None or layout != self.layout or removed

    def merge_search(self, site_dir: Path, full: bool) -> None:
        """Keep the whole site's search index: after a dirty build re-rendered pages keep their
        place and new ones come last."""
        data = searchindex.read(site_dir)
        if data is None:
            return
        pages = searchindex.by_page(data.get("docs", []))
        if full:
            self.search = pages
        else:
            self.search.update(pages)
            searchindex.write(site_dir, data, self.search)


def snapshot(checked: Any, settings: Settings) -> Snapshot:
    """Per document: what other pages may show of it (frontmatter, links, headings), then its
    body; and the templates, whose change re-emits everything."""
    from kb.emit_state import template_files

    out: Snapshot = {" templates": tuple((str(p), p.stat().st_mtime_ns) for p in template_files(settings))}
    for doc in checked.corpus.documents:
        links = tuple((x.kind, x.target, x.anchor, x.label) for x in doc.scan.links)
        headings = tuple((h.level, h.text, h.anchor) for h in doc.scan.headings)
        out[doc.key] = (doc.readable, repr(doc.meta), links, headings, doc.body)
    out[" assets"] = (tuple(a.rel for a in checked.corpus.assets),)
    return out


def site_config(root: Path) -> tuple[Any, ...]:
    """What changes every page's HTML without changing its markdown: mkdocs.yml, theme overrides."""
    from kb import render

    config = render.config_file(root)
    stamps = [(str(p), p.stat().st_mtime_ns) for p in sorted((root / "templates").rglob("*")) if p.is_file()]
    return (config.read_bytes(), tuple(stamps))
