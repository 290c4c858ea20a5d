"""Property tests: no input file makes `kb lint` crash.

Whatever bytes a file holds, and whatever YAML-ish text its frontmatter holds, lint reports
findings and exits 0 or 1, never a traceback or an internal error. Each example rewrites one
file in a handbook kept in a temporary folder for the whole module (hypothesis examples do
not get fresh pytest fixtures).
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conftest import make_base
from kb.block import split
from kb.cli import main
from kb.frontmatter import parse

_TMP = tempfile.TemporaryDirectory(prefix="kb-props-")
ROOT = make_base(Path(_TMP.name))
TARGETS = (
    "content/loops/2026/2026-11-24-prop.md",
    "content/principles/prop.md",
    "content/products/prop.md",
    "content/handbook/prop.md",
)
FAST = settings(max_examples=200, deadline=None, suppress_health_check=list(HealthCheck))


def lint_file(rel: str, data: bytes) -> None:
    for other in TARGETS:
        (ROOT / other).unlink(missing_ok=True)
    target = ROOT / rel
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(data)
    result = CliRunner().invoke(main, ["--root", str(ROOT), "lint", "--format", "text"])
    output = result.output
    assert result.exit_code in (0, 1), (output, result.exception)
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    assert "Traceback" not in output and "internal error" not in output
    lines = result.stdout.splitlines()
    assert lines[-1].endswith(" files") or lines[-1].endswith(" file")
    for line in lines[:-1]:
        path, row, col, rest = line.split(":", 3)
        assert int(row) >= 1 and int(col) >= 1 and rest.startswith(" KB"), line


@FAST
@given(rel=st.sampled_from(TARGETS), data=st.binary(max_size=400))
def test_any_bytes(rel: str, data: bytes) -> None:
    lint_file(rel, data)


@FAST
@given(
    rel=st.sampled_from(TARGETS),
    head=st.sampled_from([b"---\n", b"---\r\n", b"\xef\xbb\xbf---\n"]),
    data=st.binary(max_size=300),
)
def test_any_bytes_after_a_delimiter(rel: str, head: bytes, data: bytes) -> None:
    lint_file(rel, head + data + b"\n---\n\n## 1. Observe\n\n[[x]] [y](z.md#w)\n")


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
        "status",
        "order",
        "extra",
        "tags",
        "type",
        "url",
        "source",
        "quote",
        "x",
        "<<",
        "? a",
        "1",
        "",
    ]
)
ATOMS = st.sampled_from(
    [
        "",
        "ownership",
        "kb",
        "no",
        "yes",
        "null",
        "~",
        "2026-11-24",
        "2025-13-45",
        "2026-11-24 10:00",
        "1",
        "-1.5",
        ".inf",
        "0x1F",
        "observe",
        "repeat",
        "live",
        "&a",
        "*a",
        "&a x",
        "*b",
        "!!str x",
        "!!python/object:os.system x",
        "!custom",
        "|",
        ">-",
        "'quoted'",
        '"dq"',
        "'",
        '"',
        "[",
        "]",
        "{",
        "}",
        "[a, b]",
        "{a: 1}",
        ":",
        "- ",
        "#c",
        "%YAML 1.1",
        "---",
        "...",
        "\t",
        "javascript:x",
        "<b>x</b>",
        "\\x00",
        "é",
        "\u2028",
        "[[[[",
        "]]]]",
        "? ",
        ",",
    ]
)
VALUES = st.lists(ATOMS, max_size=4).map(" ".join)
LINE = st.tuples(
    st.integers(0, 6),
    st.sampled_from(["", "- ", "- - ", "? "]),
    KEYS,
    st.sampled_from([": ", ":", " : ", ""]),
    VALUES,
).map(lambda t: " " * t[0] + t[1] + t[2] + t[3] + t[4])
FRONT = st.lists(st.one_of(LINE, VALUES), max_size=12).map("\n".join)
BODY = st.sampled_from(
    [
        "",
        "## 1. Observe\n\nok\n",
        "# T\n\n[[ownership]] [a](../x.md#y)\n",
        "```\n[[x]]\n",
        "<!-- kb: ignore -->\n<script>\n",
    ]
)


@FAST
@given(rel=st.sampled_from(TARGETS), front=FRONT, body=BODY)
def test_yamlish_frontmatter(rel: str, front: str, body: str) -> None:
    lint_file(rel, f"---\n{front}\n---\n\n{body}".encode())


@settings(max_examples=300, deadline=None)
@given(front=FRONT)
def test_parse_positions_point_into_the_block(front: str) -> None:
    """Every recorded key and value position lies inside the frontmatter block."""
    text = f"---\n{front}\n---\nbody\n"
    cut, _ = split("p.md", text, required=True)
    if cut.yaml_text is None:
        return
    parsed, found = parse("p.md", cut.yaml_text, 32, 5000)
    last = cut.body_line - 2
    for f in found:
        assert 1 <= f.line <= last + 1 and f.col >= 1, f
    if parsed is not None:
        for line, col in [*parsed.keys.values(), *parsed.values.values()]:
            assert 2 <= line <= last + 1 and col >= 1


NESTING = st.lists(
    st.tuples(
        st.integers(0, 8),
        st.sampled_from(["", "- ", "- - ", "? ", "? - ", "-  ? "]),
        st.sampled_from(["a: ", "a:", "- ", "", "[", "{", "]", "}", "'[", '"{', "|"]),
        VALUES,
    ),
    max_size=10,
).map(lambda rows: "\n".join(" " * n + lead + key + value for n, lead, key, value in rows))


@settings(max_examples=500, deadline=None)
@given(text=NESTING, max_depth=st.integers(0, 6))
def test_depth_shortcut_agrees_with_the_walk(text: str, max_depth: int) -> None:
    """The nesting pre-check's counts only skip walks that would find nothing."""
    from kb.nesting import depth_precheck, depth_walk

    assert depth_precheck("p.md", text, max_depth) == depth_walk("p.md", text, max_depth)


