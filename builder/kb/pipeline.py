"""The only module that knows the order of the stages:
load → validate → link → contracts → history → emit → render.

One entry point, `run(settings, Options(...))`. The commands only choose options and present
the result: `kb lint` and `kb index` stop after contracts (`check`, the pure stages, which
import neither MkDocs, Jinja2 nor GitPython); `kb lint --changed` and `kb diff` check a git
revision too (`Options.rev`: the tree as of a commit, read from git without a checkout);
`kb build` goes on to history, emit and render into a folder swapped in atomically; `kb serve`
does the same into its own folder, passing a `kb.incremental.Memory` so that each rebuild
redoes only what changed (partial emit, dirty render, history read again only when HEAD moved).

One clock: `Options.today` (default `kb.clock.today()`, UTC or `SOURCE_DATE_EPOCH`) is read
once per run and handed to every stage that counts days (`Checked.today`).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass, field
from enum import IntEnum
from functools import partial
from itertools import groupby
from pathlib import Path
from typing import TYPE_CHECKING, Any

from kb import clock
from kb.contracts import check_contracts
from kb.findings import Finding, Severity, apply_severities
from kb.link import Graph, Node, Part, Plan, link, years_named
from kb.load import Corpus, chunked, collection_of, load, paused_gc, read, read_apart, walk
from kb.load_cache import LoadCache
from kb.markdown import configure
from kb.mdconfig import for_root
from kb.model import Collection, Document
from kb.settings import Settings
from kb.siteconfig import site_config_findings
from kb.validate import validate

if TYPE_CHECKING:  # these stages import GitPython, Jinja2 or MkDocs: only when they run
    from kb.emit import Emitted
    from kb.history import History
    from kb.incremental import Memory
    from kb.rendered import Rendered


class Step(IntEnum):
    """The stages in their order; `Options.until` names the last one to run. Validation runs
    inside load (document by document, in the process that read the chunk), and link and the
    contracts right after: the first four always run together."""

    LOAD = 1
    VALIDATE = 2
    LINK = 3
    CONTRACTS = 4
    HISTORY = 5
    EMIT = 6
    RENDER = 7


Progress = Callable[[str], None]


def _quiet(_message: str) -> None:
    pass


@dataclass(frozen=True)
class Options:
    """What to run, on which tree, and where to write."""

    until: Step = Step.CONTRACTS
    today: dt.date | None = None
    """The day KB602 and coverage count up to, and emit's fingerprint holds (None: `kb.clock`)."""
    rev: str | None = None
    """A git commit (hash or revision): check the handbook as of it instead of the working tree
    (the pure stages only: a revision's content is checked, never published)."""
    history: bool = True
    """Read git history (dates, authors, renames, stage dates); False leaves the site without."""
    strict: bool = False
    """Stop before history on any error; a page the renderer fails on writes nothing."""
    out: Path | None = None
    """The site folder (default: `settings.output`)."""
    atomic: bool = True
    """Render beside `out` under the build lock and swap it in (kb build); False renders into
    `out` itself (kb serve's private folder, which MkDocs' dirty build updates in place)."""
    docs_dir: Path | None = None
    """Where emit writes the docs tree (default: `.kb-cache/docs`)."""
    renderer: str = "mkdocs"
    quiet: bool = False
    """No render progress on the terminal (`kb.render_progress`)."""
    clean: bool = False
    """Render every page: no page of the last build's site is reused (`kb.render_cache`)."""
    memory: Memory | None = None
    """The previous run's state (kb serve): redo only what changed, and update it."""
    progress: Progress = _quiet


@dataclass(frozen=True)
class Checked:
    """The result of the pure stages: the corpus, its graph, every finding (sorted), and the
    day they were checked on."""

    corpus: Corpus
    graph: Graph
    findings: list[Finding]
    today: dt.date = field(default_factory=clock.today)

    @property
    def errors(self) -> list[Finding]:
        return [f for f in self.findings if f.severity is Severity.ERROR]


