"""Hypothesis: generated frontmatter, link syntax and whole file trees never break `kb lint`.

For every example: lint exits 0 or 1 without a traceback or an internal error; every finding
points inside its file (a line the file has, a column on that line, or the next one past its
end); and two runs on the same tree print exactly the same thing (findings are deterministic).
Frontmatter comes from real YAML data dumped in random styles and then mangled; bodies from a
soup of link syntax (wikilinks, markdown links, odd brackets, backticks, anchors, fences,
comments); trees from random names (unicode in NFC and NFD, case variants, spaces, dots),
folders, empty files and symlinks that stay inside the tree.
"""

from __future__ import annotations

import os
import tempfile
import unicodedata
from pathlib import Path

import yaml
from click.testing import CliRunner
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from conftest import BASE, make_kb
from kb.cli import main

SETTINGS = settings(max_examples=120, deadline=None, suppress_health_check=list(HealthCheck))
TARGETS = (
    "content/loops/2026/2026-11-24-fuzz.md",
    "content/principles/fuzz.md",
    "content/products/fuzz.md",
    "content/handbook/fuzz.md",
    "content/index.md",
)


# -- checking one tree ------------------------------------------------------------------------


def lint(root: Path) -> tuple[int, str]:
    result = CliRunner().invoke(main, ["--root", str(root), "lint", "--format", "text"])
    output = result.output
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)
    assert result.exit_code in (0, 1), output
    assert "Traceback" not in output and "internal error" not in output, output
    return result.exit_code, result.stdout


def file_lines(path: Path) -> list[str] | None:
    """The file's lines as kb numbers them (BOM dropped, CRLF and lone CR as LF); None if not text."""
    try:
        data = path.read_bytes()
    except OSError:
        return None
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        return data.decode("latin-1").replace("\r\n", "\n").replace("\r", "\n").split("\n")  # byte columns
    return text.removeprefix("\ufeff").replace("\r\n", "\n").replace("\r", "\n").split("\n")


def check(root: Path) -> None:
    """Lint twice: same output both times, every position inside its file."""
    code, out = lint(root)
    assert lint(root) == (code, out), "findings differ between two runs"
    lines = out.splitlines()
    for line in lines[:-1]:
        path, sep, rest = line.partition(".md:")
        if not sep:  # a folder or a non-markdown file: findings about it are at 1:1
            assert ":1:1: KB" in line, line
            continue
        row, col, _ = rest.split(":", 2)
        row, col = int(row), int(col)
        assert row >= 1 and col >= 1, line
        text = file_lines(root / (path + ".md"))
        if text is None or (row, col) == (1, 1):
            continue
        assert row <= len(text), f"{line}: the file has {len(text)} lines"
        assert col <= len(text[row - 1]) + 1, f"{line}: line {row} has {len(text[row - 1])} characters"


def with_file(rel: str, data: str | bytes) -> None:
    with tempfile.TemporaryDirectory(prefix="kb-fuzz-") as tmp:
        root = make_kb(Path(tmp), {**BASE, rel: data})
        check(root)


# -- frontmatter ------------------------------------------------------------------------------

KEYS = st.sampled_from(
    [
        "title",
        "summary",
        "date",
        "stage",
        "principles",
        "product",
        "follows",
        "feedback",
        "aliases",
        "related",
        "depends_on",
        "users",
        "owner",
        "status",
        "order",
        "extra",
        "tags",
        "type",
        "interfaces",
        "problem",
        "hide",
        "icon",
        "template",
        "search",
        "comments",
        "url",
        "quote",
        "source",
        "x",
        "Title",
    ]
)
SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(10**6), 10**6),
    st.floats(allow_nan=True),
    st.dates(),
    st.datetimes(),
    st.text(max_size=30),
    st.sampled_from(
        [
            "ownership",
            "kb",
            "observe",
            "repeat",
            "live",
            "2026-11-24",
            "2025-13-45",
            "no",
            "on",
            "javascript:alert(1)",
            "<script>x</script>",
            "\x1b[31m",
            "../..",
            "a" * 250,
            "",
            " ",
            "é",
            "\u2028",
            "{{ 7*7 }}",
        ]
    ),
)
DATA = st.recursive(
    SCALARS,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4), st.dictionaries(st.one_of(KEYS, st.text(max_size=8)), inner, max_size=4)
    ),
    max_leaves=12,
)
FRONT = st.dictionaries(KEYS, DATA, max_size=8)
STYLE = st.sampled_from([None, "'", '"', "|", ">"])
MANGLE = st.sampled_from(
    [
        "",
        "\t",
        ": ",
        "- ",
        "&a ",
        "*a ",
        "!!python/object:x ",
        "!x ",
        "[",
        "{",
        "'",
        '"',
        "\n---\n",
        "\n...\n",
        "#",
        "\x85",
        "%YAML 1.1\n",
        "? ",
        "<<: *a\n",
    ]
)


@st.composite
def frontmatter_text(draw: st.DrawFn) -> str:
    """Real YAML in a random style, then a few characters inserted at random places."""
    data = draw(FRONT)
    try:
        text = yaml.safe_dump(
            data,
            default_style=draw(STYLE),
            default_flow_style=draw(st.booleans()),
            allow_unicode=draw(st.booleans()),
            sort_keys=False,
            width=draw(st.integers(20, 200)),
        )
    except (yaml.YAMLError, ValueError):
        text = "title: x\n"
    for _ in range(draw(st.integers(0, 3))):
        at = draw(st.integers(0, len(text)))
        text = text[:at] + draw(MANGLE) + text[at:]
    return text


