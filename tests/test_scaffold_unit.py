"""kb.scaffold as a library (the CLI tests are in test_scaffold.py and test_next.py).

Every scaffold is written from the schema as the handbook's settings make it, so it lints
clean under every setting that changes what is required (`REQUIRED_BY_SETTING`), and a field
added to the schema is scaffolded, asked for, validated, exported and documented with no
other change: the issue's "done when", checked here with a real field added for the test.
"""

from __future__ import annotations

import datetime as dt
import itertools
import json
from pathlib import Path
from typing import Any

import pytest
import yaml

import kb.validate
from kb.model import Collection
from kb.scaffold import (
    Known,
    MissingFields,
    NewDoc,
    ScaffoldError,
    create,
    draft,
    missing,
    next_title,
    option_name,
    prompt_text,
    suggest,
    with_defaults,
)
from kb.schema import REQUIRED_BY_SETTING, SCHEMAS, Field, Kind, field_tables, fields_for, json_schema
from kb.settings import Settings
from site_helpers import SMALL, run_kb, write_tree

TODAY = dt.date.today()
SCAFFOLDED = (Collection.PRINCIPLE, Collection.PRODUCT, Collection.LOOP)


@pytest.fixture
def root(tmp_path: Path) -> Path:
    return write_tree(tmp_path / "hb", SMALL)


def front(text: str) -> dict[str, Any]:
    _, meta, _body = text.split("---\n", 2)
    return yaml.safe_load(meta)


def value_for(f: Field) -> Any:
    """A valid value for any field of the collections, known ids taken from SMALL."""
    ids = {Collection.PRINCIPLE: "ownership", Collection.PRODUCT: "journal"}
    if f.kind in (Kind.TEXT, Kind.LINE):
        return f"Some {f.name.replace('_', ' ')}"
    if f.kind is Kind.TEXTS:
        return (f"One {f.name.replace('_', ' ')}",)
    if f.kind is Kind.IDS:
        assert f.ref is not None
        return (ids[f.ref],)
    if f.kind is Kind.CHOICE:
        return f.choices[0]
    if f.kind is Kind.DATE:
        return TODAY
    raise AssertionError(f"no sample value for {f.kind}")


def lint_codes(root: Path, rel: str) -> tuple[int, set[str]]:
    result = run_kb(["lint", "--format", "json", str(root / rel)], root)
    return result.exit_code, {f["code"] for f in json.loads(result.stdout)}


def setting_combinations() -> list[dict[str, bool]]:
    names = sorted(REQUIRED_BY_SETTING)
    return [
        dict(zip(names, flags, strict=True)) for flags in itertools.product((False, True), repeat=len(names))
    ]


@pytest.mark.parametrize("collection", SCAFFOLDED, ids=lambda c: c.value)
@pytest.mark.parametrize(
    "flags", setting_combinations(), ids=lambda d: ",".join(f"{k}={v}" for k, v in d.items())
)
def test_every_scaffold_lints_clean_under_every_setting(
    root: Path, collection: Collection, flags: dict[str, bool]
) -> None:
    """Given its required fields (the schema's, under these settings), a scaffold lints with no
    error; what is left is the writer's: a loop's reached step (KB502, gone once written) and
    a new principle no loop practices yet (KB603, a warning)."""
    (root / "kb.toml").write_text("".join(f"{k} = {str(v).lower()}\n" for k, v in flags.items()))
    settings = Settings(root=root, **flags)
    values = {
        f.name: value_for(f)
        for f in fields_for(collection, settings).values()
        if f.required and f.name != "title" and not f.initial
    }
    path = create(settings, NewDoc(collection, "Fresh start", values))
    rel = path.relative_to(root).as_posix()
    code, codes = lint_codes(root, rel)
    expected = {Collection.LOOP: {"KB502"}, Collection.PRINCIPLE: {"KB603"}}.get(collection, set())
    assert codes == expected
    if collection is Collection.LOOP:
        text = path.read_text(encoding="utf-8").replace("## 1. Observe\n", "## 1. Observe\n\nUsers waited.\n")
        path.write_text(text, encoding="utf-8")
        code, codes = lint_codes(root, rel)
        assert codes == set()
    assert code == 0


