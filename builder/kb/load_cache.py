"""What reading and validating each markdown file gave, kept in `.kb-cache/load/` between
builds, so that a build parses again only the files whose bytes changed.

Why: on a cached `kb build` after one edit, load and validate re-read a whole handbook to
find one change: 1.7 s of a 10 s build at 10,000 loops (YAML composition and the body scan
are most of it). Reading the files and hashing their bytes costs a tenth of that.

What is kept, per file (by its content path), next to a digest of its bytes: the findings of
reading it, its frontmatter's data, its body scan, its validated record and validate's
findings, except the dated ones (KB602, `kb.validate.check_dated`), which are counted again
on every run, so a cache stays good from day to day. The body and the frontmatter text are
cut again from the file (`kb.block.split`, cheap); the frontmatter's position tables are
parsed again from that text only when a finding asks for one (`kb.load.lazy_frontmatter`).

The entries are plain tuples written with `marshal` (rebuilding a document from them costs a
fraction of unpickling one, `kb.load._read_parallel`), in `SHARDS` files by the path's
CRC, so that one edit rewrites one small file. Each file starts with a key: the cache's
format, kb's version and code, Python's and PyYAML's versions, the settings and the
markdown configuration the bodies were scanned with. A file whose key differs, whose
checksum fails or that cannot be read is ignored (its files are parsed again), never a
traceback. An entry is written only when rebuilding the document from it gives the same
data, scan, record and findings as the parse did (compared by `repr`, so types count), and
never for a page whose validation reads the theme's files (`kb.validate.reads_outside`).

Only `kb build` and `kb serve` pass a cache (they may write the cache folder), and they write
it only when they go on to write anything (`LoadCache.save`: `--strict` with errors writes
nothing); `kb lint` writes nothing and reads as before.
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import marshal
import os
import sys
import tempfile
import zlib
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import yaml

from kb import cores, load, markdown, validate
from kb.findings import Finding, Severity
from kb.markdown import BodyScan, Heading, Link, LinkKind, Unsafe
from kb.model import EMPTY_FRONTMATTER, Collection, Document, Feedback, LoopInfo, Stage, set_info
from kb.settings import Settings

#: Bumped when an entry changes shape (kb's own code is in the key too).
FORMAT = 1
#: Files the entries are spread over, by CRC-32 of the path.
SHARDS = 16
MAGIC = b"kbload1\n"
_DIGEST = 16  # bytes of BLAKE2b: a file's bytes, a shard's payload
_FIELDS = 9  # of an entry: the digest and what `_entry` makes

Entry = tuple[Any, ...]
#: What a file gave: its document (None if it is none), the findings of reading it, and
#: validate's findings.
Read = tuple[Document | None, list[Finding], list[Finding]]


class LoadCache:
    """A cache folder for `kb.load.load`: read by the load, written by `save` (the pipeline
    saves it only when the run goes on to write: `--strict` with errors writes nothing)."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self._pending: _Store | None = None

    def save(self) -> None:
        """Write what the last load changed; a cache that cannot be written is only a slower
        next run."""
        if self._pending is not None:
            self._pending.save()
            self._pending = None


def cached_load(settings: Settings, check: load.Check | None, cache: LoadCache) -> load.Corpus | None:
    """`load.load(settings, check)` with the entries kept in `cache` (written by its `save`);
    None when `check` is not kb's validation (`_validation`), whose findings the cache knows
    how to keep."""
    today = _validation(check, settings)
    if today is None:
        return None
    markdown_files, assets, found = load.walk(settings)
    store = _Store(cache.folder, _key(settings))
    kept = store.all()
    content = str(settings.content)
    results: list[Read | None] = []
    misses: list[tuple[int, str, bytes, bytes]] = []
    rebuild = _Rebuild(settings, today)
    blake2b, join, limit = hashlib.blake2b, os.path.join, min(settings.max_file_bytes, load.FIRST_READ - 1)
    for at, walked in enumerate(markdown_files):
        rel = walked.rel
        data = _small_file(join(content, rel), limit)
        if data is None:  # large, or not read: as load reads it (with findings)
            data, problems = load.read_data(settings, content, rel)
            if data is None:
                results.append((None, problems, []))
                continue
        digest = blake2b(data, digest_size=_DIGEST).digest()
        entry = kept.get(rel)
        got = rebuild(rel, data, entry) if entry is not None and entry[0] == digest else None
        results.append(got)
        if got is None:
            misses.append((at, rel, data, digest))
    for (at, rel, _, digest), (read, new) in zip(misses, _read_misses(settings, misses, today), strict=True):
        results[at] = read
        store.put(rel, None if new is None else (digest, *new))
    store.keep_only({walked.rel for walked in markdown_files})
    cache._pending = store
    documents: list[Document] = []
    checked: list[Finding] = []
    for one in results:
        assert one is not None  # every miss was read
        doc, problems, validated = one
        if doc is not None:
            documents.append(doc)
        if problems:
            found.extend(problems)
        if validated:
            checked.extend(validated)
    asset_records = tuple(load.Asset(settings.repo_path(a.rel), a.rel) for a in assets)
    return load.Corpus(tuple(documents), asset_records, tuple(found), len(markdown_files), tuple(checked))


