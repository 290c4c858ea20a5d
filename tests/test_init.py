"""`kb init`: a new handbook repository that lints clean, builds, and runs its own CI.

Through the CLI on real folders; `kb lint` as a real process where the exit status matters. The
last test runs the workflows `kb init` writes, step by step, in a clone of the new repository:
the action's install step really installs kb from this checkout (into a throwaway environment
layered over the test one, so nothing is downloaded), and every later step runs that kb.
"""

from __future__ import annotations

import re
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from gitrepo import GitRepo
from kb.cli import main
from kb.init import DEFAULT_REF, REPOSITORY, installed_ref, starter_principles
from test_workflows import action_steps, context, run_step, steps

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
SHA = "0123456789abcdef0123456789abcdef01234567"
WRITTEN = [
    "content/index.md",
    "mkdocs.yml",
    "kb.toml",
    ".gitignore",
    ".github/workflows/pull-request.yml",
    ".github/workflows/publish.yml",
    ".github/pull_request_template.md",
    ".pre-commit-config.yaml",
]
LOOP = "content/loops/2026/2026-11-25-faster-reviews.md"
LOOP_TEXT = """\
---
title: Faster reviews
date: 2026-11-25
stage: observe
principles: [ownership]
---

## Observe

Reviews wait two days; see [[take ownership|ownership]].
"""


def init(*args: str) -> tuple[int, str, str]:
    done = CliRunner().invoke(main, ["init", *args], catch_exceptions=False)
    return done.exit_code, done.stdout, done.stderr


def kb(root: Path, *args: str, bin_dir: Path = BIN) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(bin_dir / "kb"), *args], cwd=root, capture_output=True, text=True, timeout=120)


def commit(root: Path) -> GitRepo:
    repo = GitRepo(root)
    repo.commit(message="kb init")
    return repo


def test_init_writes_a_handbook_that_lints_clean_and_builds(tmp_path: Path) -> None:
    target = tmp_path / "handbook"
    target.mkdir()
    code, out, err = init(str(target))
    assert code == 0, err
    principles = sorted(p.name for p in (ROOT / "content" / "principles").glob("*.md"))
    assert principles  # counted from the content: an editor may add one
    written = [line.removeprefix(f"{target.as_posix()}/") for line in out.splitlines()]
    assert sorted(written) == sorted(WRITTEN + [f"content/principles/{name}" for name in principles])
    assert sorted(p.name for p in (target / "content" / "principles").iterdir()) == principles
    commit(target)
    lint = kb(target, "lint")
    assert lint.returncode == 0, lint.stdout + lint.stderr
    n = len(principles)  # KB603 for each: no loop practices them yet
    assert lint.stdout.endswith(f"0 errors, {n} warnings in {n + 1} files\n")
    assert set(re.findall(r"KB\d+", lint.stdout)) == {"KB603"}
    build = kb(target, "build", "--strict", "-q", "--out", str(tmp_path / "site"))
    assert build.returncode == 0, build.stderr
    assert "Ownership" in (tmp_path / "site" / "principles" / "ownership" / "index.html").read_text()
    assert (tmp_path / "site" / "index.html").is_file()


