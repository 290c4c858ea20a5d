"""Stage 1 — load: walk content/, read every file, split and parse its frontmatter.

Each markdown file becomes a `Document` (or findings saying why it could not be read);
every other file is an `Asset`. Reading is independent per file (`_read_chunk`: a pure function
of its inputs), and on large handbooks `load` reads chunks of files in forked worker
processes while the main process reads chunks from the other end (see `_read_parallel`).
The result is the same as a serial read, in the same order.
"""

from __future__ import annotations

import dataclasses
import gc
import os
import unicodedata
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from kb import block, cores, frontmatter
from kb.findings import Finding, finding
from kb.layout import Layout
from kb.markdown import BodyScan, Heading, Link, Unsafe, scan
from kb.model import EMPTY_FRONTMATTER, FOLDER_COLLECTION, Asset, Collection, Document, Frontmatter, Scalar
from kb.settings import Settings

if TYPE_CHECKING:
    from kb.load_cache import LoadCache

#: A function run on each chunk of documents where it was read; its findings go to
#: `Corpus.checked`. The pipeline passes per-document validation, so it runs in parallel too.
Check = Callable[[Sequence[Document]], list[Finding]]

#: Files are read in chunks of this many: a stage at a time over a chunk (see `_parse_texts`),
#: and a chunk is what a worker process reads and sends back at once. When several processes
#: read, and from how many files, is `kb.cores.PLANS["load"]`.
CHUNK_FILES = 200
R = TypeVar("R")


@dataclass(frozen=True, slots=True)
class Entry:
    """A file found by the walk: its path relative to the content folder. (Its size is asked
    for where it is read: in the workers' share of the reading, not in the serial walk.)"""

    rel: str


@dataclass(frozen=True)
class Corpus:
    """Everything stage 1 produced."""

    documents: tuple[Document, ...]
    assets: tuple[Asset, ...]
    findings: tuple[Finding, ...]
    files: int  # markdown files seen, readable or not (the lint summary counts them)
    checked: tuple[Finding, ...] = ()  # findings of the `check` passed to `load`, in file order


def walk(settings: Settings) -> tuple[list[Entry], list[Entry], list[Finding]]:
    """Markdown files, assets, and findings about the tree itself (symlinks, name clashes).
    What is left out (settings files, dot-files, the output folder...) is `kb.layout`'s rule."""
    markdown: list[Entry] = []
    assets: list[Entry] = []
    found: list[Finding] = []
    root = settings.root.resolve()
    for rel, _ in _scan(settings.content, "", root, settings, found, Layout.of(settings)):
        (markdown if rel.endswith(".md") else assets).append(Entry(rel))
    found.extend(_name_clashes(settings, markdown + assets))
    markdown.sort(key=lambda e: e.rel)
    assets.sort(key=lambda e: e.rel)
    return markdown, assets, found


def _scan(
    folder: Path,
    prefix: str,
    root: Path,
    settings: Settings,
    found: list[Finding],
    layout: Layout,
    visited: set[str] | None = None,
) -> Iterator[tuple[str, os.DirEntry[str]]]:
    """Files under `folder`, sorted; `visited` holds real paths of folders already walked,
    so a symlink loop cannot make the walk endless."""
    if visited is None:
        visited = {os.path.realpath(folder)}
    try:
        entries = sorted(os.scandir(folder), key=lambda e: e.name)
    except OSError as exc:
        found.append(_unreadable(settings, prefix.rstrip("/") or ".", exc))
        return
    content = settings.content.resolve()
    names = frozenset(e.name for e in entries)
    for entry in entries:
        rel = prefix + entry.name
        if entry.name.startswith("."):
            continue
        error: OSError | None = None
        try:
            is_dir, is_file = entry.is_dir(), entry.is_file()
        except OSError as exc:  # a symlink loop: "too many levels of symbolic links"
            is_dir = is_file = False
            error = exc
        if (
            layout.skips_folder(rel, entry.name, entry.path)
            if is_dir
            else layout.skips_file(rel, entry.name, names)
        ):
            continue
        if entry.is_symlink() and not _inside(entry.path, content):
            inside = "the repository" if settings.at_root else f"{settings.content_dir}/"
            where = "the repository" if not _inside(entry.path, root) else inside
            found.append(
                finding(
                    _repo_path(settings, rel),
                    1,
                    1,
                    "KB304",
                    f"symlink points outside {where}; it is not followed",
                    f"{inside} is kb's only input: copy the file into {inside} instead",
                )
            )
            continue
        if error is not None:
            found.append(_unreadable(settings, rel, error))
            continue
        if is_dir:  # a symlinked folder inside the content folder is followed, once
            real = os.path.realpath(entry.path)
            if real not in visited:
                visited.add(real)
                yield from _scan(Path(entry.path), rel + "/", root, settings, found, layout, visited)
        elif is_file:
            yield rel, entry
        elif rel.endswith(".md"):  # a dangling link, a FIFO, a socket or a device named .md
            found.append(
                finding(
                    _repo_path(settings, rel),
                    1,
                    1,
                    "KB101",
                    "cannot be read: not a regular file",
                    "markdown files must be regular files; remove it or exclude it",
                )
            )