@dataclass
class Run:
    """What a run did. `findings` are the pure stages' plus history's and the renderer's, sorted."""

    checked: Checked
    findings: list[Finding]
    timings: dict[str, float] = field(default_factory=dict)
    history: History | None = None
    emitted: Emitted | None = None
    rendered: Rendered | None = None
    written: bool = False
    """The render reached the site folder (and, atomic, was swapped in)."""
    full: bool = True
    """Every page was rendered (not a dirty build of the changed ones)."""
    redirects: list[str] = field(default_factory=list)
    kept: tuple[str, ...] = ()
    """Documents that became unreadable since the last run: it stopped, the last site stays."""

    @property
    def errors(self) -> list[Finding]:
        return [f for f in self.findings if f.severity is Severity.ERROR]

    @property
    def changed(self) -> tuple[str, ...]:
        return self.emitted.changed if self.emitted is not None else ()


def run(settings: Settings, options: Options = Options()) -> Run:
    """Run the stages up to `options.until`, in order."""
    today = options.today or clock.today()
    if options.rev is not None:
        if options.until > Step.CONTRACTS:
            raise ValueError("a git revision is only checked: Options(rev=...) stops after the contracts")
        with _at_rev(settings, options.rev) as at_rev:
            checked = _check(at_rev, today)
        return Run(checked, list(checked.findings))
    started = time.perf_counter()
    cache = LoadCache(settings.cache / "load") if options.until >= Step.HISTORY else None
    checked = _check(settings, today, cache)
    result = Run(checked, list(checked.findings), {"load+validate+link": time.perf_counter() - started})
    if options.until < Step.HISTORY:
        return result
    options.progress(f"checked {checked.corpus.files} files: {len(checked.errors)} errors")
    if options.strict and checked.errors:
        return result
    if cache is not None:
        cache.save()  # only a run that goes on to write writes the cache (--strict: nothing)
    shot: dict[str, tuple[Any, ...]] = {}
    if options.memory is not None:
        from kb.incremental import snapshot

        shot = snapshot(checked, settings)
        broken = options.memory.broken(shot)
        if broken:  # an edit made a page unreadable: keep serving its last good version
            result.kept = tuple(d.path for d in checked.corpus.documents if d.key in broken)
            return result
    target = (options.out or settings.output).resolve()
    with _lock(settings, options.atomic):
        known = options.memory.history if options.memory is not None else None
        stages = _history(settings, options, result)
        if options.until < Step.EMIT:
            return result
        moved = result.history is not known  # read anew: every page may show other dates
        _emit(settings, options, result, stages, shot, moved)
        if options.until >= Step.RENDER:
            _render(settings, options, result, target)
    return result


def check(settings: Settings, today: dt.date | None = None) -> Checked:
    """The pure stages (load, validate, link, contracts) on the working tree: `kb lint`."""
    return run(settings, Options(today=today)).checked


def _check(settings: Settings, today: dt.date, cache: LoadCache | None = None) -> Checked:
    """Load, validate, link and check the contracts of the whole handbook.

    Validation works document by document, so it runs inside `load`, on each chunk of
    documents in the process that read it (several, on a large handbook). `cache`: where
    load keeps what it read, for the next run (`kb.load_cache`; only the commands that may
    write the cache folder, `kb build` and `kb serve`, pass one).
    """
    configure(for_root(settings.root))  # read bodies as the site's markdown extensions do
    with paused_gc():  # see paused_gc: the stages build long-lived records, not cycles
        corpus = load(settings, partial(validate, settings=settings, today=today), cache)
        found = list(corpus.findings)
        found.extend(corpus.checked)
        graph, link_findings = link(corpus.documents, corpus.assets, settings.content)
        found.extend(link_findings)
        found.extend(check_contracts(graph, settings.require_non_goals))
        found.extend(site_config_findings(settings.root, corpus.documents))
        found = suppress(found, corpus.documents)
        found = apply_severities(found, settings.severity)
        found.sort(key=Finding.sort_key)
        return Checked(corpus, graph, found, today)


@dataclass(frozen=True)
class Linted:
    """What `kb lint` reports of the pure stages: every finding (sorted, as `check` gives
    them), the markdown files seen, and the day they were checked on."""

    findings: list[Finding]
    files: int
    today: dt.date


