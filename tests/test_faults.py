"""The fault corpus: hostile and broken input, each case with its findings and its build behaviour.

A case is a folder under tests/fault_corpus/ holding
  about.txt     one line: what the case tests and why it is there;
  expected.txt  every finding line `kb lint --format text` prints (`path:line:col: CODE message (hint)`);
  build.txt     what `kb build` does: `builds`, `builds, leaves out PATH[, PATH…]` or `refuses`;
and its input: `case.md` (exact bytes) placed at the path in `target.txt`, a `tree/` copied over
the root, and/or a generator in `GENERATED` below for input that cannot live in git (symlinks,
FIFOs, a 200,000-level YAML file, names that differ by case or normalization, chmod 000).
Every case runs on a fresh copy of the base handbook of conftest.py, which lints clean.

For each case `kb lint` runs as a real subprocess with a timeout (no hang, no traceback, exit 1
on errors, 0 with warnings only, the exact lines), and `kb build` runs in-process into a temporary
folder (the documented behaviour, every page not left out is there, nothing written outside the
output and cache folders, no unescaped injected markup, valid XML and JSON). Neither may change a
byte under content/. Regenerate expected.txt with `KB_REGEN=1 pytest tests/test_faults.py`, then
read every line against DESIGN.md: fix the code, not the expectation.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import stat
import subprocess
import sys
import unicodedata
import xml.etree.ElementTree as ET
from collections.abc import Callable
from html.parser import HTMLParser
from pathlib import Path

import pytest
from click.testing import CliRunner

from conftest import TODAY_EPOCH, make_base
from kb.cli import main

CORPUS = Path(__file__).parent / "fault_corpus"
CASE_LOOP = "content/loops/2026/2026-11-24-case.md"
CATEGORIES = ("yaml", "enc", "delim", "schema", "link", "file", "build")
LINT_TIMEOUT = 60  # seconds; the nastiest case takes well under one

#: `kb lint` in a fresh interpreter; `run_lint` freezes today at conftest.TODAY (KB602 counts days).
RUNNER = "from kb.cli import main; main(prog_name='kb')"

LOOP_HEAD = "---\ntitle: A case\ndate: 2026-11-24\nstage: observe\nprinciples: [ownership]\n"
OBSERVE = "---\n\n## 1. Observe\n\nok\n"


# -- generated input ------------------------------------------------------------------------


def _write(root: Path, rel: str, data: str | bytes) -> Path:
    path = root / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data.encode("utf-8") if isinstance(data, str) else data)
    return path


def _deep_flow(root: Path) -> None:
    """200,000 nested flow lists, ~400 KB: deep enough to crash C parsers that recurse."""
    depth = 200_000
    _write(root, CASE_LOOP, f"{LOOP_HEAD}extra: {'[' * depth}{']' * depth}\n{OBSERVE}")


def _deep_block(root: Path) -> None:
    """200,000 nested block sequences on one line (`- - - …`), ~400 KB."""
    _write(root, CASE_LOOP, f"{LOOP_HEAD}extra:\n  {'- ' * 200_000}x\n{OBSERVE}")


def _deep_mapping(root: Path) -> None:
    """1,300 block mappings, each indented one space more: nesting without any bracket or dash."""
    lines = "".join(" " * i + "a:\n" for i in range(1, 1300))
    _write(root, CASE_LOOP, f"{LOOP_HEAD}extra:\n{lines}{' ' * 1300}a: end\n{OBSERVE}")


def _huge_summary(root: Path) -> None:
    summary = "word " * 180_000  # 900 KB on one line
    _write(
        root, "content/principles/huge.md", f"---\ntitle: Huge\nsummary: {summary.strip()}\n---\n\nText.\n"
    )


def _huge_extra(root: Path) -> None:
    block = "".join(f"    line {i} of a long block scalar nobody will read\n" for i in range(18_000))
    _write(
        root,
        "content/handbook/huge.md",
        f"---\ntitle: Huge but legal\nextra:\n  notes: |\n{block}---\n\nText.\n",
    )
    _link_from_home(root, "handbook/huge")


def _link_from_home(root: Path, key: str) -> None:
    with (root / "content/index.md").open("a", encoding="utf-8") as home:
        home.write(f"\nAlso [[{key}]].\n")


def _several_mb(root: Path) -> None:
    _write(root, "content/handbook/big.md", "---\ntitle: Big\n---\n\n" + "All work and no play. " * 150_000)


def _just_under(root: Path) -> None:
    """A body of almost 1 MiB: 20,000 lines of prose, headings and 2,000 links, under the limit."""
    lines = (
        f"## Part {i}\n\nSee [[ownership]] and [the card](../products/kb.md).\n"
        if i % 10 == 0
        else f"Line {i} of plain prose, long enough to make the file big, with *some* `code`.\n"
        for i in range(13_000)
    )
    _write(root, "content/handbook/links.md", "---\ntitle: Big page\n---\n\n" + "".join(lines))
    _link_from_home(root, "handbook/links")


def _symlinks_outside(root: Path) -> None:
    folder = root / "content/handbook"
    folder.mkdir(parents=True, exist_ok=True)
    os.symlink("/etc/passwd", folder / "passwd.md")
    os.symlink("/", folder / "filesystem")
    os.symlink("../../../outside.md", folder / "relative.md")
    _write(root.parent, "outside.md", "---\ntitle: Outside\n---\n\nNot in the repository.\n")


def _symlink_to_root(root: Path) -> None:
    folder = root / "content/handbook"
    folder.mkdir(parents=True, exist_ok=True)
    _write(root, "kb.toml", 'site_url = "https://example.com/"\n')
    _write(root, "notes/private.md", "---\ntitle: Private\n---\n\nNot content.\n")
    os.symlink(root.resolve(), folder / "repo")


def _dir_loop(root: Path) -> None:
    folder = (root / "content/handbook").resolve()
    folder.mkdir(parents=True, exist_ok=True)
    _write(root, "content/handbook/page.md", "---\ntitle: Page\n---\n\n[[index]]\n")
    os.symlink(folder, folder / "again")  # absolute, pointing at its own folder
    os.symlink(folder.parent, folder / "up")
    _link_from_home(root, "handbook/page")


def _file_loop(root: Path) -> None:
    folder = root / "content/handbook"
    folder.mkdir(parents=True, exist_ok=True)
    os.symlink("b.md", folder / "a.md")
    os.symlink("a.md", folder / "b.md")


def _dangling(root: Path) -> None:
    folder = root / "content/handbook"
    folder.mkdir(parents=True, exist_ok=True)
    os.symlink("gone.md", folder / "dangling.md")


def _case_collision(root: Path) -> None:
    folder = root / "content/principles"
    _write(
        root,
        "content/principles/Ownership.md",
        "---\ntitle: Ownership again\nsummary: The same principle, capitalized.\n---\n\nText.\n",
    )
    if not (folder / "ownership.md").read_text(encoding="utf-8").startswith("---\ntitle: Ownership\n"):
        pytest.skip("the file system is case-insensitive: Ownership.md replaced ownership.md")


def _nfc_nfd(root: Path) -> None:
    nfc, nfd = unicodedata.normalize("NFC", "café"), unicodedata.normalize("NFD", "café")
    _write(root, f"content/handbook/{nfc}.md", "---\ntitle: Café (NFC)\n---\n\n[[index]]\n")
    _write(root, f"content/handbook/{nfd}.md", "---\ntitle: Café (NFD)\n---\n\n[[index]]\n")
    names = os.listdir(root / "content/handbook")
    if len(names) < 2:
        pytest.skip("the file system normalizes Unicode names: NFC and NFD are one file")


def _unreadable(root: Path) -> None:
    path = _write(root, "content/handbook/secret.md", "---\ntitle: Secret\n---\n\n[[index]]\n")
    path.chmod(0)
    try:
        path.read_bytes()
    except PermissionError:
        return
    path.chmod(0o644)
    pytest.skip("running as root (or with CAP_DAC_OVERRIDE): chmod 000 does not block reads")


def _fifo(root: Path) -> None:
    folder = root / "content/handbook"
    folder.mkdir(parents=True, exist_ok=True)
    os.mkfifo(folder / "pipe.md")  # opening it for reading would block forever


def _newline_name(root: Path) -> None:
    _write(
        root,
        "content/handbook/evil\ncontent/x.md:1:1: KB000 forged.md",
        "---\ntitle: Forged\n---\n\n[[index]]\n",
    )


GENERATED: dict[str, Callable[[Path], None]] = {
    "yaml-deep-flow-200k": _deep_flow,
    "yaml-deep-block-sequence-200k": _deep_block,
    "yaml-deep-block-mapping": _deep_mapping,
    "yaml-huge-scalar-summary": _huge_summary,
    "yaml-huge-scalar-extra": _huge_extra,
    "file-several-mb": _several_mb,
    "file-just-under-limit": _just_under,
    "file-symlinks-outside": _symlinks_outside,
    "file-symlink-to-repo-root": _symlink_to_root,
    "file-symlink-loop-dir": _dir_loop,
    "file-symlink-loop-file": _file_loop,
    "file-symlink-dangling": _dangling,
    "file-case-collision": _case_collision,
    "file-nfc-nfd": _nfc_nfd,
    "file-unreadable": _unreadable,
    "file-fifo": _fifo,
    "file-newline-in-name": _newline_name,
}


#: Cases that fail because of bugs in files this suite's author may not edit, reported to
#: their owners. expected.txt of these cases holds the *proposed* finding; align it with the fix,
#: then delete the entry (strict: a fixed case that still carries its mark fails).
KNOWN_BUGS: dict[str, tuple[str, tuple[str, ...]]] = {}


def marked(test: str) -> list:
    """The case names, with an xfail mark where a known bug makes `test` fail."""
    return [
        pytest.param(name, marks=pytest.mark.xfail(reason=KNOWN_BUGS[name][0], strict=True))
        if test in KNOWN_BUGS.get(name, ("", ()))[1]
        else name
        for name in case_names()
    ]


# -- cases ----------------------------------------------------------------------------------


def case_names() -> list[str]:
    return sorted(p.name for p in CORPUS.iterdir() if p.is_dir() and not p.name.startswith(("_", ".")))


def build_case(name: str, where: Path) -> Path:
    """The base handbook with the case written into it; returns the root."""
    case = CORPUS / name
    root = make_base(where)
    if (case / "case.md").exists():
        target = (case / "target.txt").read_text(encoding="utf-8").strip()
        (root / target).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(case / "case.md", root / target)
    if (case / "tree").is_dir():
        shutil.copytree(case / "tree", root, dirs_exist_ok=True, symlinks=True)
    if name in GENERATED:
        GENERATED[name](root)
    return root


def expected_build(name: str) -> tuple[str, set[str]]:
    """(`builds` | `refuses`, the paths it leaves out)."""
    text = (CORPUS / name / "build.txt").read_text(encoding="utf-8").strip()
    if text == "refuses" or text == "builds":
        return text, set()
    head, sep, paths = text.partition(", leaves out ")
    assert head == "builds" and sep, f"{name}/build.txt: {text!r}"
    return "builds", {p.strip() for p in paths.split(", ")}


def state(folder: Path) -> dict[str, tuple]:
    """Every entry under `folder` without following symlinks or opening FIFOs: type, mode, hash."""
    out: dict[str, tuple] = {}
    for dirpath, dirs, files in os.walk(folder):
        for name in dirs + files:
            path = os.path.join(dirpath, name)
            rel = os.path.relpath(path, folder)
            st = os.lstat(path)
            if stat.S_ISLNK(st.st_mode):
                out[rel] = ("link", os.readlink(path))
            elif stat.S_ISREG(st.st_mode):
                try:
                    digest = hashlib.sha256(Path(path).read_bytes()).hexdigest()
                except OSError:
                    digest = None
                out[rel] = ("file", st.st_mode, digest)
            else:
                out[rel] = ("other", st.st_mode)
    return out


def markdown_files(content: Path) -> list[str]:
    """Regular (not symlinked) `.md` files, content-relative: each is either built or left out."""
    out = []
    for dirpath, dirs, files in os.walk(content):
        dirs[:] = [d for d in dirs if not d.startswith(".")]
        for name in files:
            path = os.path.join(dirpath, name)
            if name.endswith(".md") and not name.startswith(".") and stat.S_ISREG(os.lstat(path).st_mode):
                out.append(os.path.relpath(path, content).replace(os.sep, "/"))
    return sorted(out)


def page_of(site: Path, rel: str) -> Path:
    key = rel[:-3]
    if key == "index":
        return site / "index.html"
    if key.endswith("/index"):
        return site / key[: -len("index")] / "index.html"
    return site / key / "index.html"


def run_lint(root: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in ("GITHUB_ACTIONS", "KB_DEBUG")}
    env["SOURCE_DATE_EPOCH"] = TODAY_EPOCH
    return subprocess.run(
        [sys.executable, "-c", RUNNER, "--root", str(root), "lint", *args],
        cwd=root,
        env=env,
        capture_output=True,
        text=True,
        timeout=LINT_TIMEOUT,
        check=False,
    )


# -- scanning the built site for injected markup ------------------------------------------

#: Hostile *frontmatter* in the corpus and in test_hardening carries the marker FM in its
#: payloads; raw HTML in a *body* stays the author's choice (KB409 reports it), so `alert(1)`
#: written in bodies is not looked for. The HTML is parsed, so escaped text never counts.
URL_ATTRIBUTES = {"href", "src", "action", "formaction", "xlink:href", "data", "poster"}
_BAD_SCHEME = re.compile(r"(?:javascript|vbscript|data):", re.I)


class _Injections(HTMLParser):
    """Elements, attributes and script text that came from an FM payload."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.hits: list[str] = []
        self.script = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.script = tag in ("script", "style")
        for name, value in attrs:
            value = value or ""
            bare = re.sub(r"[\x00-\x20]+", "", value)
            if "FM" in value and (
                name.startswith("on") or (name in URL_ATTRIBUTES and _BAD_SCHEME.match(bare))
            ):
                self.hits.append(f"<{tag} {name}={value!r}>")

    handle_startendtag = handle_starttag

    def handle_endtag(self, tag: str) -> None:
        self.script = False

    def handle_data(self, data: str) -> None:
        if self.script and "FM" in data:
            self.hits.append(f"script text {data[:60]!r}")