def _inside(path: str, root: Path) -> bool:
    try:
        return Path(os.path.realpath(path)).is_relative_to(root)
    except (OSError, ValueError):
        return False


def _name_clashes(settings: Settings, entries: list[Entry]) -> list[Finding]:
    """KB303: names that one file system keeps apart and another merges (macOS, Windows)."""
    seen: dict[str, str] = {}
    out = []
    for entry in sorted(entries, key=lambda e: e.rel):
        key = unicodedata.normalize("NFC", entry.rel).casefold()
        if key in seen:
            out.append(
                finding(
                    _repo_path(settings, entry.rel),
                    1,
                    1,
                    "KB303",
                    f"name differs from '{_repo_path(settings, seen[key])}' only by case or Unicode normalization",
                    "rename one of them; they collide on macOS and Windows",
                )
            )
        else:
            seen[key] = entry.rel
    return out


def _repo_path(settings: Settings, rel: str) -> str:
    return settings.repo_path(rel)


def _unreadable(settings: Settings, rel: str, exc: OSError) -> Finding:
    return finding(
        _repo_path(settings, rel),
        1,
        1,
        "KB101",
        f"cannot be read: {exc.strerror or exc}",
        "check the file's permissions",
    )


def collection_of(rel: str) -> Collection:
    """The first folder decides the collection; anything else is a plain page."""
    first, sep, _ = rel.partition("/")
    return FOLDER_COLLECTION.get(first, _PAGE) if sep else _PAGE


_PAGE = Collection.PAGE  # an enum member read per file: bound once (the enum's lookup costs)


def _read_text(settings: Settings, folder: str, entry: Entry) -> tuple[str | None, list[Finding]]:
    """The decoded text of a file under `folder` (the content folder), or None and why not (too
    large, unreadable, not UTF-8)."""
    data, found = read_data(settings, folder, entry.rel)
    if data is None:
        return None, found
    text, problem = decode(_repo_path(settings, entry.rel), data)
    if problem:
        return None, [problem]
    return text, []


def read_data(settings: Settings, folder: str, rel: str) -> tuple[bytes | None, list[Finding]]:
    """The bytes of a file under `folder` (the content folder), or None and why not (too large,
    unreadable)."""
    path = _repo_path(settings, rel)
    file = os.path.join(folder, rel)
    limit = settings.max_file_bytes
    try:
        data = _read_bytes(file, limit)
    except OSError as exc:
        try:  # a file too large says so even when it cannot be read
            size = os.stat(file).st_size
        except OSError:
            size = -1
        if size <= limit:
            return None, [_unreadable(settings, rel, exc)]
        data = size
    if isinstance(data, int):
        return None, [
            finding(
                path,
                1,
                1,
                "KB106",
                f"file is {data} bytes, over the limit of {limit}",
                "split it, or raise [tool.kb] max_file_bytes",
            )
        ]
    return data, []


#: The first read of a file asks for this much: a markdown file is nearly always smaller, and
#: a short read is the whole file (no `stat` for its size, one read, no buffered reader).
FIRST_READ = 1 << 16


def _read_bytes(path: str, limit: int) -> bytes | int:
    """The file's bytes, or its size when it is over `limit` bytes (then not read whole)."""
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_BINARY", 0))
    try:
        data = os.read(fd, FIRST_READ)
        if len(data) < FIRST_READ:  # the whole file
            return len(data) if len(data) > limit else data
        size = os.fstat(fd).st_size
        if size > limit:
            return size
        parts = [data]
        while more := os.read(fd, max(size + 1 - len(data), 1 << 20)):
            parts.append(more)
        data = b"".join(parts)
        return len(data) if len(data) > limit else data
    finally:
        os.close(fd)