def lint_check(settings: Settings, today: dt.date | None = None, rev: str | None = None) -> Linted:
    """The findings of the pure stages, as `check` gives them, for `kb lint` (on the tree as of
    commit `rev`, if given). No corpus nor graph is kept: each chunk of files is read,
    validated and linked in the process that read it, and only its findings and what the
    whole-graph checks need come back (`kb.link.Plan`)."""
    today = today or clock.today()
    if rev is not None:
        with _at_rev(settings, rev) as at_rev:
            return _lint(at_rev, today)
    return _lint(settings, today)


def _lint(settings: Settings, today: dt.date) -> Linted:
    configure(for_root(settings.root))
    with paused_gc():
        linted = _lint_apart(settings, today)
    if linted is not None:
        return linted
    checked = _check(settings, today)  # the plan did not hold: all documents in one graph
    return Linted(checked.findings, checked.corpus.files, today)


#: The collections every chunk's links may need whole (aliases, headings) and the contracts
#: read: read first, in the main process, before the chunks.
_CONTEXT = (Collection.PRINCIPLE, Collection.PRODUCT)
Suppressions = dict[str, dict[int, frozenset[str]]]


def _lint_apart(settings: Settings, today: dt.date) -> Linted | None:
    """Lint with each chunk linked where it was read; None when the plan the chunks were linked
    by did not hold (a markdown file that is no document, a loop whose year is not its name's)."""
    markdown, assets, found = walk(settings)
    check = partial(validate, settings=settings, today=today)
    prefix = settings.content_prefix
    nodes = [Node(e.rel[:-3], prefix + e.rel, collection_of(e.rel), _id(e.rel), True) for e in markdown]
    runs = [
        (in_context, [markdown[at] for at, _ in run])
        for in_context, run in groupby(enumerate(nodes), key=lambda n: n[1].collection in _CONTEXT)
    ]
    context: dict[int, tuple[list[Document], list[Finding], list[Finding]]] = {}
    for at, (in_context, run) in enumerate(runs):
        if in_context:  # principles/ and products/: one run each, as the walk sorts them
            context[at] = read(settings, run, check)
            if len(context[at][0]) != len(run):
                return None
    plan = Plan(
        nodes,
        [a.rel for a in assets],
        [doc for docs, _, _ in context.values() for doc in docs],
        years_named(e.rel for e in markdown),
        settings.content,
    )
    kept = {at: _lint_part(plan, docs) for at, (docs, _, _) in context.items()}
    chunks = {at: chunked(run) for at, (in_context, run) in enumerate(runs) if not in_context}
    read_elsewhere = iter(
        read_apart(
            settings,
            [chunk for run_chunks in chunks.values() for chunk in run_chunks],
            check,
            partial(_lint_part, plan),
            setup=plan.speculate,
        )
    )
    problems: list[Finding] = []
    checked: list[Finding] = []
    parts: list[Part] = []
    suppressions: Suppressions = {}
    for at in range(len(runs)):  # in file order
        if at in context:
            _, read_problems, read_checked = context[at]
            results = [(read_problems, read_checked, 0, kept[at])]
        else:
            results = [next(read_elsewhere) for _ in chunks[at]]
        for more, validated, missing, (part, silenced) in results:
            if missing:
                return None
            problems.extend(more)
            checked.extend(validated)
            parts.append(part)
            suppressions.update(silenced)
    if not plan.holds(parts):
        return None
    found.extend(problems)
    found.extend(checked)
    found.extend(plan.finish(parts))
    found.extend(check_contracts(plan.graph(), settings.require_non_goals))
    unreadable = {key for part in parts for key in part.unreadable}
    # KB704 counts the nav's entries from each document's rel, collection and readability
    # (`siteconfig.Listed`), which a Node has: no document is needed for that
    readable = [node for node in nodes if node.key not in unreadable]
    found.extend(site_config_findings(settings.root, readable))
    found = _suppressed(found, suppressions)
    found = apply_severities(found, settings.severity)
    found.sort(key=Finding.sort_key)
    return Linted(found, len(markdown), today)


def _id(rel: str) -> str:
    return rel.rsplit("/", 1)[-1][:-3]