def injected(text: str) -> list[str]:
    """Markup from an FM payload that a browser would run, and evaluated `T{{ 7*7 }}T`."""
    parser = _Injections()
    parser.feed(text)
    parser.close()
    return parser.hits + (["template injection evaluated: T49T"] if "T49T" in text else [])


#: In JSON files, only these keys hold HTML (Material's search index, JSON Feed content_html).
HTML_KEYS = {"search/search_index.json": {"title", "text"}}


def scan_site(site: Path) -> list[str]:
    """Problems in a built site: injected markup, invalid XML, invalid JSON."""
    problems: list[str] = []
    for path in sorted(site.rglob("*")):
        rel = path.relative_to(site).as_posix()
        if not path.is_file() or path.suffix not in (".html", ".xml", ".json"):
            continue
        text = path.read_text(encoding="utf-8", errors="replace")
        if path.suffix == ".json":
            try:
                data = json.loads(text)
            except ValueError as exc:
                problems.append(f"{rel}: invalid JSON: {exc}")
                continue
            problems.extend(f"{rel}: {hit}" for hit in _json_html(data, HTML_KEYS.get(rel, {"content_html"})))
            if "T49T" in text:
                problems.append(f"{rel}: template injection evaluated: T49T")
            continue
        if path.suffix == ".xml":
            try:
                tree = ET.fromstring(text.encode("utf-8"))
            except ET.ParseError as exc:
                problems.append(f"{rel}: invalid XML: {exc}")
                continue
            html = [e.text or "" for e in tree.iter() if e.get("type") in ("html", "xhtml")]
            problems.extend(f"{rel}: {hit}" for part in [text, *html] for hit in injected(part))
            continue
        problems.extend(f"{rel}: {hit}" for hit in injected(text))
    return problems


