"""Stage 1 — load: the walk, decoding, the frontmatter split, and YAML with positions."""

from __future__ import annotations

import datetime as dt
import os
import unicodedata
from pathlib import Path

import pytest

from conftest import BASE, LOOP, make_base, make_kb
from kb.block import split
from kb.findings import Finding
from kb.frontmatter import parse
from kb.load import Corpus, decode, load
from kb.model import Collection, Document
from kb.settings import Settings, load_settings
from kb.values import InvalidDate, as_date


def loaded(tmp_path: Path, files: dict[str, str | bytes], base: bool = False) -> Corpus:
    root = make_base(tmp_path, files) if base else make_kb(tmp_path, files)
    return load(load_settings(root))


def codes(found: tuple[Finding, ...] | list[Finding]) -> list[tuple[str, int, int, str]]:
    return [(f.path.rsplit("/", 1)[-1], f.line, f.col, f.code) for f in found]


def parsed(yaml_text: str):
    return parse("x.md", yaml_text, 32, 5000)


# -- split ---------------------------------------------------------------------------------


def test_split_finds_block_and_body_line() -> None:
    cut, found = split("x.md", "---\na: 1\nb: 2\n---\n\nbody\n", required=True)
    assert (cut.yaml_text, cut.body, cut.body_line, found) == ("a: 1\nb: 2\n", "\nbody\n", 5, [])


@pytest.mark.parametrize("text", ["---\n---\nbody\n", "---\n---"])
def test_empty_block_is_an_empty_mapping(text: str) -> None:
    cut, found = split("x.md", text, required=True)
    assert (cut.yaml_text, cut.body_line, found) == ("", 3, [])
    assert parsed("")[0].data == {}


def test_closer_at_end_of_file_without_newline() -> None:
    cut, _ = split("x.md", "---\na: 1\n---", required=True)
    assert (cut.yaml_text, cut.body) == ("a: 1\n", "")


def test_thematic_break_in_body_stays_in_body() -> None:
    cut, _ = split("x.md", "---\na: 1\n---\ntext\n\n---\n\nmore\n---\n", required=True)
    assert cut.yaml_text == "a: 1\n"
    assert cut.body == "text\n\n---\n\nmore\n---\n"


@pytest.mark.parametrize(
    ("text", "message", "hint"),
    [
        ("# no block\n", "no frontmatter block", "start the file with"),
        ("---\na: 1\n", "frontmatter block is never closed", "close it with"),
        ("---\na: 1\n...\nbody\n", "frontmatter block is never closed", "'...' does not close"),
        ("\n---\na: 1\n---\n", "no frontmatter block", "without blank lines before it"),
        ("--- \na: 1\n---\n", "no frontmatter block", "exactly '---'"),
        ("+++\na = 1\n+++\n", "TOML frontmatter is not supported", "as YAML"),
        ('{"a": 1}\n', "JSON frontmatter is not supported", "as YAML"),
    ],
)
def test_split_problems_are_kb102_at_1_1(text: str, message: str, hint: str) -> None:
    _, found = split("x.md", text, required=True)
    [f] = found
    assert (f.code, f.line, f.col, f.message) == ("KB102", 1, 1, message)
    assert hint in f.hint


def test_frontmatter_is_optional_for_pages_only() -> None:
    assert split("x.md", "# Title\n\ntext\n", required=False)[1] == []
    # ...but a block after blank lines on a page was meant as frontmatter
    assert [f.code for f in split("x.md", "\n---\na: 1\n---\n", required=False)[1]] == ["KB102"]


# -- decode --------------------------------------------------------------------------------


def test_decode_drops_bom_and_normalizes_line_endings() -> None:
    assert decode("x.md", b"\xef\xbb\xbfa\r\nb\rc\n") == ("a\nb\nc\n", None)


def test_decode_reports_invalid_utf8_at_its_byte() -> None:
    _, problem = decode("x.md", b"ok\nab\xffcd\n")
    assert (problem.code, problem.line, problem.col) == ("KB101", 2, 3)
    assert problem.message == "not valid UTF-8 (byte 0xff)"


@pytest.mark.parametrize(
    ("data", "line", "col"),
    [
        (b"\r\x80", 2, 1),  # a lone CR ends a line, as it does when the text is read
        (b"a\r\nb\rc\x80", 3, 2),
        ("\ufeffé\u00e9".encode() + b"\xff", 1, 3),  # columns count characters; the BOM is not one
    ],
)
def test_invalid_utf8_position_counts_like_the_text(data: bytes, line: int, col: int) -> None:
    _text, problem = decode("x.md", data)
    assert problem is not None and (problem.line, problem.col) == (line, col)


