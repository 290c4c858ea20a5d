"""`kb init`: a new handbook repository that lints clean and builds.

It writes `content/` (a home page and the principles this project ships, or none with
`--empty`), `mkdocs.yml` (the built-in site configuration), `kb.toml`, the pull-request and
publish workflows, a pull-request template and a `.pre-commit-config.yaml`. It never
overwrites: when any of those files exists, it names them and writes nothing.

The workflows and the pre-commit config run kb from `REPOSITORY` at a pinned git ref (the
commit this kb was installed from when pip recorded one, else `DEFAULT_REF`): the composite
action installs kb from its own checkout, so what runs in CI is exactly that commit.
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass
from pathlib import Path

from kb.errors import KbError

#: owner/name of kb on GitHub: the action, the pre-commit hook and the docs name it (one place).
REPOSITORY = "example-org/kb"
#: the ref written when kb cannot tell which commit it was installed from (kb has no release tags).
DEFAULT_REF = "main"
#: the package's distribution name (pip's direct_url.json records where it was installed from).
DISTRIBUTION = "kb-handbook"

#: written only where absent: a repository's own .gitignore is kept as it is.
OPTIONAL = frozenset({".gitignore"})

_SHA = re.compile(r"[0-9a-f]{40}")
_REF = re.compile(r"[A-Za-z0-9_][A-Za-z0-9._/-]*")
_WIKILINK = re.compile(r"\[\[([^\[\]\n]+)\]\]")
_DATE_PREFIX = re.compile(r"^\d{4}-\d{2}-\d{2}-")


class InitError(KbError):
    """`kb init` would overwrite something: exit 1, nothing written."""


@dataclass(frozen=True)
class InitOptions:
    empty: bool = False  # no starter principles
    name: str = "Handbook"  # site name and home page title
    ref: str | None = None  # git ref of kb to pin (default: installed_ref())


def starter_principles() -> Path:
    """The principles shipped in the wheel (kb/starter), or this repository's content/principles."""
    here = Path(__file__).resolve().parent
    installed = here / "starter" / "principles"
    return installed if installed.is_dir() else here.parents[1] / "content" / "principles"


def installed_ref() -> str:
    """The commit of REPOSITORY this kb was installed from (pip records it), else DEFAULT_REF."""
    from importlib import metadata

    try:
        text = metadata.distribution(DISTRIBUTION).read_text("direct_url.json") or "{}"
        data = json.loads(text)
    except (metadata.PackageNotFoundError, ValueError):
        return DEFAULT_REF
    url = str(data.get("url", "")).removesuffix(".git").rstrip("/")
    commit = (data.get("vcs_info") or {}).get("commit_id", "")
    if url.endswith(f"github.com/{REPOSITORY}") and _SHA.fullmatch(str(commit)):
        return str(commit)
    return DEFAULT_REF


def create_handbook(target: Path, options: InitOptions) -> list[str]:
    """Write a new handbook into `target`; return the paths written, relative to it."""
    if options.ref is not None and not _REF.fullmatch(options.ref):
        raise InitError(f"--ref {options.ref!r} is not a branch name or commit SHA")
    if not options.name.strip() or any(ch in options.name for ch in "\r\n"):
        raise InitError("--name must be one non-empty line")
    files = handbook_files(options)
    present = {rel for rel in files if (target / rel).exists() or (target / rel).is_symlink()}
    conflicts = sorted(present - OPTIONAL)
    if conflicts:
        raise InitError(
            f"{target} already has {', '.join(conflicts)}; kb init never overwrites, "
            "so it wrote nothing (move them away or choose another folder)"
        )
    written = [rel for rel in files if rel not in present]
    for rel in written:
        path, text = target / rel, files[rel]
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as fh:
            fh.write(text)
    return written


def handbook_files(options: InitOptions) -> dict[str, str]:
    """Every file `kb init` writes: relative path -> text."""
    ref = options.ref or installed_ref()
    files = {"content/index.md": home_page(options.name, options.empty)}
    if not options.empty:
        files.update(principles())
    files.update(
        {
            "mkdocs.yml": mkdocs_config(options.name),
            "kb.toml": KB_TOML,
            ".gitignore": GITIGNORE,
            ".github/workflows/pull-request.yml": pull_request_workflow(f"{REPOSITORY}@{ref}", pin_note(ref)),
            ".github/workflows/publish.yml": publish_workflow(f"{REPOSITORY}@{ref}", pin_note(ref)),
            ".github/pull_request_template.md": PR_TEMPLATE,
            ".pre-commit-config.yaml": pre_commit_config(ref),
        }
    )
    return files


