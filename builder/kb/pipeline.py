"""The only module that knows the order of the stages: load → validate → link → history → emit → render.

`lint` runs the pure stages 1–3; `build` (in kb.build) adds history, emit and render.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from functools import partial

from kb.contracts import check_contracts
from kb.findings import Finding, Severity, apply_severities
from kb.link import Graph, link
from kb.load import Corpus, load, paused_gc
from kb.markdown import configure
from kb.mdconfig import for_root
from kb.model import Document
from kb.settings import Settings
from kb.siteconfig import site_config_findings
from kb.validate import validate


@dataclass(frozen=True)
class Checked:
    """The result of stages 1–3: the corpus, its graph, and every finding (sorted)."""

    corpus: Corpus
    graph: Graph
    findings: list[Finding]

    @property
    def errors(self) -> list[Finding]:
        return [f for f in self.findings if f.severity is Severity.ERROR]


def check(settings: Settings, today: dt.date | None = None) -> Checked:
    """Load, validate and link the whole handbook.

    Validation works document by document, so it runs inside `load`, on each chunk of
    documents in the process that read it (several, on a large handbook).
    """
    configure(for_root(settings.root))  # read bodies as the site's markdown extensions do
    with paused_gc():  # see paused_gc: the stages build long-lived records, not cycles
        corpus = load(settings, partial(validate, settings=settings, today=today or dt.date.today()))
        found = list(corpus.findings)
        found.extend(corpus.checked)
        graph, link_findings = link(corpus.documents, corpus.assets, settings.content)
        found.extend(link_findings)
        found.extend(check_contracts(graph, settings.require_non_goals))
        found.extend(site_config_findings(settings.root, corpus.documents))
        found = suppress(found, corpus.documents)
        found = apply_severities(found, settings.severity)
        found.sort(key=Finding.sort_key)
        return Checked(corpus, graph, found)


def suppress(found: Iterable[Finding], docs: Iterable[Document]) -> list[Finding]:
    """Drop findings silenced by `<!-- kb: ignore CODE -->` on their line or the line before."""
    by_path: dict[str, dict[int, frozenset[str]]] = {}
    for doc in docs:
        if doc.scan.suppressions:
            by_path[doc.path] = {
                doc.body_line + line - 1: codes for line, codes in doc.scan.suppressions.items()
            }
    if not by_path:
        return list(found)
    out = []
    for f in found:
        codes = by_path.get(f.path, {}).get(f.line, frozenset())
        if f.code not in codes and "*" not in codes:
            out.append(f)
    return out


def only_paths(found: Iterable[Finding], paths: Iterable[str]) -> list[Finding]:
    """Findings in the given files or folders (repository-relative, POSIX)."""
    wanted = [p.rstrip("/") for p in paths]
    return [
        f for f in found if any(f.path == p or f.path.startswith(p + "/") or p in ("", ".") for p in wanted)
    ]
