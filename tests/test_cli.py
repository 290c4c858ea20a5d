"""The `kb` command line: exit codes, output formats, the summary line, and what lint never does."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from conftest import BASE, LOOP, PRINCIPLE, PRODUCT, make_base, make_kb
from kb import __version__
from kb.cli import main

REPO = Path(__file__).resolve().parents[1]
BROKEN_LOOP = BASE[LOOP].replace("principles: [ownership]", "principles: [ownershp]")
ORPHAN = {"content/handbook/lonely.md": "# Lonely\n\nNobody links here.\n"}
pytestmark = pytest.mark.usefixtures("frozen_today")


def run(*args: str, env: dict[str, str] | None = None) -> Result:
    result = CliRunner().invoke(main, list(args), env=env)
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    return result


# -- exit codes ----------------------------------------------------------------------------


def test_clean_handbook_exits_0(tmp_path: Path) -> None:
    result = run("--root", str(make_base(tmp_path)), "lint")
    assert (result.exit_code, result.stdout, result.stderr) == (0, "0 errors, 0 warnings in 4 files\n", "")


def test_errors_exit_1(tmp_path: Path) -> None:
    result = run("--root", str(make_base(tmp_path, {LOOP: BROKEN_LOOP})), "lint")
    assert result.exit_code == 1
    assert result.stdout.splitlines() == [
        f"{LOOP}:5:14: KB401 unknown principle 'ownershp' (did you mean 'ownership'?)",
        f"{PRINCIPLE}:1:1: KB603 no loop practices 'ownership' "
        "(write a loop cycle that practices it, or retire it)",
        "1 error, 1 warning in 4 files",
    ]


def test_warnings_exit_0_unless_strict(tmp_path: Path) -> None:
    root = str(make_base(tmp_path, ORPHAN))
    assert run("--root", root, "lint").exit_code == 0
    strict = run("--root", root, "lint", "--strict")
    assert strict.exit_code == 1
    assert strict.stdout.splitlines()[-1] == "0 errors, 1 warning in 5 files"


def test_severity_settings_apply(tmp_path: Path) -> None:
    root = make_base(tmp_path, {**ORPHAN, "kb.toml": 'severity = {KB601 = "error"}\n'})
    assert run("--root", str(root), "lint").stdout.splitlines()[-1] == "1 error, 0 warnings in 5 files"
    (root / "kb.toml").write_text('severity = {KB601 = "off"}\n')
    assert run("--root", str(root), "lint").stdout == "0 errors, 0 warnings in 5 files\n"


@pytest.mark.parametrize(
    "args",
    [
        ["lint", "--no-such-option"],
        ["lint", "--format", "xml"],
        ["no-such-command"],
    ],
)
def test_bad_usage_exits_2(tmp_path: Path, args: list[str]) -> None:
    result = run("--root", str(make_base(tmp_path)), *args)
    assert result.exit_code == 2
    assert "Traceback" not in result.output


def test_missing_path_exits_2(tmp_path: Path) -> None:
    root = make_base(tmp_path)
    result = run("--root", str(root), "lint", str(root / "content/nope.md"))
    assert result.exit_code == 2
    assert result.stderr.startswith("kb: error: no such file or folder:")
    assert result.stdout == ""


def test_path_outside_the_handbook_exits_2(tmp_path: Path) -> None:
    root = make_base(tmp_path / "kb")
    result = run("--root", str(root), "lint", str(tmp_path))
    assert result.exit_code == 2
    assert "outside the handbook" in result.stderr


def test_root_without_content_exits_2(tmp_path: Path) -> None:
    result = run("--root", str(tmp_path), "lint")
    assert result.exit_code == 2
    assert result.stderr == f"kb: error: {tmp_path.resolve()} has no content/ folder\n"


def test_no_root_found_exits_2(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    result = run("lint")
    assert result.exit_code == 2
    assert result.stderr.startswith(
        "kb: error: no kb.toml, [tool.kb] in pyproject.toml or content/ folder in "
    )


def test_root_is_found_from_a_subfolder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    root = make_base(tmp_path)
    monkeypatch.chdir(root / "content" / "loops" / "2026")
    assert run("lint").stdout == "0 errors, 0 warnings in 4 files\n"


def test_bad_settings_exit_2(tmp_path: Path) -> None:
    root = make_base(tmp_path, {"kb.toml": "stale_dayz = 3\n"})
    result = run("--root", str(root), "lint")
    assert result.exit_code == 2
    assert result.stderr.startswith("kb: error: kb.toml: unknown setting 'stale_dayz'")


# -- PATHS ---------------------------------------------------------------------------------


def test_paths_limit_the_report(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    root = make_base(tmp_path, {LOOP: BROKEN_LOOP, **ORPHAN})
    monkeypatch.chdir(root)
    only_loop = run("lint", LOOP)
    assert only_loop.exit_code == 1
    assert only_loop.stdout.splitlines() == [
        f"{LOOP}:5:14: KB401 unknown principle 'ownershp' (did you mean 'ownership'?)",
        "1 error, 0 warnings in 5 files",
    ]
    folder = run("lint", "content/handbook")
    assert folder.exit_code == 0
    assert [line.split(": ")[1][:5] for line in folder.stdout.splitlines()[:-1]] == ["KB601"]


def test_paths_still_resolve_against_the_whole_handbook(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = make_base(tmp_path)
    monkeypatch.chdir(root / "content")
    # the loop links the principle (by alias), the product (relative, with an anchor)
    result = run("lint", "loops/2026/2026-11-23-slow-ci.md")
    assert (result.exit_code, result.stdout) == (0, "0 errors, 0 warnings in 4 files\n")
    result = run("lint", str(root / PRODUCT), str(root / PRINCIPLE))
    assert (result.exit_code, result.stdout) == (0, "0 errors, 0 warnings in 4 files\n")


def test_dot_path_is_everything(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    root = make_base(tmp_path, {LOOP: BROKEN_LOOP})
    monkeypatch.chdir(root)
    assert run("lint", ".").stdout == run("lint").stdout


# -- formats and the summary line ------------------------------------------------------------


@pytest.mark.parametrize(
    ("files", "summary"),
    [
        ({}, "0 errors, 0 warnings in 4 files"),
        ({LOOP: BROKEN_LOOP}, "1 error, 1 warning in 4 files"),
        (
            {LOOP: BROKEN_LOOP.replace("product: kb", "product: kbb"), **ORPHAN},
            "2 errors, 2 warnings in 5 files",
        ),
    ],
)
def test_summary_line(tmp_path: Path, files: dict[str, str], summary: str) -> None:
    root = str(make_base(tmp_path, files))
    text = run("--root", root, "lint", "--format", "text")
    assert text.stdout.splitlines()[-1] == summary
    assert text.stderr == ""
    for fmt in ("json", "github"):
        other = run("--root", root, "lint", "--format", fmt)
        assert other.stderr == summary + "\n"
        assert summary not in other.stdout


def test_summary_singular_file(tmp_path: Path) -> None:
    root = make_kb(tmp_path, {"content/index.md": "# Home\n\n[[nowhere]]\n\n<script>x</script>\n"})
    (root / "kb.toml").write_text('severity = {KB409 = "warning"}\n')
    result = run("--root", str(root), "lint")
    assert result.stdout.splitlines()[-1] == "1 error, 1 warning in 1 file"


def test_json_output(tmp_path: Path) -> None:
    root = str(make_base(tmp_path, {LOOP: BROKEN_LOOP}))
    result = run("--root", root, "lint", "--format", "json")
    data = json.loads(result.stdout)
    assert [sorted(item) for item in data] == [
        ["code", "col", "hint", "line", "message", "path", "severity"]
    ] * 2
    assert [(d["code"], d["severity"], d["path"]) for d in data] == [
        ("KB401", "error", LOOP),
        ("KB603", "warning", PRINCIPLE),
    ]


def test_github_actions_defaults_to_github_format(tmp_path: Path) -> None:
    root = str(make_base(tmp_path, {LOOP: BROKEN_LOOP}))
    result = run("--root", root, "lint", env={"GITHUB_ACTIONS": "true"})
    assert result.stdout.splitlines() == [
        f"::error file={LOOP},line=5,col=14,title=KB401::unknown principle 'ownershp' "
        "(did you mean 'ownership'?)",
        f"::warning file={PRINCIPLE},line=1,col=1,title=KB603::no loop practices 'ownership' "
        "(write a loop cycle that practices it, or retire it)",
    ]
    assert result.stderr == "1 error, 1 warning in 4 files\n"
    explicit = run("--root", root, "lint", "--format", "text", env={"GITHUB_ACTIONS": "true"})
    assert explicit.stdout.startswith(f"{LOOP}:5:14: KB401")
    assert run("--root", root, "lint", env={"GITHUB_ACTIONS": "false"}).stdout.startswith(LOOP)


# -- other commands --------------------------------------------------------------------------


def test_version() -> None:
    result = run("--version")
    assert (result.exit_code, result.stdout) == (0, f"kb, version {__version__}\n")


def test_schema_all_collections() -> None:
    result = run("schema")
    assert result.exit_code == 0
    data = json.loads(result.stdout)
    assert sorted(data) == ["loop", "page", "principle", "product"]
    for schema in data.values():
        assert schema["type"] == "object"
        assert schema["additionalProperties"] is False
    assert data["loop"]["required"] == ["title", "date", "stage", "principles"]
    assert data["principle"]["required"] == ["title", "summary"]
    assert data["product"]["required"] == ["title", "summary", "problem", "users", "owner", "status"]
    assert data["page"]["required"] == []
    assert data["loop"]["properties"]["stage"]["enum"] == [
        "observe",
        "reflect",
        "design",
        "implement",
        "repeat",
    ]
    feedback = data["loop"]["properties"]["feedback"]["items"]
    assert feedback["additionalProperties"] is False
    assert feedback["required"] == ["source", "quote"]
    assert data["product"]["properties"]["users"]["minItems"] == 1


@pytest.mark.parametrize("collection", ["principle", "product", "loop", "page"])
def test_schema_one_collection(collection: str) -> None:
    result = run("schema", collection)
    data = json.loads(result.stdout)
    assert data["title"] == f"kb {collection} frontmatter"
    assert data["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert data["additionalProperties"] is False
    assert "title" in data["properties"]


def test_schema_unknown_collection_exits_2() -> None:
    assert run("schema", "recipe").exit_code == 2


# -- a real process, and what lint must never do -------------------------------------------


def test_real_process(tmp_path: Path) -> None:
    clean = make_base(tmp_path / "clean")
    broken = make_base(tmp_path / "broken", {LOOP: BROKEN_LOOP})
    env = {**os.environ, "PYTHONPATH": str(REPO / "builder")}
    env.pop("GITHUB_ACTIONS", None)
    for root, status in ((clean, 0), (broken, 1)):
        done = subprocess.run(
            [sys.executable, "-m", "kb", "--root", str(root), "lint"],
            capture_output=True,
            text=True,
            env=env,
            timeout=60,
        )
        assert done.returncode == status, done.stderr
        assert "Traceback" not in done.stderr
    assert done.stdout.splitlines()[-1] == "1 error, 1 warning in 4 files"


def _snapshot(root: Path) -> dict[str, tuple[str, int]]:
    out = {}
    for path in sorted(root.rglob("*")):
        if path.is_file():
            out[path.relative_to(root).as_posix()] = (
                hashlib.sha256(path.read_bytes()).hexdigest(),
                path.stat().st_mtime_ns,
            )
    return out


def test_lint_writes_nothing(tmp_path: Path) -> None:
    root = make_base(
        tmp_path,
        {
            LOOP: BROKEN_LOOP,
            **ORPHAN,
            "content/loops/2026/2026-11-24-crlf.md": BASE[LOOP].replace("\n", "\r\n"),
            "content/handbook/bom.md": "\ufeff# Bom\n\n[[index]]\n",
            "content/handbook/img/x.png": b"\x89PNG\r\n",
        },
    )
    for path in root.rglob("*"):  # old mtimes, so any rewrite would show
        if path.is_file():
            os.utime(path, ns=(1_000_000_000_000_000_000, 1_000_000_000_000_000_000))
    before = _snapshot(root)
    listing = sorted(p.relative_to(root).as_posix() for p in root.rglob("*"))
    for args in (["lint"], ["lint", "--format", "json"], ["lint", "--strict"], ["index", "principles"]):
        run("--root", str(root), *args)
    assert _snapshot(root) == before
    assert sorted(p.relative_to(root).as_posix() for p in root.rglob("*")) == listing


def test_shipped_handbook_lints_clean() -> None:
    result = CliRunner().invoke(main, ["--root", str(REPO), "lint"])
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("0 errors, 0 warnings in ")


# -- stages 1-3 stay light -------------------------------------------------------------------

HEAVY = ("mkdocs", "jinja2", "git", "material", "markdown", "pymdownx")


def test_lint_imports_no_heavy_modules() -> None:
    done = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", "import kb.cli, kb.lint, kb.pipeline"],
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": str(REPO / "builder")},
        timeout=60,
        check=True,
    )
    imported = {
        line.rsplit("|", 1)[-1].strip()
        for line in done.stderr.splitlines()
        if line.startswith("import time:")
    }
    assert "kb.pipeline" in imported
    heavy = sorted(m for m in imported if m.split(".")[0] in HEAVY)
    assert heavy == []


def test_running_lint_pulls_in_no_heavy_modules(tmp_path: Path) -> None:
    root = make_base(tmp_path, {LOOP: BROKEN_LOOP})
    code = (
        "import sys\n"
        "from click.testing import CliRunner\n"
        "from kb.cli import main\n"
        f"result = CliRunner().invoke(main, ['--root', {str(root)!r}, 'lint'])\n"
        "assert result.exit_code == 1, result.output\n"
        f"heavy = sorted(m for m in sys.modules if m.split('.')[0] in {HEAVY!r})\n"
        "print(','.join(heavy))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "PYTHONPATH": str(REPO / "builder")},
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == ""