def pin_note(ref: str) -> str:
    """What a ref pins, said honestly: a commit is fixed, a branch moves."""
    if _SHA.fullmatch(ref):
        return f"kb is pinned to commit {ref[:12]} of {REPOSITORY}."
    return (
        f"kb follows the '{ref}' branch of {REPOSITORY}; to pin it, replace '{ref}' with a "
        "commit SHA (kb publishes no release tags)."
    )


def principles() -> dict[str, str]:
    """The starter principles, with links to documents a new handbook lacks turned into text."""
    folder = starter_principles()
    sources = sorted(folder.glob("*.md"))
    if not sources:
        raise KbError(f"the starter principles are missing from {folder} (reinstall kb)")
    texts = {p.stem: p.read_text(encoding="utf-8") for p in sources}
    known = {"index", "principles/index"} | set(texts) | {f"principles/{name}" for name in texts}
    known |= {alias.casefold() for text in texts.values() for alias in _aliases(text)}
    return {f"content/principles/{name}.md": _unlink(text, known) for name, text in texts.items()}


def _aliases(text: str) -> list[str]:
    import yaml

    front = text.split("\n---", 1)[0].removeprefix("---\n")
    meta = yaml.safe_load(front) or {}
    aliases = meta.get("aliases") if isinstance(meta, dict) else None
    return [str(a) for a in aliases] if isinstance(aliases, list) else []


def _unlink(text: str, known: set[str]) -> str:
    """`[[loop-id]]` -> “loop id” where the target is not in the new handbook; others stay."""

    def one(match: re.Match[str]) -> str:
        target, _, label = match.group(1).partition("|")
        name = target.partition("#")[0].strip()
        if name.casefold() in known:
            return match.group(0)
        if label.strip():
            return label.strip()
        words = _DATE_PREFIX.sub("", name.rsplit("/", 1)[-1]).replace("-", " ")
        return f"“{words[:1].upper()}{words[1:]}”"

    return _WIKILINK.sub(one, text)


def mkdocs_config(name: str) -> str:
    """What `kb config` prints (kb's built-in site configuration), with the handbook's name."""
    from kb.render import BUILTIN
    from kb.templating import default_templates

    text = (default_templates() / BUILTIN).read_text(encoding="utf-8")
    named = (
        f"site_name: {json.dumps(name, ensure_ascii=False)}\n"
        "# repo_url: https://github.com/<owner>/<repository>   # edit links on every page\n"
    )
    return re.sub(r"(?m)^site_name:.*\n", lambda _: named, text, count=1)


def home_page(name: str, empty: bool) -> str:
    title = json.dumps(name, ensure_ascii=False)
    start = (
        'Write the first principle with `kb new principle "Ownership" --summary "…"`; the\n'
        "[[principles/index|principle index]] lists every principle once it exists."
        if empty
        else "Fourteen principles describe how a product builder thinks and works: the\n"
        "[[principles/index|principle index]] lists them, and each principle page shows the loop\n"
        "cycles that practiced it."
    )
    return f"""---
title: {title}
summary: How we build products, improve them through the personal loop, and the principles we hold to.
---

# {name}

This handbook is kept as markdown in git and checked and built by
[kb](https://github.com/{REPOSITORY}). Change it with a pull request: CI lints every change and
publishes the site when it is merged.

## Principles

{start}

## Write a loop cycle

Each turn of the personal loop (observe, reflect, design, implement, repeat) is written down as a
loop cycle: `kb new loop "What I noticed" --principle <id>` scaffolds one under `content/loops/`,
and `kb next <loop-id>` starts the cycle that repeats it. `kb lint` checks everything; `kb serve`
previews the site.
"""