def _small_file(path: str, limit: int) -> bytes | None:
    """A file's bytes in one read when it is at most `limit` bytes (nearly every markdown
    file); None for anything else (`kb.load.read_data` reads it then, with findings)."""
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_BINARY", 0))
    except OSError:
        return None
    try:
        data = os.read(fd, limit + 1)
    except OSError:
        return None
    finally:
        os.close(fd)
    return data if len(data) <= limit else None


def _validation(check: load.Check | None, settings: Settings) -> dt.date | None:
    """The day `check` validates for, when it is `kb.validate.validate` with these settings (as
    the pipeline passes it); None for any other check."""
    if not isinstance(check, functools.partial) or check.func is not validate.validate or check.args:
        return None
    keywords = check.keywords
    if set(keywords) != {"settings", "today"} or keywords["settings"] != settings:
        return None
    today = keywords["today"]
    return today if isinstance(today, dt.date) else None


# -- reading the files the cache did not have ---------------------------------------------


def _read_misses(
    settings: Settings, misses: Sequence[tuple[int, str, bytes, bytes]], today: dt.date
) -> list[tuple[Read, Entry | None]]:
    """Parse and validate the files the cache did not have (in several processes when there
    are many: a first build), with each one's entry (None: not to be kept)."""
    files = [(rel, data) for _, rel, data, _ in misses]
    chunks = [files[i : i + load.CHUNK_FILES] for i in range(0, len(files), load.CHUNK_FILES)]
    read = functools.partial(_read_chunk, settings, today=today)
    jobs = cores.jobs("load", len(files))
    if jobs > 1:
        done = cores.fork_map(functools.partial(read, ship=True), chunks, jobs, setup=load._start_worker)
    else:
        done = [read(chunk) for chunk in chunks]
    return [one for chunk in done for one in chunk]


def _read_chunk(
    settings: Settings, files: Sequence[tuple[str, bytes]], today: dt.date, ship: bool = False
) -> list[tuple[Read, Entry | None]]:
    """Read, parse and validate `files` as `kb.load` does, with each one's entry; with `ship`,
    in a worker, make the documents cheaper to send (`kb.load._shipped`)."""
    texts: list[tuple[str, str]] = []
    out: list[tuple[Read, Entry | None] | None] = []
    for rel, data in files:
        text, problem = load.decode(settings.repo_path(rel), data)
        if problem is not None:
            out.append(((None, [problem], []), None))
        else:
            texts.append((rel, text))
            out.append(None)
    parsed = iter(load._parse_texts(settings, texts))
    read = iter(texts)
    rebuild = _Rebuild(settings, today)
    for at, slot in enumerate(out):
        if slot is not None:
            continue
        doc, problems, yaml_text = next(parsed)
        _, text = next(read)
        before, rejected, after = validate.check_lasting(doc, settings)
        checked = before + validate.check_dated(doc, settings, today) + after
        entry = _entry(rebuild, text, doc, problems, yaml_text, rejected, before, after)
        if ship:
            doc = load._shipped(settings, doc, yaml_text)
        out[at] = ((doc, problems, checked), entry)
    return out  # type: ignore[return-value]


# -- entries -------------------------------------------------------------------------------