LOOP_BODY = "## 1. Observe\n\nok\n"


@SETTINGS
@given(rel=st.sampled_from(TARGETS), front=frontmatter_text(), crlf=st.booleans())
def test_generated_frontmatter(rel: str, front: str, crlf: bool) -> None:
    text = f"---\n{front}---\n\n{LOOP_BODY}"
    with_file(rel, text.replace("\n", "\r\n") if crlf else text)


# -- link syntax ------------------------------------------------------------------------------

TARGET_WORDS = st.sampled_from(
    [
        "ownership",
        "kb",
        "products/kb",
        "principles/ownership",
        "take ownership",
        "nowhere",
        "../principles/ownership.md",
        "../../products/kb.md",
        "x.md",
        "../../../../etc/passwd",
        "/abs",
        "file:///x",
        "javascript:alert(1)",
        "JaVaScRiPt:x",
        "java\tscript:x",
        "data:x",
        "%2e%2e/x.md",
        "café",
        "Ownership",
        "",
        " ",
        "index",
        "#why-it-matters",
        "#Why-It-Matters",
        "#nope",
    ]
)
PIECES = st.one_of(
    TARGET_WORDS,
    st.sampled_from(
        [
            "[[",
            "]]",
            "[",
            "]",
            "(",
            ")",
            "|",
            "#",
            "`",
            "``",
            "```",
            "~~~",
            "\\",
            "!",
            "<",
            ">",
            "<!--",
            "-->",
            "\n",
            "\n\n",
            " ",
            "    ",
            "\t",
            '<a href="',
            '">',
            "<img src=",
            " onerror=x ",
            "<script>",
            "](",
            "[x](",
            "[[ownership#",
            "[[kb|",
            "## ",
            "# ",
            "\n---\n",
            "{#id}",
            "*",
            "_",
            "<kb: ignore>",
            "<!-- kb: ignore KB404 -->",
            "ü",
            "\u0301",
        ]
    ),
    st.text(max_size=6),
)
BODY = st.lists(PIECES, max_size=40).map("".join)


@SETTINGS
@given(rel=st.sampled_from(TARGETS), body=BODY)
def test_generated_link_syntax(rel: str, body: str) -> None:
    head = "---\ntitle: Fuzz\ndate: 2026-11-24\nstage: observe\nprinciples: [ownership]\n---\n\n"
    if not rel.startswith("content/loops/"):
        head = "---\ntitle: Fuzz\nsummary: One line.\n---\n\n"
    with_file(rel, head + LOOP_BODY + body + "\n")


# -- file trees -------------------------------------------------------------------------------


def _variants(word: str) -> list[str]:
    return sorted(
        {
            word,
            word.upper(),
            word.capitalize(),
            unicodedata.normalize("NFC", word),
            unicodedata.normalize("NFD", word),
        }
    )


NAMES = st.sampled_from(
    sorted(
        {
            v
            for w in (
                "ownership",
                "café",
                "kb",
                "notes",
                "index",
                "a b",
                "x.y",
                "ü",
                "2026-11-24-loop",
                "people",
                "tags",
                "%2e%2e",
                "a..b",
            )
            for v in _variants(w)
        }
    )
)
FOLDERS = st.sampled_from(
    [
        "",
        "principles/",
        "products/",
        "loops/",
        "loops/2026/",
        "handbook/",
        "handbook/deep/",
        "people/",
        "Principles/",
        "principles/sub/",
    ]
)
CONTENTS = st.one_of(
    st.just(""),
    st.sampled_from(
        [
            "---\ntitle: T\nsummary: S.\n---\n\n[[ownership]]\n",
            "---\ntitle: T\ndate: 2026-11-24\nstage: observe\nprinciples: [ownership]\n---\n\n## 1. Observe\n\nok\n",
            "---\ntitle: T\nsummary: S.\nproblem: P.\nusers: [U]\nowner: O\nstatus: idea\ndepends_on: [kb]\n---\n\nText.\n",
            "# Heading only\n\n[x](../index.md) [[nowhere]]\n",
            "---\n---\n",
            "---\nnever closed\n",
        ]
    ),
    st.binary(max_size=40),
)
ENTRY = st.tuples(FOLDERS, NAMES, st.sampled_from([".md", ".md", ".md", ".png", ""]), CONTENTS)
LINKS = st.lists(st.tuples(st.integers(0, 20), st.integers(0, 20), st.booleans()), max_size=4)


@settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
@given(entries=st.lists(ENTRY, min_size=1, max_size=10), links=LINKS, with_base=st.booleans())
@example(
    entries=[("", "%2E%2E", ".md", b"\r\x80")], links=[], with_base=False
)  # found: a lone CR before bad UTF-8
def test_generated_trees(entries: list, links: list, with_base: bool) -> None:
    with tempfile.TemporaryDirectory(prefix="kb-tree-") as tmp:
        root = make_kb(Path(tmp), BASE if with_base else {})
        made: list[Path] = []
        for folder, name, ext, data in entries:
            path = root / "content" / f"{folder}{name}{ext}"
            if path.exists() or path.parent.is_file() or any(p.is_file() for p in path.parents):
                continue
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(data.encode("utf-8") if isinstance(data, str) else data)
            made.append(path)
        for source, target, to_folder in links:  # symlinks that stay inside the tree
            if not made:
                break
            goal = made[target % len(made)]
            goal = goal.parent if to_folder else goal
            link = made[source % len(made)].parent / f"link-{source}-{target}{'' if to_folder else '.md'}"
            if not link.exists() and not link.is_symlink():
                os.symlink(os.path.relpath(goal, link.parent), link)
        check(root)