def test_decode_reports_nul_bytes() -> None:
    _, problem = decode("x.md", b"a\nbc\x00")
    assert (problem.code, problem.line, problem.col) == ("KB101", 2, 3)


# -- parse: positions, types, bounds ---------------------------------------------------------


def test_positions_of_keys_and_values() -> None:
    front, found = parsed(
        "title: Slow CI\nprinciples:\n  - ownership\n  - kb\nfeedback:\n"
        '  - source: Chat\n    quote: "It is slow"\n'
    )
    assert found == []
    assert front.key_pos("title") == (2, 1)
    assert front.value_pos("title") == (2, 8)
    assert front.value_pos("principles", 1) == (5, 5)
    assert front.key_pos("feedback", 0, "quote") == (8, 5)
    assert front.value_pos("feedback", 0, "quote") == (8, 12)
    assert front.scalars[("feedback", 0, "quote")].quoted
    assert not front.scalars[("title",)].quoted
    assert front.value_pos("missing") == (1, 1)


def test_dates_bare_quoted_and_impossible() -> None:
    front, _ = parsed('a: 2026-11-23\nb: "2026-11-23"\nc: 2025-13-45\nd: 2026-11-23 10:00:00\n')
    assert front.data["a"] == dt.date(2026, 11, 23)
    assert front.data["b"] == "2026-11-23"
    assert isinstance(front.data["c"], InvalidDate)
    assert isinstance(front.data["d"], dt.datetime)
    assert as_date(front.data["a"]) == as_date(front.data["b"]) == dt.date(2026, 11, 23)
    assert as_date(front.data["c"]) is None and as_date(front.data["d"]) is None
    assert as_date("2026-02-30") is None and as_date(20261123) is None


def test_yaml_11_booleans_and_numbers_stay_what_yaml_says() -> None:
    front, _ = parsed("a: no\nb: yes\nc: 1.5\nd: '1.5'\ne: ~\n")
    assert front.data == {"a": False, "b": True, "c": 1.5, "d": "1.5", "e": None}
    assert front.scalars[("a",)].raw == "no"


def test_duplicate_key_reported_at_the_repeated_key() -> None:
    front, found = parsed("a: 1\nb: 2\n  # c\na: 3\n")
    assert codes(found) == [("x.md", 5, 1, "KB105")]
    assert front.data["a"] == 1


def test_non_string_key() -> None:
    front, found = parsed("1: x\nb: 2\n")
    assert codes(found) == [("x.md", 2, 1, "KB203")]
    assert front.data == {"b": 2}


@pytest.mark.parametrize(
    ("yaml_text", "expected", "message"),
    [
        ("- a\n- b\n", ("x.md", 2, 1, "KB104"), "frontmatter is a list, not a mapping"),
        ("just words\n", ("x.md", 2, 1, "KB104"), "frontmatter is a single value, not a mapping"),
        ("a: [b\nc: d\n", ("x.md", 3, 2, "KB103"), None),
        ("a: 1\nb:\n\t- x\n", ("x.md", 4, 1, "KB103"), None),
        (
            "a: !!python/object:os.system x\n",
            ("x.md", 2, 4, "KB108"),
            "YAML tag '!!python/object:os.system' is not plain data",
        ),
        ("a: !!binary aGk=\n", ("x.md", 2, 4, "KB108"), "YAML tag '!!binary' is not plain data"),
        ("a: !env HOME\n", ("x.md", 2, 4, "KB108"), "YAML tag '!env' is not plain data"),
        ("a: &a [*a]\n", ("x.md", 2, 1, "KB107"), "frontmatter is nested deeper than 32 levels"),
        ("a: " + "[" * 100_000 + "\n", ("x.md", 2, 36, "KB107"), "YAML nested deeper than 32 levels"),
        ("a:\n" + "".join("  " * i + "- \n" for i in range(60)), ("x.md", 35, 65, "KB107"), None),
    ],
)
def test_unreadable_frontmatter(yaml_text: str, expected: tuple, message: str | None) -> None:
    front, found = parsed(yaml_text)
    assert front is None
    assert codes(found) == [expected]
    if message:
        assert found[0].message == message


def test_tab_indentation_gets_a_hint() -> None:
    _, [f] = parsed("a: 1\nb:\n\t- x\n")
    assert f.hint == "indent with spaces, not tabs"


def test_alias_bomb_is_reported_at_the_key_that_expands_it() -> None:
    text = "a: &a [x, x, x, x, x, x, x, x, x, x]\n"
    for prev, name in (("a", "b"), ("b", "c"), ("c", "d"), ("d", "e")):
        text += f"{name}: &{name} [" + ", ".join([f"*{prev}"] * 10) + "]\n"
    front, found = parsed(text)
    assert front is None
    assert codes(found) == [("x.md", 5, 1, "KB107")]
    assert found[0].message == "frontmatter expands to too many values (alias bomb?)"