def _lint_part(plan: Plan, docs: list[Document]) -> tuple[Part, Suppressions]:
    """What lint needs of one chunk's documents, where they were read."""
    return plan.part(docs), _suppressions(docs)


@contextmanager
def _at_rev(settings: Settings, rev: str) -> Iterator[Settings]:
    """The handbook's settings with its root in a temporary folder holding the content folder
    as of commit `rev` (`git archive`: the working tree and the index are left alone)."""
    import tempfile

    from kb import git
    from kb.errors import KbError

    repo = git.find_repo(settings.root)
    if repo is None:
        raise KbError("reading a git revision needs a git repository (and git on PATH)")
    sha = git.resolve_ref(repo, rev)
    prefix = git.root_prefix(settings.root, repo)
    with tempfile.TemporaryDirectory(prefix="kb-rev-") as tmp:
        git.export_tree(repo, sha, prefix + settings.content_dir, Path(tmp))
        root = Path(tmp) / prefix if prefix else Path(tmp)
        (root / settings.content_dir).mkdir(parents=True, exist_ok=True)  # absent at that commit
        yield dataclasses.replace(settings, root=root)


def _lock(settings: Settings, atomic: bool) -> Any:
    """One build at a time per handbook, from history on (emit's tree in the cache is shared)."""
    from kb import output

    return output.lock(settings.cache) if atomic else nullcontext()


def _history(settings: Settings, options: Options, result: Run) -> dict[str, list[tuple[int, str]]]:
    """Stage 5: dates, authors and renames of every document, and when each loop reached each
    stage (for the loop feeds; none from a shallow clone, whose history is incomplete)."""
    if not options.history:
        return {}
    from kb import git
    from kb.history import read_history, read_stage_history

    started = time.perf_counter()
    memory = options.memory
    head = _head(settings, git) if memory is not None else None
    if memory is not None and memory.head == head and memory.history is not None:
        hist, stages = memory.history, memory.stages  # HEAD did not move: the log is the same
    else:
        cache = settings.cache / "history"  # the commits read, kept for the next run (by HEAD)
        hist = read_history(settings.root, [d.path for d in result.checked.corpus.documents], cache)
        use = hist.available and not hist.shallow
        stages = read_stage_history(settings.root, settings.repo_path("loops"), cache) if use else {}
        if memory is not None:
            memory.head, memory.history, memory.stages = head, hist, stages
    result.history = hist
    result.findings = sorted(result.findings + list(hist.findings), key=Finding.sort_key)
    result.timings["history"] = time.perf_counter() - started
    options.progress("read git history" if hist.available else "no git history")
    return stages


def _head(settings: Settings, git: Any) -> str | None:
    """The commit HEAD names now; None outside git or before the first commit."""
    repo = git.find_repo(settings.root)
    if repo is None:
        return None
    try:
        return git.head_commit(repo)
    except git.GitError:
        return None


def _emit(
    settings: Settings,
    options: Options,
    result: Run,
    stages: dict[str, list[tuple[int, str]]],
    shot: dict[str, tuple[Any, ...]],
    moved: bool,
) -> None:
    """Stage 6: the docs tree, written where its bytes changed (only the edited pages' when
    the memory says only prose changed, and the history is the one they were emitted with)."""
    from kb.emit import emit, emit_documents

    started = time.perf_counter()
    memory = options.memory
    docs_dir = options.docs_dir or settings.cache / "docs"
    prose = memory.prose_edits(shot) if memory is not None and not moved else None
    if memory is not None and prose is not None:  # no other page shows a document's prose
        changed = emit_documents(result.checked, result.history, settings, memory.emitted.docs_dir, prose)
        emitted = dataclasses.replace(memory.emitted, changed=changed, removed=())
    else:
        emitted = emit(result.checked, result.history, settings, docs_dir, stages)
    if memory is not None:
        memory.emitted, memory.snapshot = emitted, shot
    result.emitted = emitted
    result.timings["emit"] = time.perf_counter() - started
    options.progress(f"emitted {emitted.pages} pages ({len(emitted.changed)} changed)")