def _json_html(value: object, keys: set[str], inside: bool = False) -> list[str]:
    if isinstance(value, dict):
        return [h for k, v in value.items() for h in _json_html(v, keys, inside or k in keys)]
    if isinstance(value, list):
        return [h for v in value for h in _json_html(v, keys, inside)]
    return injected(value) if inside and isinstance(value, str) else []


# -- the tests ------------------------------------------------------------------------------


def test_corpus_covers_every_category() -> None:
    names = case_names()
    assert len(names) >= 60
    for category in CATEGORIES:
        assert sum(n.startswith(category + "-") for n in names) >= 2, category
    for name in names:
        case = CORPUS / name
        assert name.split("-")[0] in CATEGORIES, name
        assert (case / "about.txt").read_text(encoding="utf-8").strip(), name
        assert (case / "expected.txt").exists() and (case / "build.txt").exists(), name
        assert (case / "case.md").exists() or (case / "tree").is_dir() or name in GENERATED, name
    assert set(GENERATED) <= set(names)


@pytest.mark.parametrize("name", marked("lint"))
def test_lint(name: str, tmp_path: Path) -> None:
    root = build_case(name, tmp_path / "kb")
    before = state(root)
    done = run_lint(root, "--format", "text")
    output = done.stdout + done.stderr
    assert "Traceback" not in output and "internal error" not in output, output
    lines = done.stdout.splitlines()
    assert lines and re.fullmatch(r"\d+ errors?, \d+ warnings? in \d+ files?", lines[-1]), output
    got = lines[:-1]
    expected_file = CORPUS / name / "expected.txt"
    if os.environ.get("KB_REGEN") and name not in KNOWN_BUGS:  # those hold proposed lines
        expected_file.write_text("".join(f"{line}\n" for line in got), encoding="utf-8")
    assert got == expected_file.read_text(encoding="utf-8").splitlines()
    as_json = json.loads(run_lint(root, "--format", "json").stdout)
    errors = any(f["severity"] == "error" for f in as_json)
    assert done.returncode == (1 if errors else 0), output
    assert state(root) == before, "lint changed the handbook"
    assert not list(root.rglob("pwned*")), "YAML ran code"


