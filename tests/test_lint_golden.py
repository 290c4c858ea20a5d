"""Golden files for `kb lint`: one folder per case under tests/lint_cases/.

A case is `case.md` (exact bytes) with `target.txt` naming where it goes in the handbook, or
a `tree/` folder copied over the root; a few cases also need a setup step (symlinks, names
that differ by case, generated input) from `SETUP` below. Each case runs on a fresh copy of
the base handbook, and `expected.txt` holds every finding line `kb lint --format text`
prints. Regenerate with `KB_REGEN=1 pytest tests/test_lint_golden.py`, then read every line.
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import CliRunner

from conftest import LOOP, make_base
from kb.cli import main

CASES = Path(__file__).parent / "lint_cases"
CASE_LOOP = "content/loops/2026/2026-11-24-case.md"


def _deep_nesting(root: Path) -> None:
    front = "title: A case\ndate: 2026-11-24\nstage: observe\nprinciples: [ownership]\nextra: "
    text = f"---\n{front}{'[' * 100_000}\n---\n\n## 1. Observe\n\nok\n"
    (root / CASE_LOOP).write_text(text, encoding="utf-8")


def _symlink_outside(root: Path) -> None:
    outside = root.parent / f"{root.name}-outside"
    outside.mkdir()
    (outside / "secret.md").write_text("---\ntitle: Secret\n---\n\nNot in the handbook.\n")
    (root / "content" / "handbook").mkdir(parents=True, exist_ok=True)
    os.symlink(outside / "secret.md", root / "content" / "handbook" / "secret.md")
    os.symlink(outside, root / "content" / "elsewhere")
    # a symlink that stays inside the repository is fine
    os.symlink(root / LOOP, root / "content" / "loops" / "2026" / "2026-11-23-slow-ci-link.txt")


def _case_collision(root: Path) -> None:
    # written here, not kept in the case folder, so the repository checks out on macOS too
    folder = root / "content" / "handbook"
    if (folder / "NOTES.md").exists():
        pytest.skip("the file system is case-insensitive")
    (folder / "Notes.md").write_text("---\ntitle: Notes again\n---\n\nText.\n", encoding="utf-8")


SETUP: dict[str, Callable[[Path], None]] = {
    "kb107-deep-nesting": _deep_nesting,
    "kb304-symlink-outside": _symlink_outside,
    "kb303-case-collision": _case_collision,
}


def case_names() -> list[str]:
    return sorted(p.name for p in CASES.iterdir() if p.is_dir())


def build_case(name: str, tmp_path: Path) -> Path:
    """The base handbook with the case written into it."""
    case = CASES / name
    root = make_base(tmp_path / "kb")
    if (case / "case.md").exists():
        target = (case / "target.txt").read_text(encoding="utf-8").strip()
        (root / target).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(case / "case.md", root / target)
    if (case / "tree").is_dir():
        shutil.copytree(case / "tree", root, dirs_exist_ok=True)
    if name in SETUP:
        SETUP[name](root)
    return root


def lint(root: Path, *args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, ["--root", str(root), "lint", *args])
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    return result.exit_code, result.stdout, result.stderr


def finding_lines(stdout: str) -> list[str]:
    """Every line but the summary (the last one)."""
    lines = stdout.splitlines()
    assert lines, "no summary line"
    return lines[:-1]


def test_there_is_a_case_for_every_content_rule() -> None:
    from kb.findings import RULES

    names = case_names()
    content_rules = [c for c in RULES if c < "KB700"]
    missing = [c for c in content_rules if not any(n.startswith(c.lower()) for n in names)]
    assert not missing


@pytest.mark.usefixtures("frozen_today")
@pytest.mark.parametrize("name", case_names())
def test_golden(name: str, tmp_path: Path) -> None:
    root = build_case(name, tmp_path)
    code, out, err = lint(root, "--format", "text")
    got = finding_lines(out)
    expected_file = CASES / name / "expected.txt"
    if os.environ.get("KB_REGEN"):
        expected_file.write_text("".join(f"{line}\n" for line in got), encoding="utf-8")
    expected = expected_file.read_text(encoding="utf-8").splitlines()
    assert got == expected
    assert "Traceback" not in out + err and "internal error" not in out + err
    json_code, json_out, _ = lint(root, "--format", "json")
    severities = {f["severity"] for f in json.loads(json_out)}
    assert code == json_code == (1 if "error" in severities else 0), err


@pytest.mark.usefixtures("frozen_today")
def test_json_format(tmp_path: Path) -> None:
    root = build_case("kb401-unknown-principle", tmp_path)
    code, out, err = lint(root, "--format", "json")
    data = json.loads(out)
    assert code == 1
    assert data == [
        {
            "path": CASE_LOOP,
            "line": 5,
            "col": 14,
            "code": "KB401",
            "severity": "error",
            "message": "unknown principle 'ownershp'",
            "hint": "did you mean 'ownership'?",
        },
        {
            "path": CASE_LOOP,
            "line": 5,
            "col": 24,
            "code": "KB401",
            "severity": "error",
            "message": "unknown principle 'take ownership'",
            "hint": "did you mean 'ownership'? (use the id, not an alias)",
        },
    ]
    assert err.splitlines()[0] == "2 errors, 0 warnings in 5 files"


@pytest.mark.usefixtures("frozen_today")
def test_json_format_when_clean(tmp_path: Path) -> None:
    code, out, err = lint(make_base(tmp_path), "--format", "json")
    assert (code, json.loads(out), err) == (0, [], "0 errors, 0 warnings in 4 files\n")


@pytest.mark.usefixtures("frozen_today")
def test_github_format(tmp_path: Path) -> None:
    root = build_case("kb401-unknown-principle", tmp_path)
    code, out, err = lint(root, "--format", "github")
    assert code == 1
    assert out.splitlines() == [
        f"::error file={CASE_LOOP},line=5,col=14,title=KB401::unknown principle 'ownershp'"
        " (did you mean 'ownership'?)",
        f"::error file={CASE_LOOP},line=5,col=24,title=KB401::unknown principle 'take ownership'"
        " (did you mean 'ownership'? (use the id, not an alias))",
    ]
    assert err == "2 errors, 0 warnings in 5 files\n"


@pytest.mark.usefixtures("frozen_today")
def test_github_format_escapes_and_warnings(tmp_path: Path) -> None:
    root = build_case("kb603-unpracticed-principle", tmp_path)
    (root / "content/principles/candor.md").write_text(
        "---\ntitle: 100% candor, always\nsummary: Say it plainly.\n---\n\nText.\n"
    )
    code, out, _ = lint(root, "--format", "github")
    assert code == 0
    assert out.splitlines() == [
        "::warning file=content/principles/candor.md,line=1,col=1,title=KB603::"
        "no loop practices 'candor' (write a loop cycle that practices it, or retire it)",
    ]