def _entry(
    rebuild: _Rebuild,
    text: str,
    doc: Document,
    problems: list[Finding],
    yaml_text: str | None,
    rejected: set[str] | None,
    before: list[Finding],
    after: list[Finding],
) -> Entry | None:
    """What `_Rebuild` makes `doc` again from `text` with (without the digest), or None when
    it cannot be kept: its validation reads more than the file, a value `marshal` cannot
    carry, or a rebuilt document that differs in any way from `doc`."""
    if validate.reads_outside(doc):
        return None
    try:
        if doc.front is EMPTY_FRONTMATTER:
            front: Any = None
        else:
            patches: list[tuple[tuple, int, Any]] = []
            data = _plain(doc.front.data, (), patches)
            front = (data, tuple(patches), doc.front.values.get(_DATE))
        yaml_start = 4 if yaml_text is not None else 0  # after the opening '---' line
        yaml_end = yaml_start + len(yaml_text or "")
        entry = (
            _findings(problems),
            (yaml_start, yaml_end, len(text) - len(doc.body), doc.body_line),
            doc.readable,
            front,
            _scan(doc.scan),
            _info(doc.info, rejected),
            _findings(before),
            _findings(after),
        )
        again = rebuild.document(doc.path, doc.rel, text, marshal.loads(marshal.dumps(entry)))
    except Exception:  # noqa: BLE001 - a value marshal cannot carry, or any other surprise: not kept
        return None
    if not _same(doc, problems, before, after, yaml_text, again):
        return None
    return entry


def _same(
    doc: Document,
    problems: list[Finding],
    before: list[Finding],
    after: list[Finding],
    yaml_text: str | None,
    again: tuple[Document, list[Finding], list[Finding], list[Finding]],
) -> bool:
    """Whether `again`, rebuilt from an entry after a marshal round trip as a later run would,
    is what parsing gave, compared field by field by `repr` (so `1` and `True`, a date and a
    datetime, a list and a tuple differ)."""
    rebuilt, problems_again, before_again, after_again = again
    front, front_again = doc.front, rebuilt.front
    if front is EMPTY_FRONTMATTER or front_again is EMPTY_FRONTMATTER:
        if front_again is not front:
            return False
    else:
        source = front_again.keys.source  # type: ignore[attr-defined]
        if source.text != yaml_text or source.known.get(1, {}).get(_DATE) != front.values.get(_DATE):
            return False
    return (
        repr(problems_again) == repr(problems)
        and repr(before_again) == repr(before)
        and repr(after_again) == repr(after)
        and repr(front_again.data) == repr(front.data)
        and repr(rebuilt.scan) == repr(doc.scan)
        and repr(rebuilt.info) == repr(doc.info)
        and (rebuilt.path, rebuilt.rel, rebuilt.collection, rebuilt.id, rebuilt.body, rebuilt.body_line)
        == (doc.path, doc.rel, doc.collection, doc.id, doc.body, doc.body_line)
        and rebuilt.readable is doc.readable
    )


class _Rebuild:
    """Makes a file's document, read findings and validate findings again from its entry."""

    def __init__(self, settings: Settings, today: dt.date) -> None:
        self.settings, self.today = settings, today
        self.headings: dict[tuple[Any, ...], Heading] = {}  # equal headings are one object

    def __call__(self, rel: str, data: bytes, entry: Entry) -> Read | None:
        """For a file whose bytes match `entry`; None when the entry is not what this code
        wrote (then the file is parsed again)."""
        settings = self.settings
        path = settings.repo_path(rel)
        try:
            text, problem = load.decode(path, data)
            if problem is not None:
                return None
            made = self.document(path, rel, text, entry[1:])
        except Exception:  # noqa: BLE001 - an entry of another shape: parse the file again
            return None
        doc, problems, before, after = made
        if doc.collection is _LOOP and doc.readable:
            return doc, problems, before + validate.check_dated(doc, settings, self.today) + after
        return doc, problems, before + after if after else before

    def document(
        self, path: str, rel: str, text: str, entry: Entry
    ) -> tuple[Document, list[Finding], list[Finding], list[Finding]]:
        problems, cut, readable, front_entry, scan_entry, info_entry, before, after = entry
        yaml_start, yaml_end, body_start, body_line = cut
        if front_entry is None:
            front = EMPTY_FRONTMATTER
        else:
            data, patches, date_pos = front_entry
            if patches:  # into copies: the shard's own entry is written back as it was read
                data = dict(data)
                for at, kind, value in patches:
                    place = data
                    for step in at[:-1]:
                        inner = place[step].copy()
                        place[step] = inner
                        place = inner
                    place[at[-1]] = _FROM[kind](value)
            known = {1: {_DATE: tuple(date_pos)}} if date_pos is not None else None
            front = load.lazy_frontmatter(self.settings, path, text[yaml_start:yaml_end], data, known)
        name = rel.rsplit("/", 1)[-1]
        headings, links, unsafe, title, suppressions, deep, ids = scan_entry
        if headings:
            memo = self.headings
            made = []
            for h in headings:
                heading = memo.get(h)
                if heading is None:
                    heading = memo[h] = Heading(*h)
                made.append(heading)
            headings = tuple(made)
        if links:
            kinds = _LINK_KINDS
            links = tuple([Link(kinds[k[0]], *k[1:]) for k in links])
        doc = Document(
            path,
            rel,
            load.collection_of(rel),
            name[:-3],
            front,
            text[body_start:] if body_start else text,
            body_line,
            BodyScan(
                headings,
                links,
                tuple([Unsafe(*u) for u in unsafe]) if unsafe else (),
                title,
                suppressions,
                None if deep is None else tuple(deep),
                ids,
            ),
            readable,
        )
        if info_entry is not None:
            set_info(doc, _uninfo(doc, info_entry))
        return (
            doc,
            _unfindings(problems) if problems else [],
            _unfindings(before) if before else [],
            _unfindings(after) if after else [],
        )