def test_a_few_aliases_are_fine() -> None:
    front, found = parsed("a: &x [p, q]\nb: *x\n")
    assert (front.data, found) == ({"a": ["p", "q"], "b": ["p", "q"]}, [])


def test_unicode_line_separators_do_not_shift_positions() -> None:
    """YAML breaks lines at U+2028 and U+0085; the file (and editors) do not."""
    front, _ = parsed('a: "x\u2028y"\nb: "p\x85q"\nc: z\n')
    assert front.value_pos("c") == (4, 4)
    _, [f] = parsed('a: "x\u2028y"\nb: [\n')
    assert f.line == 4


# -- the walk --------------------------------------------------------------------------------


def test_collections_ids_and_assets(tmp_path: Path) -> None:
    corpus = loaded(
        tmp_path,
        {
            "content/handbook/img/chart.png": b"\x89PNG",
            ".git/x.md": "x",
            "content/.hidden.md": "x",
            "content/notes.txt": "x",
        },
        base=True,
    )
    by_rel = {d.rel: d for d in corpus.documents}
    assert sorted(by_rel) == [
        "index.md",
        "loops/2026/2026-11-23-slow-ci.md",
        "principles/ownership.md",
        "products/kb.md",
    ]
    assert by_rel["loops/2026/2026-11-23-slow-ci.md"].collection is Collection.LOOP
    assert by_rel["loops/2026/2026-11-23-slow-ci.md"].id == "2026-11-23-slow-ci"
    assert by_rel["index.md"].collection is Collection.PAGE
    assert [a.rel for a in corpus.assets] == ["handbook/img/chart.png", "notes.txt"]
    assert corpus.files == 4
    assert corpus.findings == ()


def test_file_positions_with_crlf(tmp_path: Path) -> None:
    corpus = loaded(tmp_path, {LOOP: BASE[LOOP].replace("\n", "\r\n")})
    [doc] = corpus.documents
    assert doc.front.value_pos("product") == (6, 10)
    assert doc.body_line == 8
    heading = doc.scan.headings[1]
    assert doc.file_pos(heading.line, heading.col) == (13, 1)


def test_unreadable_document_is_kept_for_resolution(tmp_path: Path) -> None:
    corpus = loaded(tmp_path, {"content/principles/p.md": "---\ntitle: [\n---\n"})
    [doc] = corpus.documents
    assert not doc.readable and doc.meta == {}
    assert [f.code for f in corpus.findings] == ["KB103"]


def test_too_large_and_exclude(tmp_path: Path) -> None:
    corpus = loaded(
        tmp_path,
        {
            "kb.toml": 'max_file_bytes = 50\nexclude = ["drafts/*"]\n',
            "content/big.md": "# Big\n\n" + "x" * 60,
            "content/drafts/wip.md": "no frontmatter at all, and huge " * 10,
        },
    )
    assert codes(corpus.findings) == [("big.md", 1, 1, "KB106")]
    assert corpus.documents == ()


def test_symlinks_inside_are_followed_outside_are_kb304(tmp_path: Path) -> None:
    root = make_base(tmp_path / "kb")
    (tmp_path / "outside.md").write_text("# Outside\n")
    os.symlink(tmp_path / "outside.md", root / "content" / "out.md")
    os.symlink(tmp_path, root / "content" / "up")
    os.symlink(root / "content" / "principles" / "ownership.md", root / "content" / "own.md")
    corpus = load(Settings(root=root))
    assert codes(corpus.findings) == [("out.md", 1, 1, "KB304"), ("up", 1, 1, "KB304")]
    assert "own.md" in {d.rel for d in corpus.documents}


def test_unicode_normalization_clash(tmp_path: Path) -> None:
    nfc = unicodedata.normalize("NFC", "café")
    nfd = unicodedata.normalize("NFD", "café")
    root = make_kb(tmp_path, {f"content/{nfc}.md": "# A\n", f"content/{nfd}.md": "# B\n"})
    if len(os.listdir(root / "content")) < 2:
        pytest.skip("the file system normalizes names")
    corpus = load(Settings(root=root))
    assert [f.code for f in corpus.findings] == ["KB303"]


def test_document_title_falls_back_to_heading(tmp_path: Path) -> None:
    corpus = loaded(tmp_path, {"content/a.md": "# The A page\n", "content/b.md": "---\ntitle: B\n---\n"})
    docs: dict[str, Document] = {d.id: d for d in corpus.documents}
    assert (docs["a"].title, docs["b"].title) == ("The A page", "B")