@pytest.mark.usefixtures("frozen_today")
@pytest.mark.parametrize("name", marked("build"))
def test_build(name: str, tmp_path: Path) -> None:
    root = build_case(name, tmp_path / "kb")
    kind, left_out = expected_build(name)
    content_before = state(root / "content")
    outside_before = {k: v for k, v in state(root).items() if not k.startswith(".kb-cache")}
    site = tmp_path / "site"
    beside = sorted(p.name for p in tmp_path.iterdir())
    result = CliRunner().invoke(main, ["--root", str(root), "build", "--out", str(site)])
    output = result.output
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)
    assert "Traceback" not in output and "internal error" not in output, output
    assert state(root / "content") == content_before, "build changed the handbook"
    assert {k: v for k, v in state(root).items() if not k.startswith(".kb-cache")} == outside_before
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
        beside + ([] if kind == "refuses" else ["site"])
    )
    if kind == "refuses":
        assert result.exit_code == 2 and output.count("kb: error: ") == 1, output
        return
    assert result.exit_code == 0, output
    for rel in markdown_files(root / "content"):
        page = page_of(site, rel)
        if f"content/{rel}" in left_out:
            assert not page.exists(), f"{rel} should be left out"
        else:
            assert page.is_file(), f"{rel} is missing from the site:\n{output}"
    assert scan_site(site) == []
    said = set(re.findall(r"^kb: left out (.+): ", output, re.M))
    assert said == left_out, output
    if _has_errors(root):
        strict = CliRunner().invoke(
            main, ["--root", str(root), "build", "--strict", "--out", str(tmp_path / "strict")]
        )
        assert strict.exit_code == 1 and not (tmp_path / "strict").exists(), strict.output


def _has_errors(root: Path) -> bool:
    done = CliRunner().invoke(main, ["--root", str(root), "lint", "--format", "json"])
    return any(f["severity"] == "error" for f in json.loads(done.stdout))