def test_a_required_setting_makes_its_field_a_required_option(tmp_path: Path) -> None:
    product = NewDoc(Collection.PRODUCT, "P", {"summary": "S", "problem": "P", "users": ("U",), "owner": "O"})
    assert missing(Settings(root=tmp_path), with_defaults(Settings(root=tmp_path), product)) == []
    strict = Settings(root=tmp_path, require_non_goals=True)
    [needed] = missing(strict, with_defaults(strict, product))
    assert needed.name == "non_goals" and option_name(needed) == "--non-goal"
    with pytest.raises(MissingFields, match=r"needs non_goals \(--non-goal\)"):
        draft(strict, product, Known([]))


def test_initial_values_come_from_the_schema(root: Path) -> None:
    settings = Settings(root=root)
    loop = with_defaults(settings, NewDoc(Collection.LOOP, "L", {"principles": ("ownership",)}))
    assert loop.values["stage"] == "observe" and loop.values["date"] == TODAY
    product = with_defaults(settings, NewDoc(Collection.PRODUCT, "P"))
    assert product.values["status"] == "idea"
    given = with_defaults(settings, NewDoc(Collection.LOOP, "L", {"stage": "design"}))
    assert given.values["stage"] == "design"


def test_draft_writes_fields_in_the_schemas_order_with_resolved_references(root: Path) -> None:
    settings = Settings(root=root)
    new = NewDoc(
        Collection.LOOP,
        "Search box",
        {"principles": ("take ownership", "Root-cause problem solving"), "product": "Loop Journal"},
    )
    made = draft(settings, new)
    meta = front(made.text)
    assert list(meta) == ["title", "date", "stage", "principles", "product"]
    assert meta["principles"] == ["ownership", "root-cause"] and meta["product"] == "journal"
    assert made.path == root / "content" / "loops" / f"{TODAY:%Y}" / f"{TODAY.isoformat()}-search-box.md"
    assert made.missing == ()


def test_placeholders_name_what_a_missing_field_wants(root: Path) -> None:
    settings = Settings(root=root, require_non_goals=True)
    made = draft(settings, NewDoc(Collection.PRODUCT, "New product"), placeholders=True)
    assert set(made.missing) == {"summary", "problem", "users", "owner", "non_goals"}
    assert "\nnon_goals: []  # What it deliberately does not do: its boundary\n" in made.text
    loop = draft(settings, NewDoc(Collection.LOOP, "New loop"), placeholders=True)
    assert "\nprinciples: []  # one or more of: ownership, root-cause\n" in loop.text


def test_unknown_references_and_stray_options_are_refused(root: Path) -> None:
    settings = Settings(root=root)
    with pytest.raises(
        ScaffoldError, match=r"--principle: unknown principle 'ownershp' \(did you mean 'ownership'\?\)"
    ):
        draft(settings, NewDoc(Collection.LOOP, "L", {"principles": ("ownershp",)}))
    with pytest.raises(ScaffoldError, match=r"--owner does not apply to a loop"):
        with_defaults(settings, NewDoc(Collection.LOOP, "L", {"owner": "Ana"}))
    with pytest.raises(ScaffoldError, match="the title is empty"):
        draft(settings, NewDoc(Collection.PRINCIPLE, "  ", {"summary": "S"}))


def test_prompts_say_what_the_field_means() -> None:
    users = fields_for(Collection.PRODUCT, None)["users"]
    assert prompt_text(users) == "Users (who has that want or need); several separated by ';'"
    status = fields_for(Collection.PRODUCT, None)["status"]
    assert prompt_text(status).endswith("; one of idea, building, live, retired")


@pytest.mark.parametrize(
    ("title", "number", "expected"),
    [
        ("Slow CI", 2, "Slow CI (cycle 2)"),
        ("Slow CI (cycle 2)", 3, "Slow CI (cycle 3)"),
        ("Slow CI (next cycle) (cycle 4)", 5, "Slow CI (cycle 5)"),
        ("(cycle 2)", 3, "(cycle 2) (cycle 3)"),
    ],
)
def test_next_title(title: str, number: int, expected: str) -> None:
    assert next_title(title, number) == expected


def test_suggest() -> None:
    ids = ["ownership", "root-cause", "root-cause-analysis"]
    assert suggest("owner", ids) == " (did you mean 'ownership'?)"
    assert suggest("root", ids) == " (did you mean one of root-cause, root-cause-analysis?)"
    assert suggest("zzz", []) == " (there are none yet)"


