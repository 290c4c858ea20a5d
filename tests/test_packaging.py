"""kb works from a plain, non-editable install in another repository: the templates, the
built-in MkDocs configuration and the vendored mermaid ship inside the wheel."""

from __future__ import annotations

import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("wheel")
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "--no-build-isolation",
            "-q",
            "-w",
            str(out),
            str(ROOT),
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        pytest.fail(f"building the wheel failed: {done.stderr[-2000:]}")
    return next(out.glob("*.whl"))


def test_wheel_holds_the_templates_and_defaults(wheel: Path) -> None:
    names = set(zipfile.ZipFile(wheel).namelist())
    for template in (ROOT / "templates").rglob("*"):
        if template.is_file():
            rel = template.relative_to(ROOT / "templates").as_posix()
            assert f"kb/templates/{rel}" in names, rel
    assert "kb/templates/mkdocs.builtin.yml" in names
    assert "kb/templates/assets/kb/mermaid.min.js" in names
    assert not any(n.startswith(("tests/", "content/", "bench/")) for n in names)
    starter = sorted(n for n in names if n.startswith("kb/starter/principles/"))
    assert starter == sorted(
        f"kb/starter/principles/{p.name}" for p in (ROOT / "content" / "principles").glob("*.md")
    )


def test_installed_kb_builds_another_repository(wheel: Path, tmp_path: Path) -> None:
    """Install the wheel's files alone (dependencies come from this environment), then build a
    handbook in a folder with no templates/ and no mkdocs.yml of its own."""
    target = tmp_path / "installed"
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "--no-deps", "-q", "--target", str(target), str(wheel)],
        check=True,
        capture_output=True,
    )
    handbook = tmp_path / "handbook"
    (handbook / "content" / "principles").mkdir(parents=True)
    (handbook / "content" / "index.md").write_text("---\ntitle: Elsewhere\n---\n\nSee [[ownership]].\n")
    (handbook / "content" / "principles" / "ownership.md").write_text(
        "---\ntitle: Ownership\nsummary: Own it.\n---\n\n## Why\n\nBecause.\n"
    )
    env = {**os.environ, "PYTHONPATH": str(target)}
    probe = subprocess.run(
        [
            sys.executable,
            "-c",
            "import kb, kb.templating as t; print(kb.__file__);print(t.default_templates())",
        ],
        capture_output=True,
        text=True,
        env=env,
        cwd=handbook,
        check=True,
    )
    module, templates = probe.stdout.split()
    assert Path(module).is_relative_to(target) and Path(templates).is_relative_to(target)
    done = subprocess.run(
        [sys.executable, "-m", "kb", "build", "-q", "--out", str(tmp_path / "site")],
        capture_output=True,
        text=True,
        env=env,
        cwd=handbook,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr
    page = (tmp_path / "site" / "principles" / "ownership" / "index.html").read_text()
    assert "Ownership" in page
    assert (tmp_path / "site" / "principles" / "index.html").is_file()
    assert not (handbook / "site").exists()


def test_installed_kb_inits_a_handbook_that_lints_and_builds(wheel: Path, tmp_path: Path) -> None:
    """`kb init` from a plain install: the starter principles come from the wheel, not a checkout."""
    target = tmp_path / "installed"
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "--no-deps", "-q", "--target", str(target), str(wheel)],
        check=True,
        capture_output=True,
    )
    env = {**os.environ, "PYTHONPATH": str(target)}
    probe = subprocess.run(
        [sys.executable, "-c", "import kb.init as i; print(i.starter_principles())"],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        check=True,
    )
    assert Path(probe.stdout.strip()).is_relative_to(target)
    handbook = tmp_path / "x"

    def kb(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "kb", *args],
            capture_output=True,
            text=True,
            env=env,
            cwd=handbook if handbook.is_dir() else tmp_path,
            check=False,
        )

    assert kb("init", str(handbook)).returncode == 0
    lint = kb("lint")
    assert lint.returncode == 0 and lint.stdout.endswith("0 errors, 14 warnings in 15 files\n"), lint.stdout
    done = kb("build", "-q", "--out", str(tmp_path / "site"))
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "site" / "principles" / "ownership" / "index.html").is_file()


def test_installed_kb_config_builds_with_the_overrides_inside_the_wheel(wheel: Path, tmp_path: Path) -> None:
    """`kb config` saved as mkdocs.yml in a repository that is not kb's: kb finds the theme
    overrides inside the installed package (no custom_dir in the config)."""
    target = tmp_path / "installed"
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "--no-deps", "-q", "--target", str(target), str(wheel)],
        check=True,
        capture_output=True,
    )
    handbook = tmp_path / "handbook"
    (handbook / "docs").mkdir(parents=True)
    (handbook / "kb.toml").write_text('content_dir = "docs"\n')
    (handbook / "docs" / "index.md").write_text("# Elsewhere\n\nHello.\n")
    env = {**os.environ, "PYTHONPATH": str(target)}
    config = subprocess.run(
        [sys.executable, "-m", "kb", "config"],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        check=True,
    ).stdout
    (handbook / "mkdocs.yml").write_text(config)
    done = subprocess.run(
        [sys.executable, "-m", "kb", "build", "-q"],
        capture_output=True,
        text=True,
        env=env,
        cwd=handbook,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    page = (handbook / "site" / "index.html").read_text()
    assert 'rel="alternate" type="application/atom+xml"' in page