_LOOP = Collection.LOOP
_DATE = ("date",)


class _Unplain(Exception):
    """A frontmatter value the cache does not carry (the file is then parsed every time)."""


def _plain(value: Any, at: tuple, patches: list[tuple[tuple, int, Any]]) -> Any:
    """`value` with its dates and times left out (as None) and listed in `patches` by path:
    what remains is what `marshal` carries exactly. YAML data is dicts, lists and scalars."""
    kind = type(value)
    if kind is str or kind is int or kind is bool or kind is float or value is None:
        return value
    if kind is dict:
        out = {}
        for key, item in value.items():
            if type(key) not in _KEYS:
                raise _Unplain(key)
            out[key] = _plain(item, (*at, key), patches)
        return out
    if kind is list:
        return [_plain(item, (*at, i), patches) for i, item in enumerate(value)]
    if kind is dt.date:
        patches.append((at, 0, value.toordinal()))
        return None
    if kind is dt.datetime:
        patches.append((at, 1, value.isoformat()))
        return None
    raise _Unplain(kind)


_KEYS = frozenset((str, int, bool, float, type(None)))
_FROM: dict[int, Callable[[Any], Any]] = {0: dt.date.fromordinal, 1: dt.datetime.fromisoformat}


def _scan(scan: BodyScan) -> tuple[Any, ...]:
    return (
        tuple([(h.level, h.text, h.anchor, h.line, h.col, h.has_content) for h in scan.headings]),
        tuple(
            [(k.kind.value, k.target, k.anchor, k.label, k.line, k.col, k.start, k.end) for k in scan.links]
        ),
        tuple([(u.line, u.col, u.what, u.kind) for u in scan.unsafe]),
        scan.title,
        scan.suppressions,
        scan.deep,
        scan.ids,
    )


_LINK_KINDS = {kind.value: kind for kind in LinkKind}


def _info(info: Any, rejected: set[str] | None) -> Any:
    """A loop's record as its fields (nearly every document of a large handbook), any other
    as the fields validate rejected (`kb.validate.record` makes it again); None: none."""
    if info is None:
        return None
    if type(info) is LoopInfo and (info.date is None or type(info.date) is dt.date):
        return (
            0,
            None if info.date is None else info.date.toordinal(),
            None if info.stage is None else info.stage.value,
            info.principles,
            info.product,
            info.authors,
            info.follows,
            tuple([(f.source, f.quote, f.url) for f in info.feedback]),
            info.tags,
        )
    if rejected is None:
        raise _Unplain(info)
    return (1, tuple(sorted(rejected)))


_STAGES = {stage.value: stage for stage in Stage}


def _uninfo(doc: Document, entry: tuple[Any, ...]) -> Any:
    if entry[0] == 1:
        return validate.record(doc, set(entry[1]))
    _, day, stage, principles, product, authors, follows, feedback, tags = entry
    return LoopInfo(
        None if day is None else dt.date.fromordinal(day),
        None if stage is None else _STAGES[stage],
        principles,
        product,
        authors,
        follows,
        tuple([Feedback(*f) for f in feedback]) if feedback else (),
        tags,
    )


def _findings(found: list[Finding]) -> tuple[tuple[Any, ...], ...]:
    return tuple([(f.path, f.line, f.col, f.code, f.severity.value, f.message, f.hint) for f in found])


_SEVERITIES = {severity.value: severity for severity in Severity}


def _unfindings(entry: tuple[tuple[Any, ...], ...]) -> list[Finding]:
    return [Finding(p, line, col, code, _SEVERITIES[s], m, h) for p, line, col, code, s, m, h in entry]


