"""The emitted tree in memory, and how it reaches the disk: only changed bytes are written.

A rebuild with no change touches no file, so MkDocs' dirty build (and a live reload)
re-renders only the pages whose markdown really changed.
"""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass, field
from pathlib import Path


@dataclass
class Tree:
    """The emitted tree in memory: relative path → bytes, plus asset copies."""

    files: dict[str, bytes] = field(default_factory=dict)
    copies: dict[str, Path] = field(default_factory=dict)

    def text(self, rel: str, content: str) -> None:
        self.files[rel] = content.encode("utf-8")


def sync(tree: Tree, docs_dir: Path) -> tuple[list[str], list[str]]:
    """Make `docs_dir` hold exactly `tree`, rewriting only files whose bytes changed."""
    docs_dir.mkdir(parents=True, exist_ok=True)
    existing = set(_walk(docs_dir))
    changed = write_changed(tree, docs_dir, existing)
    for rel, source in tree.copies.items():
        target = docs_dir / rel
        if rel in existing and _same_file(source, target):
            continue
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(source, target)
        changed.append(rel)
    removed = sorted(existing - tree.files.keys() - tree.copies.keys())
    for rel in removed:
        (docs_dir / rel).unlink()
    return sorted(changed), removed


def write_changed(tree: Tree, docs_dir: Path, existing: set[str] | None = None) -> list[str]:
    """Write the files of `tree` whose bytes differ from those in `docs_dir`, each atomically
    (a live server or MkDocs never reads half a file), leaving every other file alone; the
    paths written, in `tree`'s order. `existing`: the files `docs_dir` holds, when known."""
    changed = []
    for rel, data in tree.files.items():
        target = docs_dir / rel
        if (existing is None or rel in existing) and _same_bytes(target, data):
            continue
        target.parent.mkdir(parents=True, exist_ok=True)
        _write_atomic(target, data)
        changed.append(rel)
    return changed


def _walk(folder: Path) -> list[str]:
    out: list[str] = []
    for dirpath, _dirs, names in os.walk(folder):
        base = Path(dirpath).relative_to(folder).as_posix()
        out.extend(name if base == "." else f"{base}/{name}" for name in names)
    return out


def _same_bytes(path: Path, data: bytes) -> bool:
    try:
        if path.stat().st_size != len(data):
            return False
        return path.read_bytes() == data
    except OSError:
        return False


def _same_file(source: Path, target: Path) -> bool:
    try:
        a, b = source.stat(), target.stat()
    except OSError:
        return False
    return a.st_size == b.st_size and int(a.st_mtime) == int(b.st_mtime)


def _write_atomic(path: Path, data: bytes) -> None:
    tmp = path.with_name(f".{path.name}.kb-tmp")
    tmp.write_bytes(data)
    os.replace(tmp, path)
