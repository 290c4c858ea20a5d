"""Stage 1 — load: walk content/, read every file, split and parse its frontmatter.

Each markdown file becomes a `Document` (or findings saying why it could not be read);
every other file is an `Asset`. Reading is independent per file, so `read_file` is a pure
function of its inputs: the pipeline may run it in several processes.
"""

from __future__ import annotations

import fnmatch
import os
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from kb import frontmatter
from kb.findings import Finding, finding
from kb.markdown import scan
from kb.model import EMPTY_FRONTMATTER, FOLDER_COLLECTION, Asset, Collection, Document
from kb.settings import Settings


@dataclass(frozen=True, slots=True)
class Entry:
    """A file found by the walk: its path relative to the content folder, and its size."""

    rel: str
    size: int


@dataclass(frozen=True)
class Corpus:
    """Everything stage 1 produced."""

    documents: tuple[Document, ...]
    assets: tuple[Asset, ...]
    findings: tuple[Finding, ...]
    files: int  # markdown files seen, readable or not (the lint summary counts them)


def walk(settings: Settings) -> tuple[list[Entry], list[Entry], list[Finding]]:
    """Markdown files, assets, and findings about the tree itself (symlinks, name clashes)."""
    markdown: list[Entry] = []
    assets: list[Entry] = []
    found: list[Finding] = []
    root = settings.root.resolve()
    for rel, entry in _scan(settings.content, "", root, settings, found):
        size = _size(entry)
        (markdown if rel.endswith(".md") else assets).append(Entry(rel, size))
    found.extend(_name_clashes(settings, markdown + assets))
    markdown.sort(key=lambda e: e.rel)
    assets.sort(key=lambda e: e.rel)
    return markdown, assets, found


def _scan(
    folder: Path, prefix: str, root: Path, settings: Settings, found: list[Finding]
) -> Iterator[tuple[str, os.DirEntry[str]]]:
    try:
        entries = sorted(os.scandir(folder), key=lambda e: e.name)
    except OSError as exc:
        found.append(_unreadable(settings, prefix.rstrip("/") or ".", exc))
        return
    for entry in entries:
        rel = prefix + entry.name
        if entry.name.startswith(".") or _excluded(rel, settings.exclude):
            continue
        if entry.is_symlink() and not _inside(entry.path, root):
            found.append(finding(
                _repo_path(settings, rel), 1, 1, "KB304",
                "symlink points outside the repository; it is not followed",
                "copy the file into content/ instead",
            ))
            continue
        if entry.is_dir(follow_symlinks=False):
            yield from _scan(Path(entry.path), rel + "/", root, settings, found)
        elif entry.is_file():
            yield rel, entry


def _excluded(rel: str, patterns: tuple[str, ...]) -> bool:
    return any(fnmatch.fnmatchcase(rel, p) for p in patterns)


def _inside(path: str, root: Path) -> bool:
    try:
        return Path(os.path.realpath(path)).is_relative_to(root)
    except (OSError, ValueError):
        return False


def _size(entry: os.DirEntry[str]) -> int:
    try:
        return entry.stat().st_size
    except OSError:
        return -1


def _name_clashes(settings: Settings, entries: list[Entry]) -> list[Finding]:
    """KB303: names that one file system keeps apart and another merges (macOS, Windows)."""
    seen: dict[str, str] = {}
    out = []
    for entry in sorted(entries, key=lambda e: e.rel):
        key = unicodedata.normalize("NFC", entry.rel).casefold()
        if key in seen:
            out.append(finding(
                _repo_path(settings, entry.rel), 1, 1, "KB303",
                f"name differs from '{seen[key]}' only by case or Unicode normalization",
                "rename one of them; they collide on macOS and Windows",
            ))
        else:
            seen[key] = entry.rel
    return out


def _repo_path(settings: Settings, rel: str) -> str:
    return f"{settings.content_dir}/{rel}"


def _unreadable(settings: Settings, rel: str, exc: OSError) -> Finding:
    return finding(_repo_path(settings, rel), 1, 1, "KB101",
                   f"cannot be read: {exc.strerror or exc}", "check the file's permissions")


def collection_of(rel: str) -> Collection:
    """The first folder decides the collection; anything else is a plain page."""
    first, sep, _ = rel.partition("/")
    return FOLDER_COLLECTION.get(first, Collection.PAGE) if sep else Collection.PAGE


def read_file(settings: Settings, entry: Entry) -> tuple[Document | None, list[Finding]]:
    """Read one markdown file into a Document; findings for whatever is wrong with it."""
    path = _repo_path(settings, entry.rel)
    if entry.size > settings.max_file_bytes:
        return None, [finding(
            path, 1, 1, "KB106",
            f"file is {entry.size} bytes, over the limit of {settings.max_file_bytes}",
            "split it, or raise [tool.kb] max_file_bytes",
        )]
    try:
        with open(settings.content / entry.rel, "rb") as fh:
            data = fh.read()
    except OSError as exc:
        return None, [_unreadable(settings, entry.rel, exc)]
    text, problem = decode(path, data)
    if problem:
        return None, [problem]
    return parse_text(settings, entry.rel, text)


def decode(path: str, data: bytes) -> tuple[str, Finding | None]:
    """UTF-8 text with a BOM dropped and CRLF / lone CR read as LF (lines keep their numbers)."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        col = exc.start - (data.rfind(b"\n", 0, exc.start) + 1) + 1
        return "", finding(path, line, col, "KB101",
                           f"not valid UTF-8 (byte 0x{data[exc.start]:02x})",
                           "save the file as UTF-8")
    if text.startswith("\ufeff"):
        text = text[1:]
    if "\r" in text:
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    nul = text.find("\x00")
    if nul >= 0:
        line = text.count("\n", 0, nul) + 1
        col = nul - (text.rfind("\n", 0, nul) + 1) + 1
        return "", finding(path, line, col, "KB101", "file contains NUL bytes (binary?)",
                           "markdown files hold text only; keep binary files as assets")
    return text, None


def parse_text(
    settings: Settings, rel: str, text: str
) -> tuple[Document | None, list[Finding]]:
    """Split and parse decoded text; a document whose frontmatter fails is kept unreadable."""
    path = _repo_path(settings, rel)
    collection = collection_of(rel)
    cut, found = frontmatter.split(path, text, required=collection is not Collection.PAGE)
    front, readable = EMPTY_FRONTMATTER, not found
    if cut.yaml_text is not None:
        parsed, problems = frontmatter.parse(
            path, cut.yaml_text, settings.max_yaml_depth, settings.max_yaml_nodes
        )
        found.extend(problems)
        readable = parsed is not None
        front = parsed or EMPTY_FRONTMATTER
    name = rel.rsplit("/", 1)[-1]
    doc = Document(
        path=path, rel=rel, collection=collection, id=name[:-3], front=front,
        has_frontmatter=cut.yaml_text is not None, body=cut.body, body_line=cut.body_line,
        scan=scan(cut.body), readable=readable,
    )
    return doc, found


def load(settings: Settings) -> Corpus:
    """Walk and read the whole handbook."""
    markdown, assets, found = walk(settings)
    documents = []
    for entry in markdown:
        doc, problems = read_file(settings, entry)
        found.extend(problems)
        if doc is not None:
            documents.append(doc)
    asset_records = tuple(Asset(_repo_path(settings, a.rel), a.rel) for a in assets)
    return Corpus(tuple(documents), asset_records, tuple(found), len(markdown))