def _render(settings: Settings, options: Options, result: Run, target: Path) -> None:
    """Stage 7: the HTML site. Atomic: into a staging folder beside `target`, swapped in at the
    end (a failed render leaves the previous site as it was); else into `target` itself."""
    from kb import incremental, output, redirects

    emitted, memory = result.emitted, options.memory
    assert emitted is not None  # emit ran
    started = time.perf_counter()
    layout = (emitted.nav, emitted.site_name, incremental.site_config(settings.root))
    result.full = memory is None or memory.needs_full_render(layout, bool(emitted.removed))
    if not result.full and not emitted.changed:  # nothing to render: the site is current
        if memory is not None:
            memory.layout = layout
        return
    folder = output.staging(target) if options.atomic else target
    try:
        rendered = _rendered(settings, options, result, folder)
        if rendered is not None:
            moved = redirects.redirects(result.checked.corpus.documents, result.history, settings.content_dir)
            result.redirects = redirects.write(folder, moved)
    except BaseException:
        if options.atomic:
            output.discard(folder)  # the previous site stays as it was
        raise
    if rendered is None:  # --strict and a page the renderer failed on: nothing written
        if options.atomic:
            output.discard(folder)
        return
    result.rendered = rendered
    if rendered.processes > 1:
        options.progress(f"rendered in {rendered.processes} processes")
    if memory is not None:
        memory.merge_search(folder, result.full)
        memory.layout = layout
    if options.atomic:
        output.swap(folder, target, rendered.keep)
    elif rendered.keep is not None:
        rendered.keep(folder, None)
    result.timings["render"] = time.perf_counter() - started
    result.written = True


def _rendered(settings: Settings, options: Options, result: Run, folder: Path) -> Rendered | None:
    """Render with Zensical, or with MkDocs through `kb.render_guard`: a page the renderer fails
    on (or one KB416 already found too deep for it) shows a notice, and each failure is a KB705
    finding. None with --strict when a page failed."""
    from kb import render, render_cache, render_guard, render_parallel

    emitted = result.emitted
    assert emitted is not None
    if options.renderer == "zensical":
        return render.render_zensical(settings.root, emitted, folder, options.strict, settings.cache)

    def load() -> Any:
        config, found = render.load(settings.root, emitted, folder, options.strict)
        result.findings.extend(f for f in found if f not in result.findings)
        return config

    jobs = render_parallel.jobs(emitted.pages) if result.full else 1
    if options.memory is None:  # a build: only the pages whose HTML can have changed (kb.render_cache)
        rendered, new = render_cache.render(
            settings,
            result.checked,
            emitted.nav,
            load,
            lambda config, jobs: render.render(config, jobs=jobs, quiet=options.quiet),
            jobs,
            clean=options.clean,
        )
        if rendered.why_all:
            options.progress(f"rendered every page: {rendered.why_all}")
        elif rendered.reused:
            fresh = rendered.pages - rendered.reused
            options.progress(f"rendered {fresh} page{'s' * (fresh != 1)}, {rendered.reused} from the cache")
    else:
        rendered, new = render_guard.guarded(
            settings,
            result.checked,
            load,
            lambda config: render.render(config, dirty=not result.full, jobs=jobs, quiet=options.quiet),
        )
    result.findings = sorted(result.findings + new, key=Finding.sort_key)
    if options.strict and any(f.severity is Severity.ERROR for f in new):
        return None
    return rendered


def suppress(found: Iterable[Finding], docs: Iterable[Document]) -> list[Finding]:
    """Drop findings silenced by `<!-- kb: ignore CODE -->` on their line or the line before."""
    return _suppressed(found, _suppressions(docs))


def _suppressions(docs: Iterable[Document]) -> Suppressions:
    """Path -> file line -> the codes silenced there, for documents that silence any."""
    by_path: Suppressions = {}
    for doc in docs:
        if doc.scan.suppressions:
            by_path[doc.path] = {
                doc.body_line + line - 1: codes for line, codes in doc.scan.suppressions.items()
            }
    return by_path


def _suppressed(found: Iterable[Finding], by_path: Suppressions) -> list[Finding]:
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