def test_a_field_added_to_the_schema_reaches_every_consumer(
    root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The issue's "done when": one `Field` added to loops, and `kb new` asks for it and writes
    it, `kb schema` exports it, validation requires it and the README's tables list it."""
    mood = Field("mood", Kind.LINE, "How the cycle felt.", True)
    monkeypatch.setitem(SCHEMAS, Collection.LOOP, (*SCHEMAS[Collection.LOOP], mood))
    monkeypatch.setattr(kb.validate, "_SCHEMAS", {})  # validate caches each collection's fields
    settings = Settings(root=root)
    new = NewDoc(Collection.LOOP, "Moody", {"principles": ("ownership",)})
    with pytest.raises(MissingFields, match=r"needs mood \(--mood\)"):
        draft(settings, new)
    path = create(settings, NewDoc(Collection.LOOP, "Moody", {"principles": ("ownership",), "mood": "Calm"}))
    assert front(path.read_text(encoding="utf-8"))["mood"] == "Calm"
    assert "mood" in json_schema(Collection.LOOP)["required"]
    assert "| `mood` | one line of text | yes | How the cycle felt. |" in field_tables()
    rel = path.relative_to(root).as_posix()
    path.write_text(path.read_text(encoding="utf-8").replace("mood: Calm\n", ""), encoding="utf-8")
    result = run_kb(["lint", "--format", "json", str(path)], root)
    assert {(f["code"], f["message"]) for f in json.loads(result.stdout) if f["path"] == rel} >= {
        ("KB201", "required field 'mood' is missing")
    }


def _new_command() -> Any:
    """A command with `kb new`'s schema options (the CLI's `new` takes them the same way)."""
    import click

    from kb.new_options import field_options

    @click.command()
    @field_options(click.DateTime(formats=["%Y-%m-%d"]))
    def command(**options: Any) -> None:
        given = {k: v for k, v in options.items() if v not in (None, ())}
        click.echo(json.dumps(given, default=str, sort_keys=True))

    return command


def test_every_field_a_scaffold_can_take_is_an_option() -> None:
    from kb.new_options import option_fields

    options = option_fields()
    for collection in (Collection.LOOP, Collection.PRODUCT, Collection.PRINCIPLE):
        for f in SCHEMAS[collection]:
            if f.kind in (Kind.OBJECTS, Kind.MAPPING) or f.name in ("title", "type"):
                assert f.name not in options
            else:
                assert collection in options[f.name][1], (collection, f.name)
    assert option_name(options["aliases"][0]) == "--alias"
    assert option_name(options["non_goals"][0]) == "--non-goal"
    assert option_name(options["depends_on"][0]) == "--depends-on"


def test_schema_options_parse_into_the_values_a_scaffold_takes(root: Path) -> None:
    from click.testing import CliRunner

    command = _new_command()
    helped = CliRunner().invoke(command, ["--help"]).output
    assert "Product (required with require_non_goals)" in " ".join(helped.split())
    done = CliRunner().invoke(
        command,
        ["--principle", "ownership", "--principle", "root cause", "--stage", "design", "--author", "Ana"],
    )
    assert done.exit_code == 0, done.output
    values = json.loads(done.output)
    assert values == {"authors": ["Ana"], "principles": ["ownership", "root cause"], "stage": "design"}
    path = create(Settings(root=root), NewDoc(Collection.LOOP, "From options", values))
    meta = front(path.read_text(encoding="utf-8"))
    assert meta["principles"] == ["ownership", "root-cause"] and meta["authors"] == ["Ana"]
    bad = CliRunner().invoke(command, ["--stage", "done"])
    assert bad.exit_code == 2 and "'done' is not one of" in bad.output


def test_a_field_added_to_the_schema_becomes_an_option(monkeypatch: pytest.MonkeyPatch) -> None:
    from click.testing import CliRunner

    mood = Field("mood", Kind.LINE, "How the cycle felt.", True)
    monkeypatch.setitem(SCHEMAS, Collection.LOOP, (*SCHEMAS[Collection.LOOP], mood))
    helped = " ".join(CliRunner().invoke(_new_command(), ["--help"]).output.split())
    assert "--mood TEXT Loop (required): how the cycle felt." in helped