def decode(path: str, data: bytes) -> tuple[str, Finding | None]:
    """UTF-8 text with a BOM dropped and CRLF / lone CR read as LF (lines keep their numbers)."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        # counted as the text would be read: lone CRs break lines, columns are characters
        before = data[: exc.start].removeprefix(b"\xef\xbb\xbf").replace(b"\r\n", b"\n").replace(b"\r", b"\n")
        line = before.count(b"\n") + 1
        col = len(before[before.rfind(b"\n") + 1 :].decode("utf-8")) + 1
        return "", finding(
            path,
            line,
            col,
            "KB101",
            f"not valid UTF-8 (byte 0x{data[exc.start]:02x})",
            "save the file as UTF-8",
        )
    if text.startswith("\ufeff"):
        text = text[1:]
    if "\r" in text:
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    nul = text.find("\x00")
    if nul >= 0:
        line = text.count("\n", 0, nul) + 1
        col = nul - (text.rfind("\n", 0, nul) + 1) + 1
        return "", finding(
            path,
            line,
            col,
            "KB101",
            "file contains NUL bytes (binary?)",
            "markdown files hold text only; keep binary files as assets",
        )
    return text, None


def _parse_texts(
    settings: Settings, files: Sequence[tuple[str, str]]
) -> list[tuple[Document, list[Finding], str | None]]:
    """Split, parse and scan decoded (rel, text) pairs, a stage at a time over all of them (about
    10% faster than file by file, as each stage's code and data stay in the CPU caches). A
    document whose frontmatter fails is kept, unreadable. Each comes with its YAML text."""
    paths = [_repo_path(settings, rel) for rel, _ in files]
    cuts = [
        block.split(path, text, required=collection_of(rel) is not Collection.PAGE)
        for path, (rel, text) in zip(paths, files, strict=True)
    ]
    parsed = [
        None
        if cut.yaml_text is None
        else frontmatter.parse(path, cut.yaml_text, settings.max_yaml_depth, settings.max_yaml_nodes)
        for path, (cut, _) in zip(paths, cuts, strict=True)
    ]
    scans = [scan(cut.body) for cut, _ in cuts]
    return [
        (*_document(path, rel, cut, found, front, body_scan), cut.yaml_text)
        for path, (rel, _), (cut, found), front, body_scan in zip(
            paths, files, cuts, parsed, scans, strict=True
        )
    ]


def _document(
    path: str,
    rel: str,
    cut: block.Split,
    found: list[Finding],
    parsed: tuple[Frontmatter | None, list[Finding]] | None,
    body_scan: BodyScan,
) -> tuple[Document, list[Finding]]:
    front, readable = EMPTY_FRONTMATTER, not found
    if parsed is not None:
        value, problems = parsed
        found.extend(problems)
        readable = value is not None
        front = value or EMPTY_FRONTMATTER
    name = rel.rsplit("/", 1)[-1]
    doc = Document(
        path=path,
        rel=rel,
        collection=collection_of(rel),
        id=name[:-3],
        front=front,
        body=cut.body,
        body_line=cut.body_line,
        scan=body_scan,
        readable=readable,
    )
    return doc, found


def load(settings: Settings, check: Check | None = None, cache: LoadCache | None = None) -> Corpus:
    """Walk and read the whole handbook; `check`, if given, runs on the documents as they are read.
    With a `cache` (`kb build`, `kb serve`), files whose bytes did not change since the last run
    are not parsed again (`kb.load_cache`); the result is the same."""
    with paused_gc():
        if cache is not None:
            from kb.load_cache import cached_load

            corpus = cached_load(settings, check, cache)
            if corpus is not None:
                return corpus
        markdown, assets, found = walk(settings)
        chunks = chunked(markdown)
        jobs = cores.jobs("load", len(markdown))
        results = (
            _read_parallel(settings, chunks, check, jobs)
            if jobs > 1
            else [_read_chunk(settings, chunk, check) for chunk in chunks]
        )
        documents: list[Document] = []
        checked: list[Finding] = []
        for docs, problems, more in results:  # chunk order is file order, whoever read them
            documents.extend(docs)
            found.extend(problems)
            checked.extend(more)
        asset_records = tuple(Asset(_repo_path(settings, a.rel), a.rel) for a in assets)
        return Corpus(tuple(documents), asset_records, tuple(found), len(markdown), tuple(checked))


@contextmanager
def paused_gc() -> Iterator[None]:
    """Turn the cyclic garbage collector off for a while, then back on if it was on.

    Loading creates millions of long-lived objects and almost no cycles, so every collection
    it triggers rescans the growing corpus for nothing: about a third of the load time on a
    10,000-document handbook. Reference counting still frees everything else as usual.

    Turned back on, the collector would still scan all those objects once: they wait in the
    youngest generation, and the first allocation after `gc.enable()` collects it (and
    interpreter exit collects everything again), ~0.5 s of CPU after `kb lint` on 10,000
    loops. So they are frozen (`gc.freeze`: left out of collections, still freed by reference
    counting) until the next pause, which unfreezes them: a long-running `kb serve` keeps at
    most the last check's objects frozen, and cycles among older ones are still collected.
    """
    enabled = gc.isenabled()
    gc.disable()
    if enabled:
        gc.unfreeze()
    try:
        yield
    finally:
        if enabled:
            gc.freeze()
            gc.enable()


Result = tuple[list[Document], list[Finding], list[Finding]]


def _read_chunk(
    settings: Settings, entries: Sequence[Entry], check: Check | None, ship: bool = False
) -> Result:
    """Read, split, parse and scan each entry, then `check` the documents; with `ship`, in a
    worker, make them cheaper to send (`_shipped`)."""
    folder = str(settings.content)
    read = [_read_text(settings, folder, entry) for entry in entries]
    parsed = iter(
        _parse_texts(
            settings, [(e.rel, text) for e, (text, _) in zip(entries, read, strict=True) if text is not None]
        )
    )
    documents, found, sources = [], [], []
    for text, problems in read:  # findings in file order, as a serial read gives them
        doc = None
        if text is not None:
            doc, problems, yaml_text = next(parsed)
            sources.append(yaml_text)
        found.extend(problems)
        if doc is not None:
            documents.append(doc)
    checked = check(documents) if check is not None else []
    if ship:
        documents = [_shipped(settings, d, y) for d, y in zip(documents, sources, strict=True)]
    return documents, found, checked


def _read_parallel(
    settings: Settings, chunks: Sequence[Sequence[Entry]], check: Check | None, jobs: int
) -> list[Result]:
    """Chunks read by `jobs` processes (`cores.fork_map`: workers from the front, this process
    from the back, meeting where the work balances).

    A worker sends its documents back pickled, which costs about as much as reading them
    (the unpickling here is serial). What this process rarely needs stays behind: the
    position tables of each frontmatter (half the pickled bytes; only findings want them)
    travel as the YAML text they came from and are parsed again here on first use (`_Source`).
    """
    return cores.fork_map(
        partial(_read_chunk, settings, check=check, ship=True),
        chunks,
        jobs,
        setup=_start_worker,
    )


def _start_worker() -> None:
    """In a forked worker: pickle records quickly."""
    gc.disable()
    for cls in (Document, Frontmatter, Scalar, BodyScan, Heading, Link, Unsafe, Finding):
        _pickle_by_fields(cls)


def chunked(entries: Sequence[Entry]) -> list[Sequence[Entry]]:
    """`entries` in chunks of CHUNK_FILES, in order."""
    return [entries[i : i + CHUNK_FILES] for i in range(0, len(entries), CHUNK_FILES)]


def read(settings: Settings, entries: Sequence[Entry], check: Check | None = None) -> Result:
    """Read, split, parse, scan and `check` `entries` in this process: their documents, the
    findings of reading them and those of `check` (a file that cannot be read is no document)."""
    return _read_chunk(settings, entries, check)


#: A chunk read by `read_apart`: the findings of reading it, those of `check`, how many of
#: its files became no document, and what `after` made of its documents.
Apart = tuple[list[Finding], list[Finding], int, R]


def read_apart(
    settings: Settings,
    chunks: Sequence[Sequence[Entry]],
    check: Check,
    after: Callable[[list[Document]], R],
    setup: Callable[[], None] | None = None,
) -> list[Apart[R]]:
    """Read `chunks` as `load` does (in several processes on a large handbook), but keep each
    chunk's documents where they were read: `after` makes of them what the caller needs, and
    only that and the findings travel back (`kb lint`: a chunk's link findings, not its
    documents). In chunk order; `setup` runs once in each worker process."""
    fn = partial(_read_apart, settings, check=check, after=after)
    jobs = cores.jobs("load", sum(len(chunk) for chunk in chunks))
    if jobs <= 1:
        return [fn(chunk) for chunk in chunks]
    return cores.fork_map(fn, chunks, jobs, setup=partial(_start_apart, setup))


def _read_apart(
    settings: Settings, entries: Sequence[Entry], check: Check, after: Callable[[list[Document]], R]
) -> Apart[R]:
    documents, problems, checked = _read_chunk(settings, entries, check)
    return problems, checked, len(entries) - len(documents), after(documents)


def _start_apart(setup: Callable[[], None] | None) -> None:
    _start_worker()
    if setup is not None:
        setup()


class _Source:
    """The YAML text of a frontmatter read in a worker (or kept by `kb.load_cache`): its
    position tables, parsed again on first use. The data itself travels whole, so every stage
    reads it as in a serial run. `known` holds a few positions known already, by table, which
    are answered without parsing (the cache keeps where a loop's `date:` is: KB602 asks)."""

    __slots__ = ("path", "text", "depth", "nodes", "known", "_tables")

    def __init__(
        self,
        path: str,
        text: str,
        depth: int,
        nodes: int,
        known: Mapping[int, Mapping[tuple, Any]] | None = None,
    ) -> None:
        self.path, self.text, self.depth, self.nodes = path, text, depth, nodes
        self.known = known or {}
        self._tables: tuple[Mapping[tuple, Any], ...] | None = None

    def __reduce__(self) -> tuple[Any, ...]:
        return (_Source, (self.path, self.text, self.depth, self.nodes, self.known))

    def table(self, which: int) -> Mapping[tuple, Any]:
        if self._tables is None:
            front, _ = frontmatter.parse(self.path, self.text, self.depth, self.nodes)
            front = front or EMPTY_FRONTMATTER  # it parsed in the worker: never None
            self._tables = (front.keys, front.values, front.scalars)
        return self._tables[which]


class _Positions(Mapping[tuple, Any]):
    """One of `Frontmatter`'s position tables (keys, values, scalars), read from a `_Source`."""

    __slots__ = ("source", "which")

    def __init__(self, source: _Source, which: int) -> None:
        self.source, self.which = source, which

    def __reduce__(self) -> tuple[Any, ...]:
        return (_Positions, (self.source, self.which))

    def __getitem__(self, path: tuple) -> Any:
        known = self.source.known.get(self.which)
        if known is not None and path in known:
            return known[path]
        return self.source.table(self.which)[path]

    def get(self, path: tuple, default: Any = None) -> Any:
        known = self.source.known.get(self.which)
        if known is not None and path in known:
            return known[path]
        return self.source.table(self.which).get(path, default)

    def __contains__(self, path: object) -> bool:
        known = self.source.known.get(self.which)
        if known is not None and path in known:
            return True
        return path in self.source.table(self.which)

    def __iter__(self) -> Iterator[tuple]:
        return iter(self.source.table(self.which))

    def __len__(self) -> int:
        return len(self.source.table(self.which))


def _shipped(settings: Settings, doc: Document, yaml_text: str | None) -> Document:
    """The document as a worker sends it: positions as their `_Source`."""
    if yaml_text is None or doc.front is EMPTY_FRONTMATTER or not doc.readable:
        return doc
    return dataclasses.replace(doc, front=lazy_frontmatter(settings, doc.path, yaml_text, doc.front.data))


def lazy_frontmatter(
    settings: Settings,
    path: str,
    yaml_text: str,
    data: Mapping[str, Any],
    known: Mapping[int, Mapping[tuple, Any]] | None = None,
) -> Frontmatter:
    """`data` with its position tables parsed from `yaml_text` on first use (`_Source`)."""
    source = _Source(path, yaml_text, settings.max_yaml_depth, settings.max_yaml_nodes, known)
    return Frontmatter(data, _Positions(source, 0), _Positions(source, 1), _Positions(source, 2))


def _pickle_by_fields(cls: type) -> None:
    """Pickle a frozen dataclass as `cls(*fields)`: half the cost of the slots default,
    which calls `dataclasses.fields()` for every object on both ends."""
    import copyreg
    import operator

    names = [f.name for f in dataclasses.fields(cls)]
    if len(names) < 2 or any(not f.init for f in dataclasses.fields(cls)):
        return  # attrgetter of one name returns no tuple; init=False fields cannot be passed
    fields_of = operator.attrgetter(*names)
    copyreg.pickle(cls, lambda obj: (cls, fields_of(obj)))
