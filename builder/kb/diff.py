"""`kb diff [BASE] [HEAD]`: what a change does to the handbook's knowledge, not its lines.

Both sides are checked as whole handbooks (BASE as of its merge base with HEAD, read from git
without a checkout; HEAD a ref, or the working tree when omitted), then compared: loops added
and advanced, principles newly practiced or orphaned, products whose interfaces changed and
who consumes them, links broken or fixed. Markdown for a job summary, or JSON.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from kb.errors import KbError
from kb.link import EdgeKind, Graph
from kb.model import Collection, Stage
from kb.pipeline import Checked, Options, run
from kb.settings import Settings

LINK_CODES = {"KB401", "KB402", "KB403", "KB404", "KB405", "KB406", "KB407", "KB408"}
KINDS = (
    "loops_added",
    "loops_removed",
    "stages_advanced",
    "principles_newly_practiced",
    "principles_orphaned",
    "interfaces_changed",
    "links_broken",
    "links_fixed",
    "loops_unreadable",
)


def diff(settings: Settings, base: str | None, head: str | None) -> dict[str, list[dict[str, Any]]]:
    """Compare the handbook at the merge base of BASE with HEAD (or the working tree)."""
    from kb import git

    repo = git.find_repo(settings.root)
    if repo is None:
        raise KbError("kb diff needs a git repository (and git on PATH)")
    head_sha = git.resolve_ref(repo, head) if head else None
    if base:
        base_sha = git.merge_base(repo, base, head_sha or "HEAD")
    else:
        _, base_sha = git.picked_base(repo, "kb diff", head_sha or "HEAD")
    before = run(settings, Options(rev=base_sha)).checked
    after = run(settings, Options(rev=head_sha, today=before.today)).checked  # no HEAD: the working tree
    return compare(before, after)


def compare(before: Checked, after: Checked) -> dict[str, list[dict[str, Any]]]:
    """Every kind of change, each a list of entries naming the document id."""
    out: dict[str, list[dict[str, Any]]] = {kind: [] for kind in KINDS}
    old, new = _loops(before.graph), _loops(after.graph)
    out["loops_added"] = [
        {"id": i, "title": t, "stage": s} for i, (t, s) in sorted(new.items()) if i not in old
    ]
    unreadable = _unreadable_loops(after)
    out["loops_removed"] = [
        {"id": i, "title": t} for i, (t, _s) in sorted(old.items()) if i not in new and i not in unreadable
    ]
    out["loops_unreadable"] = [
        entry for i, entry in sorted(unreadable.items()) if i in old or i not in _all_loops(before.graph)
    ]
    for ident in sorted(set(old) & set(new)):
        was, now = old[ident][1], new[ident][1]
        if was != now:
            out["stages_advanced"].append(
                {
                    "id": ident,
                    "title": new[ident][0],
                    "from": was,
                    "to": now,
                    "advanced": _rank(now) > _rank(was),
                }
            )
    practiced_before, practiced_after = _practiced(before.graph), _practiced(after.graph)
    for ident, title in sorted(_principles(after.graph).items()):
        if practiced_after[ident] and not practiced_before[ident]:
            out["principles_newly_practiced"].append(
                {"id": ident, "title": title, "loops": practiced_after[ident]}
            )
        elif practiced_before[ident] and not practiced_after[ident]:
            out["principles_orphaned"].append(
                {"id": ident, "title": title, "loops_before": practiced_before[ident]}
            )
    out["interfaces_changed"] = _interfaces(before.graph, after.graph)
    broken, fixed = _links(before, after)
    out["links_broken"], out["links_fixed"] = broken, fixed
    return out


def _loops(graph: Graph) -> dict[str, tuple[str, str]]:
    return {
        d.id: (d.title, d.loop.stage.value if d.loop.stage else "")
        for d in graph.by_id[Collection.LOOP].values()
        if d.readable
    }


def _all_loops(graph: Graph) -> set[str]:
    return set(graph.by_id[Collection.LOOP])


def _unreadable_loops(checked: Checked) -> dict[str, dict[str, Any]]:
    """Loops whose frontmatter cannot be read, with the finding that says why: such a loop is
    still there (not removed), and the reader must see it is broken."""
    out = {}
    for doc in checked.graph.by_id[Collection.LOOP].values():
        if doc.readable:
            continue
        why = next(
            (
                f
                for f in sorted(checked.findings, key=lambda f: f.sort_key())
                if f.path == doc.path and f.code < "KB200"
            ),
            None,
        )
        out[doc.id] = {
            "id": doc.id,
            "path": doc.path,
            "code": why.code if why else "",
            "line": why.line if why else 1,
            "message": why.message if why else "cannot be read",
        }
    return out


def _rank(stage: str) -> int:
    values = [s.value for s in Stage]
    return values.index(stage) if stage in values else -1


def _principles(graph: Graph) -> dict[str, str]:
    return {d.id: d.title for d in graph.by_id[Collection.PRINCIPLE].values() if d.readable}


def _practiced(graph: Graph) -> Counter[str]:
    counts: Counter[str] = Counter()
    for doc in graph.by_id[Collection.PRINCIPLE].values():
        counts[doc.id] = len(graph.sources(doc.key, EdgeKind.PRACTICES))
    return counts


def _interfaces(before: Graph, after: Graph) -> list[dict[str, Any]]:
    out = []
    for ident, doc in sorted(after.by_id[Collection.PRODUCT].items()):
        old_doc = before.by_id[Collection.PRODUCT].get(ident)
        old, new = _surfaces(old_doc), _surfaces(doc)
        if old_doc is None or old == new:
            continue
        consumers, dependents = _consumers(after, ident)
        out.append(
            {
                "id": ident,
                "title": doc.title,
                "added": sorted(set(new) - set(old)),
                "removed": sorted(set(old) - set(new)),
                "changed": sorted(n for n in set(old) & set(new) if old[n] != new[n]),
                "consumers": consumers,
                "dependents": dependents,
            }
        )
    return out


def _surfaces(doc: Any) -> dict[str, tuple[str, str]]:
    if doc is None or not doc.readable:
        return {}
    return {i.name: (i.kind, i.description) for i in doc.product.interfaces}


def _consumers(graph: Graph, ident: str) -> tuple[list[dict[str, Any]], list[str]]:
    """Products consuming its interfaces (with the names each uses: the reader must see who
    uses a removed one), and products that only depend on it."""
    consumers, dependents = [], []
    for doc in sorted(graph.by_id[Collection.PRODUCT].values(), key=lambda d: d.id):
        if not doc.readable or doc.id == ident:
            continue
        parts = [c.partition("/") for c in doc.product.consumes]
        uses = sorted({name for pid, sep, name in parts if pid == ident and sep and name})
        if uses:
            consumers.append({"id": doc.id, "interfaces": uses})
        elif ident in doc.product.depends_on:
            dependents.append(doc.id)
    return consumers, dependents


def _links(before: Checked, after: Checked) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    def keyed(checked: Checked) -> Counter[tuple[str, str, str]]:
        return Counter((f.path, f.code, f.message) for f in checked.findings if f.code in LINK_CODES)

    was, now = keyed(before), keyed(after)
    ids = {d.path: d.id for d in after.corpus.documents} | {d.path: d.id for d in before.corpus.documents}

    def entries(counter: Counter[tuple[str, str, str]]) -> list[dict[str, Any]]:
        return [{"id": ids.get(p, p), "path": p, "code": c, "message": m} for (p, c, m) in sorted(counter)]

    return entries(now - was), entries(was - now)


def markdown(changes: dict[str, list[dict[str, Any]]]) -> str:
    """The change as markdown, for $GITHUB_STEP_SUMMARY and pull-request comments."""
    lines = ["## What this change does to the handbook", ""]
    if not any(changes.values()):
        return "\n".join(lines + ["No change to loops, principles, product interfaces or links.", ""])
    sections = [
        (
            "loops_added",
            "Loop cycles added",
            lambda e: f"`{e['id']}` — {_md(e['title'])} (at *{e['stage']}*)",
        ),
        ("loops_removed", "Loop cycles removed", lambda e: f"`{e['id']}` — {_md(e['title'])}"),
        (
            "loops_unreadable",
            "Loop cycles whose frontmatter cannot be read",
            lambda e: f"`{e['path']}`:{e['line']}: {e['code']} {_md(e['message'])}",
        ),
        (
            "stages_advanced",
            "Stages changed",
            lambda e: (
                f"`{e['id']}`: {e['from']} → **{e['to']}**" + ("" if e["advanced"] else " (moved back)")
            ),
        ),
        (
            "principles_newly_practiced",
            "Principles now practiced",
            lambda e: f"`{e['id']}` — {_md(e['title'])} ({_loops_text(e['loops'])})",
        ),
        (
            "principles_orphaned",
            "Principles no loop practices any more",
            lambda e: f"`{e['id']}` — {_md(e['title'])} (was practiced in {_loops_text(e['loops_before'])})",
        ),
        ("interfaces_changed", "Product interfaces changed", _interface_line),
        ("links_broken", "Links broken", lambda e: f"`{e['path']}`: {e['code']} {_md(e['message'])}"),
        ("links_fixed", "Links fixed", lambda e: f"`{e['path']}`: {e['code']} {_md(e['message'])}"),
    ]
    for kind, title, line in sections:
        if changes[kind]:
            lines += (
                [f"### {title} ({len(changes[kind])})", ""] + [f"- {line(e)}" for e in changes[kind]] + [""]
            )
    return "\n".join(lines)


def _loops_text(n: int) -> str:
    return f"{n} loop{'' if n == 1 else 's'}"


def _interface_line(e: dict[str, Any]) -> str:
    """`kb`: added a; removed b — consumed by `site` (b — **removed**); used by `portal`"""
    status = {n: word for word in ("added", "removed", "changed") for n in e[word]}
    parts = [
        f"{word} {', '.join(_md(n) for n in e[word])}" for word in ("added", "removed", "changed") if e[word]
    ]

    def uses(c: dict[str, Any]) -> str:
        names = [_md(n) + (f" — **{status[n]}**" if n in status else "") for n in c["interfaces"]]
        return f"`{c['id']}` ({', '.join(names)})"

    who = [f"consumed by {', '.join(uses(c) for c in e['consumers'])}"] if e["consumers"] else []
    who += [f"used by {', '.join(f'`{d}`' for d in e['dependents'])}"] if e["dependents"] else []
    return f"`{e['id']}`: {'; '.join(parts)} — {'; '.join(who) or 'no consumers'}"


_MD_SPECIALS = str.maketrans({c: "\\" + c for c in "\\`*_[]|"} | {"&": "&amp;", "<": "&lt;", ">": "&gt;"})


def _md(text: str) -> str:
    """Text shown as text in GitHub markdown: no emphasis, links, tags or table breaks."""
    return " ".join(str(text).split()).translate(_MD_SPECIALS)