def test_merge_keys_are_not_supported() -> None:
    front, found = parsed("base: &b {title: x}\n<<: *b\n")
    assert [(f.line, f.col, f.code, f.message) for f in found] == [
        (3, 1, "KB203", "merge key '<<' is not supported")
    ]
    assert front.data == {"base": {"title": "x"}}


def test_fast_init_records_behave_as_frozen_dataclasses() -> None:
    """`fast_init` changes how records are built, not what they are."""
    import dataclasses
    import pickle

    from kb.link import Edge, EdgeKind
    from kb.model import Document, Scalar, fast_init

    scalar = Scalar("x", "str", quoted=False)
    assert scalar == Scalar(raw="x", tag="str", quoted=False) and hash(scalar) == hash(
        Scalar("x", "str", False)
    )
    assert repr(scalar) == "Scalar(raw='x', tag='str', quoted=False)"
    with pytest.raises(dataclasses.FrozenInstanceError):
        scalar.raw = "y"  # type: ignore[misc]
    assert dataclasses.replace(scalar, quoted=True).quoted
    assert pickle.loads(pickle.dumps(Edge("a", "b", EdgeKind.LINK))) == Edge("a", "b", EdgeKind.LINK)
    with pytest.raises(TypeError):
        Scalar("x", "str")  # type: ignore[call-arg]
    defaults = {
        f.name: f.default for f in dataclasses.fields(Document) if f.default is not dataclasses.MISSING
    }
    assert defaults["readable"] is True
    required = [f.name for f in dataclasses.fields(Document) if f.name not in defaults]
    doc = Document(*required)  # the fields' own names as values: any will do here
    assert {name: getattr(doc, name) for name in defaults} == defaults

    @dataclasses.dataclass(frozen=True, slots=True)
    class Listed:
        items: list = dataclasses.field(default_factory=list)

    with pytest.raises(TypeError):
        fast_init(Listed)


# -- several processes ---------------------------------------------------------------------


def _many_loops(n: int) -> dict[str, str]:
    """`n` loops, every seventh practicing an unknown principle, in a follows cycle of three
    (findings whose positions the link stage looks up in frontmatter read elsewhere), plus
    an unreadable one and one that is not UTF-8."""
    files: dict[str, str | bytes] = dict(BASE)
    for i in range(n):
        principles = "[ownership, owner-ship]" if i % 7 == 0 else "[ownership]"
        follows = f"\nfollows: loop-{(i + 1) % 3:04d}" if i < 3 else ""
        files[f"content/loops/2026/loop-{i:04d}.md"] = (
            f"---\ntitle: Loop {i}\ndate: 2026-11-{1 + i % 28:02d}\nstage: observe\n"
            f"principles: {principles}\nproduct: kb{follows}\n---\n\n## 1. Observe\n\n"
            f"See [[kb]] and [a missing one](missing-{i}.md).\n"
        )
    files["content/loops/2026/loop-9998.md"] = "---\ntitle: [\n---\n"
    files["content/loops/2026/loop-9999.md"] = b"---\ntitle: \xff\n---\n"
    return files  # type: ignore[return-value]


def test_several_processes_load_what_one_process_loads(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Documents, findings and every frontmatter position are the same, though the workers
    send positions as YAML text (parsed again here when asked for)."""
    import kb.load

    monkeypatch.setattr(kb.load, "CHUNK_FILES", 20)  # chunks enough that every process gets some
    root = make_kb(tmp_path, _many_loops(700))
    settings = load_settings(root)
    monkeypatch.setenv("KB_JOBS", "1")
    one = load(settings)
    monkeypatch.setenv("KB_JOBS", "3")
    three = load(settings)
    assert three.findings == one.findings and three.files == one.files == 706
    assert [d.path for d in three.documents] == [d.path for d in one.documents]
    shipped = 0
    for a, b in zip(one.documents, three.documents, strict=True):
        assert (a.body, a.scan, a.front.data, a.readable) == (b.body, b.scan, b.front.data, b.readable)
        shipped += type(b.front.keys) is not dict  # read by a worker
        for table in ("keys", "values", "scalars"):
            assert dict(getattr(b.front, table)) == dict(getattr(a.front, table))
        assert b.front.value_pos("principles", 1) == a.front.value_pos("principles", 1)
    assert shipped > 100  # the workers really read some


def test_lint_in_several_processes_prints_what_one_prints(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import kb.load
    from site_helpers import run_kb

    monkeypatch.setattr(kb.load, "CHUNK_FILES", 20)
    root = make_kb(tmp_path, _many_loops(700))
    one = run_kb(["lint"], root, env={"KB_JOBS": "1"})
    two = run_kb(["lint"], root, env={"KB_JOBS": "2"})
    assert one.exit_code == two.exit_code == 1
    assert one.output == two.output
    assert "KB401 unknown principle 'owner-ship'" in one.output and "KB411" in one.output
