"""What emit read, kept beside the tree it wrote (`docs-state.json`): the digests that let the next
build emit nothing when nothing changed, or only the pages of documents whose prose alone did.

`Inputs` holds one digest of what every page may show and two per document (its shape: what
other pages may show of it; its prose: its body). The state file is written atomically after the
files and removed before they change (kb.emit), so it never describes a tree that is not on disk.
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from kb import templating

if TYPE_CHECKING:
    from kb.emit import Emitted
    from kb.forge import Forge
    from kb.history import History
    from kb.pipeline import Checked
    from kb.settings import Settings


#: The state file's format: a state of another format (or kb version) is not read.
STATE_FORMAT = 2


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
    footer alone says so). Digests, not texts: 10,000 documents make a
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

    def prose_edits(self, state: Mapping[str, Any]) -> list[str] | None:
        """The documents whose body alone changed since `state` was written, or None when
        anything else did (or the state is not one this kb wrote)."""
        if state.get("format") != STATE_FORMAT or state.get("shared") != self.shared:
            return None
        before = state.get("docs")
        if not isinstance(before, dict) or before.keys() != self.docs.keys():
            return None
        changed = []
        for key, (shape, prose) in self.docs.items():
            old = before[key]
            if not isinstance(old, list) or len(old) != 2 or old[0] != shape:
                return None
            if old[1] != prose:
                changed.append(key)
        return changed

    def state(self, result: Emitted, mermaid: set[str]) -> dict[str, Any]:
        """The state file's content once `result` is on disk; `mermaid`: the emitted files that
        name Mermaid's script (emit copies it while there is one)."""
        return {
            "mermaid": sorted(mermaid),
            "format": STATE_FORMAT,
            "fingerprint": self.fingerprint,
            "shared": self.shared,
            "docs": self.docs,
            "nav": result.nav,
            "pages": result.pages,
            "site_name": result.site_name,
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
        repr(sorted(stages.items())),
        repr((history.available, history.shallow) if history else None),
        repr(forge),
    ):
        shared.update(_encode(part))
    for path in template_files(settings) + [settings.content / a.rel for a in checked.corpus.assets]:
        try:
            info = path.stat()
        except OSError:
            continue
        shared.update(_encode(f"{path}\0{info.st_size}\0{info.st_mtime_ns}"))
    files = history.files if history else {}
    docs: dict[str, tuple[str, str]] = {}
    for doc in checked.corpus.documents:
        scan = doc.scan
        links = [(x.kind.value, x.target, x.anchor, x.label) for x in scan.links]
        headings = [(h.level, h.text, h.anchor, h.has_content) for h in scan.headings]
        hist = files.get(doc.path)
        uncommitted = bool(hist and hist.uncommitted)
        if hist is not None and uncommitted:
            # Only the document's own footer says "uncommitted changes": the first edit of a
            # committed file is still an edit of its page alone.
            hist = dataclasses.replace(hist, uncommitted=False)
        shape = _digest()
        shape.update(
            _encode(
                f"{doc.path}\0{doc.readable}\0{doc.meta!r}\0{doc.info!r}\0{hist!r}\0"
                f"{scan.title!r}\0{links!r}\0{headings!r}\0{scan.deep is not None}"
            )
        )
        prose = _digest()
        prose.update(_encode(str(uncommitted)))
        prose.update(doc.body.encode("utf-8", "surrogatepass"))
        docs[doc.key] = (shape.hexdigest(), prose.hexdigest())
    return Inputs(shared.hexdigest(), docs)


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
