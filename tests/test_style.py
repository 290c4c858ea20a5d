"""The code stays ruff-clean (lint rules in pyproject.toml) and ruff-formatted, like the rest
of CI's checks; CI runs every test, the slow ones too."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def test_ruff_is_clean() -> None:
    ruff = shutil.which("ruff") or str(Path(sys.executable).with_name("ruff"))
    if not Path(ruff).is_file():
        pytest.skip("ruff is not installed (pip install -e '.[test]')")
    done = subprocess.run(
        [ruff, "check", "--no-cache", "builder", "tests", "bench"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stdout[-3000:]


def test_ruff_format_is_clean() -> None:
    """`ruff format --check`: one formatting, so diffs show only what changed."""
    ruff = shutil.which("ruff") or str(Path(sys.executable).with_name("ruff"))
    if not Path(ruff).is_file():
        pytest.skip("ruff is not installed (pip install -e '.[test]')")
    done = subprocess.run(
        [ruff, "format", "--check", "--no-cache", "builder", "tests", "bench"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stdout[-3000:]


def test_mypy_is_clean() -> None:
    """The package type-checks (`[tool.mypy]` in pyproject.toml: builder/kb). Under CI the
    checker must be there: the test extra installs it, and a skip would hide a missing check."""
    mypy = shutil.which("mypy") or str(Path(sys.executable).with_name("mypy"))
    if not Path(mypy).is_file():
        assert not os.environ.get("CI"), "mypy is not installed: pip install -e '.[test]'"
        pytest.skip("mypy is not installed (pip install -e '.[test]')")
    done = subprocess.run([mypy, "--no-incremental"], cwd=ROOT, capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stdout[-3000:]


def test_ci_runs_the_slow_tests_too() -> None:
    """A test marked slow that CI never runs protects nothing: .ci/run selects them as well."""
    run = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    assert '-m pytest -m "slow or not slow"' in run


def test_every_command_and_setting_is_documented() -> None:
    """A command or a setting nobody can find in the README does not exist for users."""
    from dataclasses import fields

    from kb.cli import main
    from kb.findings import RULES
    from kb.settings import Settings

    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    for name in main.commands:
        assert f"`kb {name}" in readme, f"kb {name} is not in the README"
    for setting in fields(Settings):
        if setting.name != "root":
            assert f"`{setting.name}`" in readme, f"setting {setting.name} is not in the README"
    for code in RULES:
        assert code in readme, f"{code} is not in the README's lint-code table"