def test_init_empty_lints_clean_and_takes_a_first_principle(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    code, out, _ = init("--empty", "--name", "Ops handbook")
    assert code == 0
    assert out.splitlines() == WRITTEN
    assert not (tmp_path / "content" / "principles").exists()
    printed = CliRunner().invoke(main, ["config"]).stdout.splitlines()  # kb config: the built-in one
    written = (tmp_path / "mkdocs.yml").read_text().splitlines()
    assert [line for line in written if line not in printed] == [
        'site_name: "Ops handbook"',
        "# repo_url: https://github.com/<owner>/<repository>   # edit links on every page",
    ]
    assert [line for line in printed if line not in written] == ["site_name: Handbook"]
    lint = kb(tmp_path, "lint")
    assert (lint.returncode, lint.stdout) == (0, "0 errors, 0 warnings in 1 file\n")
    new = CliRunner().invoke(main, ["new", "principle", "Be kind", "--summary", "Kindness first."])
    assert new.exit_code == 0 and new.stdout == "content/principles/be-kind.md\n", new.output
    lint = kb(tmp_path, "lint")
    assert lint.returncode == 0 and lint.stdout.endswith("0 errors, 1 warning in 2 files\n"), lint.stdout
    commit(tmp_path)
    assert kb(tmp_path, "build", "-q", "--out", str(tmp_path.parent / "site")).returncode == 0


def test_init_refuses_to_overwrite_and_writes_nothing(tmp_path: Path) -> None:
    (tmp_path / "content").mkdir()
    (tmp_path / "content" / "index.md").write_text("mine\n")
    (tmp_path / "mkdocs.yml").write_text("site_name: Mine\n")
    before = sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*"))
    code, out, err = init(str(tmp_path))
    assert code == 1 and out == ""
    assert "content/index.md, mkdocs.yml" in err and "wrote nothing" in err
    assert sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*")) == before
    assert (tmp_path / "mkdocs.yml").read_text() == "site_name: Mine\n"


def test_init_keeps_an_existing_gitignore(tmp_path: Path) -> None:
    (tmp_path / ".gitignore").write_text("*.pyc\n")
    (tmp_path / "README.md").write_text("# Our handbook\n")
    code, out, _ = init("--empty", str(tmp_path))
    assert code == 0 and ".gitignore" not in out
    assert (tmp_path / ".gitignore").read_text() == "*.pyc\n"
    assert (tmp_path / "README.md").read_text() == "# Our handbook\n"


def test_starter_principles_are_this_handbooks_own(tmp_path: Path) -> None:
    """One source: the shipped principles, with links to pages a new handbook lacks as text."""
    assert starter_principles() == ROOT / "content" / "principles"  # an editable install: the checkout
    init(str(tmp_path))
    for source in sorted((ROOT / "content" / "principles").glob("*.md")):
        ours, theirs = source.read_text(), (tmp_path / "content" / "principles" / source.name).read_text()
        assert ours.split("\n---", 1)[0] == theirs.split("\n---", 1)[0]  # frontmatter untouched
        links = set(re.findall(r"\[\[([^\]|#]+)", theirs))
        assert links <= {p.stem for p in source.parent.glob("*.md")}, source.name
        pairs = list(zip(ours.splitlines(), theirs.splitlines(), strict=True))
        assert all(a == b for a, b in pairs if "[[" not in a), source.name  # only links change
    ownership = (tmp_path / "content" / "principles" / "ownership.md").read_text()
    assert "A good example is “Dead links on site”:" in ownership
    assert "[[open-mindedness]]" in ownership


def test_workflows_and_pre_commit_pin_the_ref(tmp_path: Path) -> None:
    init("--empty", "--ref", SHA, str(tmp_path))
    for name in ("pull-request.yml", "publish.yml"):
        data = yaml.safe_load((tmp_path / ".github" / "workflows" / name).read_text())
        assert [s["uses"] for s in action_steps(data)] == [f"{REPOSITORY}@{SHA}"]
        assert f"pinned to commit {SHA[:12]}" in (tmp_path / ".github" / "workflows" / name).read_text()
    config = yaml.safe_load((tmp_path / ".pre-commit-config.yaml").read_text())
    assert config["repos"] == [
        {"repo": f"https://github.com/{REPOSITORY}", "rev": SHA, "hooks": [{"id": "kb-lint"}]}
    ]


def test_without_a_recorded_commit_the_branch_is_named_honestly(tmp_path: Path) -> None:
    assert installed_ref() == DEFAULT_REF  # an editable install records no commit
    init("--empty", str(tmp_path))
    text = (tmp_path / ".github" / "workflows" / "publish.yml").read_text()
    assert f"uses: {REPOSITORY}@{DEFAULT_REF}" in text
    assert f"follows the '{DEFAULT_REF}' branch" in text and "replace 'main' with a commit SHA" in text
    assert "@v0" not in text and "@v1" not in text


# -- the workflows kb init writes, run in a repository that is not this one ------------------------


@pytest.fixture(scope="module")
def runner_python(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh environment whose `python` sees the test environment's packages (a .pth file) but
    not its editable kb: the action's `pip install` puts a real kb in it, offline."""
    venv = tmp_path_factory.mktemp("runner") / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    purelib = Path(
        subprocess.run(
            [str(venv / "bin" / "python"), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
    )
    (purelib / "_test_environment.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    return venv / "bin"


def test_the_written_workflows_install_and_run_kb_in_another_repository(
    tmp_path: Path, runner_python: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    init("--ref", SHA, str(tmp_path / "upstream"))
    upstream = GitRepo(tmp_path / "upstream")
    upstream.commit(message="kb init", when="2026-11-20T12:00:00Z")
    pr = upstream.clone(tmp_path / "pr")
    pr.git("checkout", "-q", "-b", "faster-reviews")
    pr.write({LOOP: LOOP_TEXT})
    pr.commit(message="a reflection", when="2026-11-25T12:00:00Z")
    monkeypatch.delenv("PYTHONPATH", raising=False)  # the runner's python sees only what it installed
    # offline: build dependencies (hatchling) and kb's dependencies come from the test environment
    for key, value in {
        "PIP_NO_INDEX": "1",
        "PIP_NO_BUILD_ISOLATION": "0",
        "PIP_DISABLE_PIP_VERSION_CHECK": "1",
    }.items():
        monkeypatch.setenv(key, value)
    summary = tmp_path / "summary.md"
    outputs = []
    for name in ("pull-request.yml", "publish.yml"):
        data = yaml.safe_load((pr.root / ".github" / "workflows" / name).read_text())
        for step in steps(data):
            if step in action_steps(data):  # GitHub runs the action at that ref: this checkout's action.yml
                inner = steps(yaml.safe_load((ROOT / "action.yml").read_text()))
                todo = [(s, context(step.get("with", {}))) for s in inner if "run" in s]
            else:
                todo = [(step, context({}))] if "run" in step else []
            for run, values in todo:
                done = run_step(pr.root, run, values, summary, path=str(runner_python))
                assert done.returncode == 0, (name, run["run"], done.stdout, done.stderr[-3000:])
                outputs.append(done.stdout + done.stderr)
    where = subprocess.run(
        [str(runner_python / "python"), "-c", "import kb; print(kb.__file__)"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert not where.startswith(str(ROOT)), where  # the installed kb ran, not this checkout's
    assert (runner_python / "kb").is_file()
    text = "\n".join(outputs)
    assert "kb: 1 changed file since origin/main" in text and "0 errors, 0 warnings in 1 file" in text
    assert "0 errors, 13 warnings in 16 files" in text  # publish lints everything (KB603 for the rest)
    assert "Faster reviews" in summary.read_text()  # kb diff
    assert (
        "Faster reviews"
        in (pr.root / "site" / "loops" / "2026" / "2026-11-25-faster-reviews" / "index.html").read_text()
    )


def test_readme_tells_how_to_use_kb_for_your_own_handbook() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split("## Use kb for your own handbook\n", 1)[1].split("\n## ", 1)[0]
    for needed in (
        "`kb init`",
        "--empty",
        "uses: example-org/kb@",
        "github.action_path",
        "root:",
        "pre-commit",
        "pass_filenames: false",
        "GitHub Pages",
        "no release\ntags",
    ):
        assert needed in section, needed
    assert REPOSITORY == "example-org/kb"  # the README names it: change both together
    for rel in WRITTEN:
        assert f"`{rel}`" in section or f"`{rel.rsplit('/', 1)[-1]}`" in section, rel


def test_written_workflows_are_valid_for_github(tmp_path: Path) -> None:
    """SchemaStore's workflow schema (vendored by check-jsonschema) accepts what kb init writes."""
    pytest.importorskip("check_jsonschema")
    import json
    from importlib import resources

    import jsonschema

    text = (resources.files("check_jsonschema.builtin_schemas.vendor") / "github-workflows.json").read_text(
        "utf-8"
    )
    spec = json.loads(text)
    validator = jsonschema.validators.validator_for(spec)(spec)
    init("--empty", str(tmp_path))
    for path in sorted((tmp_path / ".github" / "workflows").glob("*.yml")):
        data = yaml.safe_load(path.read_text())
        data["on"] = data.pop(True)
        assert [e.message for e in validator.iter_errors(data)] == [], path.name


@pytest.mark.parametrize(
    "args", [["--ref", "main\n  evil: 1"], ["--ref", "-x"], ["--name", "two\nlines"], ["--name", " "]]
)
def test_init_refuses_a_ref_or_name_that_would_break_the_files(tmp_path: Path, args: list[str]) -> None:
    code, _, err = init(*args, str(tmp_path / "h"))
    assert code == 1 and err.startswith("kb: ") and not (tmp_path / "h").exists()