def pull_request_workflow(uses: str, note: str) -> str:
    return f"""# On every pull request: lint what it changes (annotated on the diff), then summarise what it
# changes in the handbook. {note}
name: pull request

on:
  pull_request:

permissions:
  contents: read

jobs:
  lint:
    runs-on: ubuntu-latest
    steps:
      - uses: actions/checkout@v4
        with:
          fetch-depth: 0          # --changed needs the merge base; history needs every commit
      - name: Lint the changed files
        uses: {uses}
        with:
          changed: "true"
      - name: What this pull request changes in the handbook
        if: always()
        run: kb diff "origin/${{{{ github.base_ref }}}}" HEAD >> "$GITHUB_STEP_SUMMARY"
"""


def publish_workflow(uses: str, note: str) -> str:
    return f"""# On every push to main: lint the whole handbook, build the site with full history and --strict,
# and publish it to GitHub Pages (Settings → Pages → Source: GitHub Actions). {note}
name: publish

on:
  push:
    branches: [main]
  workflow_dispatch:

permissions:
  contents: read
  pages: write
  id-token: write

concurrency:
  group: pages
  cancel-in-progress: false

jobs:
  build:
    runs-on: ubuntu-latest
    steps:
      - uses: actions/checkout@v4
        with:
          fetch-depth: 0          # full history: authors and dates are right, no shallow-clone warning
      - name: Install kb and lint the handbook
        uses: {uses}
        with:
          changed: "false"
      - name: kb's version, for the cache key
        id: kb
        run: echo "version=$(kb --version | cut -d' ' -f3)" >> "$GITHUB_OUTPUT"
      - name: Restore the render cache (a merge renders again only the pages it changes)
        uses: actions/cache@v4
        with:
          # and the last site: kb makes its cache's copy of the new site from the site it
          # replaces; the two share their files (hard links, stored once in the cache)
          path: |
            .kb-cache
            site
          key: kb-${{{{ steps.kb.outputs.version }}}}-${{{{ hashFiles('mkdocs.yml', 'kb.toml', 'pyproject.toml', 'templates/**') }}}}-${{{{ github.sha }}}}
          restore-keys: kb-${{{{ steps.kb.outputs.version }}}}-${{{{ hashFiles('mkdocs.yml', 'kb.toml', 'pyproject.toml', 'templates/**') }}}}-
      - name: Build the handbook site
        run: kb build --strict --out site
      - uses: actions/upload-pages-artifact@v3
        with:
          path: site

  deploy:
    needs: build
    runs-on: ubuntu-latest
    environment:
      name: github-pages
      url: ${{{{ steps.deployment.outputs.page_url }}}}
    steps:
      - id: deployment
        uses: actions/deploy-pages@v4
"""


def pre_commit_config(ref: str) -> str:
    return f"""# pre-commit (https://pre-commit.com): `pip install pre-commit && pre-commit install`, then
# every commit runs kb lint over the whole handbook, so a rename that breaks a link elsewhere fails.
# {pin_note(ref)}
repos:
  - repo: https://github.com/{REPOSITORY}
    rev: {ref}
    hooks:
      - id: kb-lint
"""


KB_TOML = """\
# kb settings. Every one is optional and has a default; the kb README documents them all.
# content_dir = "content"   # the folder holding the handbook
# output_dir = "site"       # where `kb build` writes the site
# stale_days = 90           # an open loop older than this is stale (KB602)
# severity = { KB603 = "off" }   # change a rule's severity, or turn it off
"""

GITIGNORE = """\
# kb's output and cache
/site/
/.kb-cache/
"""

PR_TEMPLATE = """\
<!-- Thank you for improving the handbook. Fill in what applies; delete the rest. -->

## What this changes

- [ ] a new loop cycle
- [ ] a loop cycle moved to a later stage
- [ ] a product card
- [ ] a principle or a handbook page

**Loop cycle**: <!-- content/loops/YYYY/YYYY-MM-DD-slug.md -->
**Product**: <!-- the product id the cycle improves -->
**Principles practiced**: <!-- e.g. ownership, root-cause-problem-solving -->

## Checklist

- [ ] Every step up to the loop's `stage` has its own section, written in my own words.
- [ ] The feedback I observed is quoted, with where it came from.
- [ ] `kb lint --changed` passes locally (or CI's annotations are addressed).
- [ ] I previewed the pages with `kb serve`.
- [ ] If this cycle repeats an earlier one, `follows:` names it (`kb next LOOP` does this).
"""
