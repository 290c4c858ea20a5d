"""The `kb` command: a thin Click shell over the library.

Each command parses options, calls one library function, prints, and returns an exit code.
Heavy imports (mkdocs, jinja2, git) happen inside the commands that need them, so
`kb --help` and `kb lint` start fast. `KbError` becomes a clean message and exit status 2
here, in one place.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any

import click

from kb import __version__
from kb.errors import KbError
from kb.new_options import field_options
from kb.settings import Settings, find_root, load_settings


class KbGroup(click.Group):
    """Turns environment errors into one clean line and exit status 2, never a traceback."""

    def invoke(self, ctx: click.Context) -> object:
        try:
            return super().invoke(ctx)
        except KbError as exc:
            click.echo(f"kb: error: {exc}", err=True)
            ctx.exit(2)
        except (click.exceptions.Exit, click.exceptions.Abort, click.ClickException):
            raise
        except KeyboardInterrupt:
            click.echo("kb: interrupted", err=True)
            ctx.exit(130)
        except Exception as exc:  # noqa: BLE001 - the last line of defence
            if os.environ.get("KB_DEBUG"):
                raise
            click.echo(
                f"kb: internal error: {type(exc).__name__}: {exc} "
                "(set KB_DEBUG=1 for a traceback, and please report it)",
                err=True,
            )
            ctx.exit(2)


@click.group(cls=KbGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, "-V", "--version", prog_name="kb")
@click.option(
    "--root",
    type=click.Path(file_okay=False, path_type=Path),
    help="Handbook root (default: the nearest folder at or above this one holding kb.toml, "
    "a pyproject.toml with [tool.kb], or content/).",
)
@click.pass_context
def main(ctx: click.Context, root: Path | None) -> None:
    """kb — lint, link and build a Product Builder handbook kept as markdown in git."""
    ctx.obj = root


def settings_for(ctx: click.Context) -> Settings:
    root = ctx.find_root().obj
    base = find_root(Path.cwd()) if root is None else root.resolve()
    settings = load_settings(base)
    if not settings.content.is_dir():
        named = " (its content_dir setting)" if settings.content_dir != "content" else ""
        raise KbError(f"{base} has no {settings.content_dir}/ folder{named}")
    return settings


def _default_format() -> str:
    return "github" if os.environ.get("GITHUB_ACTIONS") == "true" else "text"


@main.command()
@click.argument("paths", nargs=-1, type=click.Path(path_type=Path))
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["text", "json", "github"]),
    default=_default_format,
    show_default="text; github when GITHUB_ACTIONS=true",
    help="Output format.",
)
@click.option("--strict", is_flag=True, help="Warnings fail too (exit 1).")
@click.option(
    "--changed",
    is_flag=True,
    help="Report only files changed since the merge base with --base (plus uncommitted).",
)
@click.option(
    "--base", metavar="REF", help="Base for --changed (default: upstream default branch, origin/main, main)."
)
@click.option(
    "--baseline",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Ignore findings recorded in this baseline file.",
)
@click.option(
    "--write-baseline",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Record the current findings in this file and exit 0.",
)
@click.pass_context
def lint(
    ctx: click.Context,
    paths: tuple[Path, ...],
    fmt: str,
    strict: bool,
    changed: bool,
    base: str | None,
    baseline: Path | None,
    write_baseline: Path | None,
) -> None:
    """Check the handbook: frontmatter, links, loop sections. Exit 1 on errors.

    PATHS limits the report to those files or folders; references still resolve against
    the whole handbook.
    """
    from kb.lint import LintOptions, run_lint

    settings = settings_for(ctx)
    options = LintOptions(
        paths=tuple(_repo_relative(settings, p) for p in paths),
        strict=strict,
        changed=changed,
        base=base,
        baseline=baseline,
        write_baseline=write_baseline,
    )
    report = run_lint(settings, options)
    from kb.findings import render, summary

    if report.findings or fmt == "json":
        click.echo(render(report.findings, fmt))
    click.echo(summary(report.findings, report.files), err=fmt != "text")
    for note in report.notes:
        click.echo(note, err=True)
    ctx.exit(report.exit_code)


def _repo_relative(settings: Settings, path: Path) -> str:
    absolute = (Path.cwd() / path).resolve() if not path.is_absolute() else path.resolve()
    if not absolute.exists():
        raise KbError(f"no such file or folder: {path}")
    try:
        return absolute.relative_to(settings.root.resolve()).as_posix()
    except ValueError:
        raise KbError(f"{path} is outside the handbook at {settings.root}") from None


@main.command()
@click.option(
    "--out",
    type=click.Path(file_okay=False, path_type=Path),
    help="Output folder (default: [tool.kb] output_dir, site/).",
)
@click.option("--strict", is_flag=True, help="Stop on any error before writing; fail on MkDocs warnings.")
@click.option("-q", "--quiet", is_flag=True, help="Print only findings and errors.")
@click.option("-v", "--verbose", is_flag=True, help="Print the time of each stage.")
@click.option(
    "--clean",
    is_flag=True,
    help="Render every page, not only those whose HTML can have changed since the last build.",
)
@click.option(
    "--renderer",
    type=click.Choice(["mkdocs", "zensical"]),
    default="mkdocs",
    show_default=True,
    help="Render with MkDocs (Material) or Zensical (optional extra).",
)
@click.pass_context
def build(
    ctx: click.Context,
    out: Path | None,
    strict: bool,
    quiet: bool,
    verbose: bool,
    clean: bool,
    renderer: str,
) -> None:
    """Lint, then build the site into --out (swapped in atomically)."""
    from kb.build import build as run_build
    from kb.findings import render, summary

    settings = settings_for(ctx)
    show = not quiet and (verbose or sys.stderr.isatty())
    result = run_build(
        settings,
        out,
        strict,
        _progress if show else lambda _m: None,
        renderer=renderer,
        quiet=quiet,
        clean=clean,
    )
    if result.findings:
        click.echo(render(result.findings, "text"), err=True)
    if not quiet:
        click.echo(summary(result.findings, result.files), err=True)
    for path in result.left_out:
        click.echo(f"kb: left out {path}: its frontmatter cannot be read", err=True)
    for warning in result.mkdocs_warnings:
        click.echo(f"mkdocs: {warning}", err=True)
    if verbose:
        for stage, seconds in result.timings.items():
            click.echo(f"  {stage:<20} {seconds:7.3f} s", err=True)
    if not result.written:
        click.echo("kb: --strict: errors found, nothing written", err=True)
        ctx.exit(1)
    if not quiet:
        click.echo(f"built {result.pages} pages into {result.out}", err=True)


@main.command()
@click.option("--port", default=8000, show_default=True, type=click.IntRange(1, 65535))
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.pass_context
def serve(ctx: click.Context, port: int, host: str) -> None:
    """Build, serve with live reload, and rebuild only what changed on every edit."""
    from kb.serve import serve as run_serve

    run_serve(settings_for(ctx), host, port, lambda m: click.echo(m, err=True))


class IsoDate(click.ParamType):
    """A calendar date written YYYY-MM-DD, refused in words a writer understands."""

    name = "YYYY-MM-DD"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        import datetime as dt
        import re

        if isinstance(value, dt.date):
            return value
        option = param.opts[0] if param is not None and param.opts else "the date"
        text = str(value).strip()
        if not re.fullmatch(r"\d{4}-\d{2}-\d{2}", text):
            raise click.UsageError(f"{option} must be YYYY-MM-DD, e.g. 2026-03-01 (not {text!r})", ctx)
        try:
            return dt.date.fromisoformat(text)
        except ValueError:
            raise click.UsageError(f"{option} {text} is not a calendar date", ctx) from None


@main.command()
@click.argument("kind", type=click.Choice(["loop", "product", "principle"]))
@click.argument("title")
@field_options(IsoDate())
@click.option("--no-input", is_flag=True, help="Never ask: refuse (exit 2) when a required field is missing.")
@click.pass_context
def new(ctx: click.Context, kind: str, title: str, no_input: bool, **options: Any) -> None:
    """Scaffold a loop cycle, product card or principle from templates/ and print its path.

    Every required field of the collection's schema must be given: as an option, or, on a
    terminal, when asked. Without a terminal (or with --no-input) a missing one exits 2.
    """
    from kb.model import Collection
    from kb.scaffold import NewDoc, ScaffoldError, create, from_prompt, missing, prompt_text, with_defaults

    settings = settings_for(ctx)
    values = {name: value for name, value in options.items() if value not in (None, "", ())}
    try:
        doc = with_defaults(settings, NewDoc(Collection(kind), title, values))
        if not no_input and sys.stdin.isatty():
            for f in missing(settings, doc):
                kind_of = click.Choice(f.choices) if f.choices else click.STRING
                doc.values[f.name] = from_prompt(f, click.prompt(prompt_text(f), type=kind_of))
        path = create(settings, doc)
    except ScaffoldError as exc:
        click.echo(f"kb: {exc}", err=True)
        ctx.exit(1)
    click.echo(path.relative_to(settings.root).as_posix())


@main.command("next")
@click.argument("loop_id", metavar="LOOP")
@click.option(
    "--title", help="Title of the new cycle (default: the previous title, numbered: 'Slow CI (cycle 2)')."
)
@click.option("--date", "when", type=IsoDate(), help="Start date.  [default: today]")
@click.pass_context
def next_(ctx: click.Context, loop_id: str, title: str | None, when: Any) -> None:
    """Scaffold the next cycle of LOOP (step 5, repeat): it follows LOOP, same product and principles."""
    from kb import clock
    from kb.scaffold import ScaffoldError, create, next_cycle

    settings = settings_for(ctx)
    try:
        doc, note = next_cycle(settings, loop_id, title, when or clock.today())
        path = create(settings, doc)
    except ScaffoldError as exc:
        click.echo(f"kb: {exc}", err=True)
        ctx.exit(1)
    if note:
        click.echo(f"kb: {note}", err=True)
    click.echo(path.relative_to(settings.root).as_posix())


@main.command("diff")
@click.argument("base", required=False)
@click.argument("head", required=False)
@click.option(
    "--base", "base_option", metavar="REF", help="The base to compare with (the same as the BASE argument)."
)
@click.option(
    "--format", "fmt", type=click.Choice(["markdown", "json"]), default="markdown", show_default=True
)
@click.pass_context
def diff_(ctx: click.Context, base: str | None, head: str | None, base_option: str | None, fmt: str) -> None:
    """What a change does to the handbook: loops added or advanced, principles newly
    practiced or orphaned, product interfaces changed, links broken or fixed.

    BASE (or --base REF) is any git revision (origin/main, HEAD~1); it defaults to the
    upstream's default branch, compared at its merge base with HEAD. HEAD defaults to the
    working tree.
    """
    from kb.diff import diff, markdown

    if base_option and base:
        if head:
            raise click.UsageError("give the base once: as BASE or as --base, not both")
        base, head = base_option, base  # `kb diff --base main feature`: the one argument is HEAD
    base = base or base_option
    changes = diff(settings_for(ctx), base, head)
    if fmt == "json":
        click.echo(json.dumps(changes, indent=2, ensure_ascii=False))
    else:
        click.echo(markdown(changes), nl=False)


@main.command()
@click.argument(
    "what",
    metavar="principles|products",
    type=click.Choice(["principles", "products", "principle", "product"]),
)
@click.option(
    "--format", "fmt", type=click.Choice(["markdown", "json"]), default="markdown", show_default=True
)
@click.option("--since", type=IsoDate(), help="Count only loop cycles started on or after this date.")
@click.pass_context
def index(ctx: click.Context, what: str, fmt: str, since: Any) -> None:
    """Print the principle or product index (counts from the loop cycles)."""
    from kb.index import index_json, index_markdown
    from kb.pipeline import check

    what = what if what.endswith("s") else what + "s"
    checked = check(settings_for(ctx))
    day = since
    if fmt == "json":
        click.echo(json.dumps(index_json(checked.graph, what, day), indent=2, ensure_ascii=False))
    else:
        click.echo(index_markdown(checked.graph, what, day), nl=False)


def _progress(message: str) -> None:
    click.echo(f"kb: {message}", err=True)


@main.command("config")
def config_() -> None:
    """Print a working mkdocs.yml: kb's built-in site configuration, with comments.

    Save it as mkdocs.yml beside your content to change the theme, palette, features or
    markdown extensions; kb keeps owning docs_dir, site_dir and nav.
    """
    from kb.render import BUILTIN
    from kb.templating import default_templates

    click.echo((default_templates() / BUILTIN).read_text(encoding="utf-8"), nl=False)


@main.command()
@click.argument("collection", required=False, type=click.Choice(["principle", "product", "loop", "page"]))
def schema(collection: str | None) -> None:
    """Print the JSON Schema of the frontmatter (one collection, or all of them)."""
    from kb.model import Collection
    from kb.schema import json_schema

    if collection:
        data: object = json_schema(Collection(collection))
    else:
        data = {c.value: json_schema(c) for c in Collection}
    click.echo(json.dumps(data, indent=2))


@main.command()
@click.argument("directory", required=False, default=".", type=click.Path(file_okay=False, path_type=Path))
@click.option("--empty", is_flag=True, help="No starter principles: a home page only.")
@click.option("--name", default="Handbook", show_default=True, help="Site name and home page title.")
@click.option(
    "--ref",
    help="Git ref of kb that the workflows and pre-commit pin "
    "(default: the commit this kb was installed from, else main).",
)
@click.pass_context
def init(ctx: click.Context, directory: Path, empty: bool, name: str, ref: str | None) -> None:
    """Create a handbook repository in DIRECTORY (default: here) that lints clean and builds:
    content/, mkdocs.yml, kb.toml, CI workflows, a PR template, a pre-commit config. Never overwrites.
    """
    from kb.init import InitError, InitOptions, create_handbook

    try:
        written = create_handbook(directory, InitOptions(empty=empty, name=name, ref=ref))
    except InitError as exc:
        click.echo(f"kb: {exc}", err=True)
        ctx.exit(1)
    for rel in written:
        click.echo((directory / rel).as_posix())
    click.echo(f"kb: wrote a handbook in {directory}; next: git init, kb lint, kb serve", err=True)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