PLAIN = st.one_of(
    st.sampled_from(["x", "yes", "null", "2026-11-24", "2025-13-45", "1.5", "0x1F", "'q'", "-"]),
    st.text(max_size=6),
    st.integers(),
    st.booleans(),
    st.none(),
)
DATA = st.recursive(
    PLAIN,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4),
        st.dictionaries(st.one_of(st.text(max_size=4), st.integers()), inner, max_size=4),
    ),
    max_leaves=20,
)
DUMPED = st.tuples(
    st.dictionaries(st.text(max_size=6), DATA, max_size=6),
    st.sampled_from([None, True, False]),
    st.integers(1, 6),
).map(
    lambda t: __import__("yaml").safe_dump(t[0], default_flow_style=t[1], indent=t[2] + 1, allow_unicode=True)
)


@settings(max_examples=500, deadline=None)
@given(front=st.one_of(FRONT, DUMPED), max_depth=st.integers(1, 5), max_nodes=st.integers(1, 30))
def test_fast_converter_agrees_with_the_general_one(front: str, max_depth: int, max_nodes: int) -> None:
    """`parse` (which takes `convert` when it can) gives what `Converter` gives: the same
    findings, data, positions and their order."""
    import yaml

    from kb.convert import Converter, Lines, Loader
    from kb.nesting import depth_precheck

    try:
        node = yaml.compose(front, Loader=Loader)
    except (yaml.YAMLError, RecursionError, ValueError):
        return
    if node is None or depth_precheck("p.md", front, max_depth) is not None:
        return
    parsed, found = parse("p.md", front, max_depth, max_nodes)
    general, general_found = Converter("p.md", max_depth, max_nodes, Lines(front)).document(node)
    assert found == general_found
    assert (parsed is None) == (general is None)
    if parsed is not None and general is not None:
        assert repr(parsed.data) == repr(general.data)
        for mine, theirs in (
            (parsed.keys, general.keys),
            (parsed.values, general.values),
            (parsed.scalars, general.scalars),
        ):
            assert list(mine.items()) == list(theirs.items())