# -- the files -----------------------------------------------------------------------------


def _key(settings: Settings) -> bytes:
    """What every entry depends on besides its file's bytes (see the module's docstring)."""
    h = hashlib.sha256()
    for part in (
        f"{FORMAT}\0{sys.version}\0{marshal.version}\0{yaml.__version__}\0{getattr(yaml, '__with_libyaml__', '')}",
        _own_code(),
        repr(settings),
        repr(markdown._CONFIG),  # what `kb.markdown.scan` reads bodies with (`configure`)
    ):
        h.update(part.encode() + b"\0\1")
    return h.digest()


@functools.cache
def _own_code() -> str:
    """kb's version and a digest of its modules: an installed kb keeps its version number from
    commit to commit."""
    from kb import __version__

    h = hashlib.sha256(__version__.encode())
    for path in sorted(Path(__file__).parent.glob("*.py")):
        h.update(path.name.encode() + b"\0" + path.read_bytes())
    return h.hexdigest()


class _Store:
    """The shard files of one cache folder: read on first use, written when they changed."""

    def __init__(self, folder: Path, key: bytes) -> None:
        self.folder, self.key = folder, key
        self.shards: list[dict[str, Entry] | None] = [None] * SHARDS
        self.changed: set[int] = set()

    def _shard(self, rel: str) -> dict[str, Entry]:
        at = zlib.crc32(rel.encode("utf-8", "surrogateescape")) % SHARDS
        shard = self.shards[at]
        if shard is None:
            shard = self.shards[at] = self._read(at)
        return shard

    def all(self) -> dict[str, Entry]:
        """Every file's entry (of the shape this code writes), by its content path."""
        out: dict[str, Entry] = {}
        for at in range(SHARDS):
            shard = self.shards[at]
            if shard is None:
                shard = self.shards[at] = self._read(at)
            out.update(shard)
        return {rel: e for rel, e in out.items() if type(e) is tuple and len(e) == _FIELDS}

    def put(self, rel: str, entry: Entry | None) -> None:
        shard = self._shard(rel)
        if entry is None:
            if shard.pop(rel, None) is None:
                return
        else:
            shard[rel] = entry
        self.changed.add(zlib.crc32(rel.encode("utf-8", "surrogateescape")) % SHARDS)

    def keep_only(self, rels: set[str]) -> None:
        """Forget the files no longer there."""
        for at, shard in enumerate(self.shards):
            if shard is None:
                continue
            gone = [rel for rel in shard if rel not in rels]
            for rel in gone:
                del shard[rel]
            if gone:
                self.changed.add(at)

    def _path(self, at: int) -> Path:
        return self.folder / f"{at:02d}.bin"

    def _read(self, at: int) -> dict[str, Entry]:
        """The shard's entries; empty (and to be written again) when it is missing, from
        another kb or settings, or damaged."""
        head = len(MAGIC) + len(self.key) + _DIGEST
        try:
            with open(self._path(at), "rb") as file:
                raw = file.read()
            if raw[: len(MAGIC)] != MAGIC or raw[len(MAGIC) : len(MAGIC) + len(self.key)] != self.key:
                raise ValueError("another kb or other settings")
            payload = memoryview(raw)[head:]
            if hashlib.blake2b(payload, digest_size=_DIGEST).digest() != raw[head - _DIGEST : head]:
                raise ValueError("damaged")
            entries = marshal.loads(payload)
            if type(entries) is not dict:
                raise ValueError("not a shard")
            return entries
        except (OSError, ValueError, EOFError, TypeError):
            self.changed.add(at)
            return {}

    def save(self) -> None:
        """Write the shards that changed, each atomically (a build and `kb serve` may write at
        once); a cache that cannot be written is only a slower next run."""
        if not self.changed:
            return
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
        except OSError:
            return
        for at in sorted(self.changed):
            shard = self.shards[at]
            if shard is None:
                continue
            payload = marshal.dumps(shard)
            checksum = hashlib.blake2b(payload, digest_size=_DIGEST).digest()
            try:
                fd, tmp = tempfile.mkstemp(prefix=f"{at:02d}.", suffix=".tmp", dir=self.folder)
                try:
                    with os.fdopen(fd, "wb") as out:
                        out.write(MAGIC + self.key + checksum)
                        out.write(payload)
                    os.replace(tmp, self._path(at))
                except BaseException:
                    Path(tmp).unlink(missing_ok=True)
                    raise
            except OSError:
                return
        self.changed.clear()
