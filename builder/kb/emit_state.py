"""What emit read, kept beside the tree it wrote (`docs-state.json`): the digests that let the next
build emit nothing when nothing changed, or only the pages a change shows on (kb.emit_partial).

`Inputs` holds one digest of what every page may show and two per document (its shape: what
other pages may show of it; its prose: its body). The state also names every file of the tree
and, per page, the documents whose shape it shows. It is written atomically after the files and
removed before they change (kb.emit), so it never describes a tree that is not on disk.
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import json
from collections.abc import Mapping
from dataclasses import dataclass
from enum import Enum
from pathlib import Path
from typing import TYPE_CHECKING, Any

from kb import templating

if TYPE_CHECKING:
    from kb.emit import Emitted
    from kb.forge import Forge
    from kb.history import History
    from kb.link import Graph
    from kb.pipeline import Checked
    from kb.settings import Settings


#: The state file's format: a state of another format (or kb version) is not read.
STATE_FORMAT = 4


def _digest() -> Any:
    import hashlib

    return hashlib.blake2b(digest_size=16)


def _encode(part: str) -> bytes:
    return part.encode("utf-8", "surrogatepass") + b"\0"


@dataclass(frozen=True)
class Inputs:
    """Everything emit reads, as digests: `shared` (kb, settings, the run's day, the loops'
    stage log, history's kind, the forge, templates and assets: what every page may show) and,
    per document key, (`shape`, `prose`): `shape` is all of the document another page may show
    or that decides its path (path, frontmatter, record, history, title, links and headings
    without their positions), `prose` its body and whether git sees it uncommitted (its own
    footer alone says so). A document's kb.json entry is a function of its shape and of what
    all pages share, so a one-edit emit keeps the others' (kb.emit.kb_json). Digests, not texts: 10,000 documents make a
    state file of about a megabyte, read and written in milliseconds."""

    shared: str
    docs: dict[str, tuple[str, str]]

    @functools.cached_property
    def fingerprint(self) -> str:
        digest = _digest()
        digest.update(_encode(self.shared))
        for key in sorted(self.docs):
            shape, prose = self.docs[key]
            digest.update(_encode(f"{key}\0{shape}\0{prose}"))
        return digest.hexdigest()

    def edits(self, state: Mapping[str, Any]) -> Edits | None:
        """What changed since `state` was written: the documents whose shape changed (added and
        removed ones too) and those whose prose alone did; None when what all pages share
        changed (or the state is not one this kb wrote)."""
        if state.get("format") != STATE_FORMAT or state.get("shared") != self.shared:
            return None
        before = state.get("docs")
        if not isinstance(before, dict) or not _pages_known(state):
            return None
        shapes = {key for key in before.keys() ^ self.docs.keys()}
        prose = []
        for key, (shape, text) in self.docs.items():
            old = before.get(key)
            if old is None:
                continue
            if not isinstance(old, list) or len(old) != 2:
                return None
            if old[0] != shape:
                shapes.add(key)
            elif old[1] != text:
                prose.append(key)
        return Edits(frozenset(shapes), tuple(prose))

    def state(
        self,
        result: Emitted,
        mermaid: set[str],
        files: set[str],
        shows: Mapping[str, frozenset[str]],
        kb_json: Mapping[str, tuple[int, int]],
    ) -> dict[str, Any]:
        """The state file's content once `result` is on disk; `mermaid`: the emitted files that
        name Mermaid's script (emit copies it while there is one); `files`: every file of the
        tree; `shows`: page → the documents whose shape it shows (pages shown on no list show
        any document's), by their place in `docs`, so 10,000 loops keep it near a megabyte;
        `kb_json`: where each document's entry lies in kb.json (kb.emit.kb_json), in `docs`'
        order (0 for a document it does not list)."""
        place = {key: i for i, key in enumerate(self.docs)}
        return {
            "kb_json": [kb_json.get(key, 0) for key in self.docs],
            "mermaid": sorted(mermaid),
            "format": STATE_FORMAT,
            "fingerprint": self.fingerprint,
            "shared": self.shared,
            "docs": self.docs,
            "files": sorted(files),
            "shows": {rel: sorted(place[k] for k in keys if k in place) for rel, keys in shows.items()},
            "nav": result.nav,
            "pages": result.pages,
            "site_name": result.site_name,
        }


@dataclass(frozen=True)
class Edits:
    """Documents changed since the last emit: `shapes` (anything another page may show of
    them, or they were added or removed) and `prose` (their body alone)."""

    shapes: frozenset[str]
    prose: tuple[str, ...]


def _pages_known(state: Mapping[str, Any]) -> bool:
    return isinstance(state.get("files"), list) and isinstance(state.get("shows"), dict)


def shown(state: Mapping[str, Any]) -> dict[str, set[str]]:
    """The state's `shows`, with document keys again: page → the documents it showed."""
    keys = list(state["docs"])
    return {rel: {keys[i] for i in places} for rel, places in state["shows"].items()}


def json_spans(state: Mapping[str, Any]) -> dict[str, tuple[int, int]]:
    """The state's `kb_json`, by document key: where each document's entry lies in the
    kb.json the state describes ({} for a state without them)."""
    spans = state.get("kb_json")
    docs = state.get("docs")
    if not isinstance(spans, list) or not isinstance(docs, dict) or len(spans) != len(docs):
        return {}
    return {
        key: (span[0], span[1])
        for key, span in zip(docs, spans, strict=True)
        if isinstance(span, list) and len(span) == 2 and all(isinstance(n, int) for n in span)
    }


def read_inputs(
    checked: Checked,
    history: History | None,
    settings: Settings,
    stages: Mapping[str, list[tuple[int, str]]],
    docs_dir: Path,
    forge: Forge | None,
) -> Inputs:
    """The digests of everything emit reads (see `Inputs`); `forge`: the site's (kb.emit.site_forge)."""
    from kb import __version__
    from kb.render_cache import own_code

    shared = _digest()
    for part in (
        __version__,
        own_code(),  # an installed kb keeps its number from commit to commit
        str(docs_dir),
        repr(settings),
        checked.today.isoformat(),
        repr((history.available, history.shallow) if history else None),
        repr(forge),
        _folders(settings.content) if forge is not None else "",  # where a forge's new file goes
    ):
        shared.update(_encode(part))
    for path in template_files(settings) + [settings.content / a.rel for a in checked.corpus.assets]:
        try:
            info = path.stat()
        except OSError:
            continue
        shared.update(_encode(f"{path}\0{info.st_size}\0{info.st_mtime_ns}"))
    files = history.files if history else {}
    placed = _Placed(checked.graph)
    docs: dict[str, tuple[str, str]] = {}
    for doc in checked.corpus.documents:
        scan = doc.scan
        links = [(value(x.kind), x.target, x.anchor, x.label) for x in scan.links]
        headings = [(h.level, h.text, h.anchor, h.has_content) for h in scan.headings]
        hist = files.get(doc.path)
        uncommitted = bool(hist and hist.uncommitted)
        if hist is not None and uncommitted:
            # Only the document's own footer says "uncommitted changes": the first edit of a
            # committed file is still an edit of its page alone.
            hist = dataclasses.replace(hist, uncommitted=False)
        names = (*(hist.previous_paths if hist else ()), doc.path)
        shape = _digest()
        shape.update(
            _encode(
                f"{doc.path}\0{doc.readable}\0{doc.meta!r}\0{doc.info!r}\0{hist!r}\0"
                f"{scan.title!r}\0{links!r}\0{headings!r}\0{scan.deep is not None}\0"
                f"{[stages.get(name) for name in names]!r}\0{placed(doc.key)!r}"
            )
        )
        prose = _digest()
        prose.update(_encode(str(uncommitted)))
        prose.update(doc.body.encode("utf-8", "surrogatepass"))
        docs[doc.key] = (shape.hexdigest(), prose.hexdigest())
    return Inputs(shared.hexdigest(), docs)


@functools.cache
def value(member: Enum) -> Any:
    """An enum member's value: `.value` is a property, slow at 100,000 calls a build."""
    return member.value


class _Placed:
    """Where a document's page is and what its links and references resolved to, with the
    places of their pages: a change here (a link that resolves elsewhere since a document was
    added, an `index.md` beside a `README.md`) changes its page and those it shows on. Each
    page's URL is made once (a handbook's links point at few pages, many times)."""

    def __init__(self, graph: Graph) -> None:
        self.graph = graph
        self.urls: dict[str, str] = {}

    def url(self, key: str) -> str:
        url = self.urls.get(key)
        if url is None:
            from kb.emit import page_url

            url = self.urls[key] = page_url(self.graph, key)
        return url

    def __call__(self, key: str) -> tuple[Any, ...]:
        graph, url = self.graph, self.url
        if key not in graph.docs:
            return ()
        site = graph.site.get
        edges = sorted((e.target, value(e.kind)) for e in graph.outgoing.get(key, ()))
        links = [
            (r.link.start, r.target, r.anchor, site(r.target, r.target), url(r.target))
            for r in graph.resolved.get(key, ())
        ]
        assets = [(r.link.start, r.target) for r in graph.asset_links.get(key, ())]
        return site(key, key), url(key), edges, links, assets


def _folders(content: Path) -> str:
    """The folders two levels under the content folder: a forge's new-file link opens the
    deepest one of a new file's path that exists (kb.emit._existing_folder)."""
    return repr(sorted(p.relative_to(content).as_posix() for p in content.glob("*/*/") if p.is_dir()))


def template_files(settings: Settings) -> list[Path]:
    folders = [settings.root / "templates", templating.default_templates()]
    return sorted(p for folder in folders if folder.is_dir() for p in folder.rglob("*") if p.is_file())


def read_state(path: Path) -> dict[str, Any]:
    """The state file's content; {} when it is missing, unreadable, of another format or
    written by another kb (then everything is emitted again)."""
    from kb import __version__

    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    if not isinstance(data, dict) or data.get("kb") != __version__:
        return {}
    return data if {"nav", "pages", "site_name", "fingerprint"} <= data.keys() else {}


def write_state(path: Path, data: dict[str, Any]) -> None:
    """Write the state atomically (a temporary file renamed over it): a build killed while
    writing it leaves no state, or the whole of one."""
    import os

    from kb import __version__

    temporary = path.with_name(path.name + ".tmp")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        temporary.write_text(json.dumps({"kb": __version__, **data}, separators=(",", ":")), encoding="utf-8")
        os.replace(temporary, path)
    except OSError:
        with contextlib.suppress(OSError):  # the cache is an optimisation: the next emit does all
            temporary.unlink(missing_ok=True)
