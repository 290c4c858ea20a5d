"""The schema is the single source: the README's field tables, `kb schema`, the id pattern and
what settings require all come from `kb.schema`, so a field added there shows up everywhere."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from click.testing import CliRunner

from kb.cli import main
from kb.model import Collection
from kb.schema import (
    ID_PATTERN,
    ID_RE,
    REQUIRED_BY_SETTING,
    SCHEMAS,
    field_tables,
    fields_for,
    fields_of,
    json_schema,
    required_fields,
)
from kb.settings import Settings

README = Path(__file__).resolve().parents[1] / "README.md"
_MARKED = re.compile(r"<!-- fields:start[^\n]*-->\n(.*?)<!-- fields:end -->", re.S)


def test_readme_field_tables_are_the_schemas() -> None:
    """Edit the schema, then paste `kb.schema.field_tables()` between the README's markers."""
    found = _MARKED.findall(README.read_text(encoding="utf-8"))
    assert len(found) == 1, "README.md needs one <!-- fields:start --> … <!-- fields:end --> block"
    assert found[0] == field_tables()


def test_every_field_has_a_row_and_every_row_a_field() -> None:
    """The tables name each field once per collection (nested fields as `outer[].inner`), and
    nothing else: a field renamed in the schema cannot linger in the README."""
    blocks = field_tables().split("\n\n**")
    assert len(blocks) == len(SCHEMAS)
    for block, (collection, fields) in zip(blocks, SCHEMAS.items(), strict=True):
        assert block.lstrip("*").startswith(f"{collection.value}**")
        names = re.findall(r"^\| `([^`]+)` \|", block, re.M)
        expected = []
        for f in fields:
            expected.append(f.name)
            expected.extend(f"{f.name}[].{sub.name}" for sub in f.fields)
        assert names == expected


def test_a_setting_that_requires_a_field_says_so_in_its_row() -> None:
    tables = field_tables()
    for setting, (_collection, name) in REQUIRED_BY_SETTING.items():
        assert f"| `{name}` |" in tables
        row = next(line for line in tables.splitlines() if line.startswith(f"| `{name}` |"))
        assert f"with `{setting}`" in row


@pytest.mark.parametrize(
    ("text", "ok"),
    [
        ("ownership", True),
        ("root-cause", True),
        ("2026-01-10-notes", True),
        ("a1-b2", True),
        ("Ownership", False),
        ("root--cause", False),
        ("-root", False),
        ("root-", False),
        ("root cause", False),
        ("root_cause", False),
        ("", False),
        ("ownership\n", False),
    ],
)
def test_id_pattern(text: str, ok: bool) -> None:
    assert bool(ID_RE.match(text)) is ok
    assert bool(re.fullmatch(ID_PATTERN, text)) is ok


def test_json_schema_uses_the_one_id_pattern() -> None:
    loop = json_schema(Collection.LOOP)["properties"]
    assert loop["product"]["pattern"] == f"^{ID_PATTERN}$"
    assert loop["principles"]["items"]["pattern"] == f"^{ID_PATTERN}$"


def test_settings_make_non_goals_required(tmp_path: Path) -> None:
    plain, strict = Settings(root=tmp_path), Settings(root=tmp_path, require_non_goals=True)
    assert not fields_for(Collection.PRODUCT, plain)["non_goals"].required
    required = fields_for(Collection.PRODUCT, strict)["non_goals"]
    assert required.required and required.min_items == 1
    assert fields_of(Collection.PRODUCT)["non_goals"].required is False  # the declared schema is untouched
    assert "non_goals" not in json_schema(Collection.PRODUCT, plain)["required"]
    assert "non_goals" in json_schema(Collection.PRODUCT, strict)["required"]
    assert json_schema(Collection.PRODUCT, strict)["properties"]["non_goals"]["minItems"] == 1
    assert [f.name for f in required_fields(Collection.PRODUCT, strict)] == [
        "title",
        "summary",
        "problem",
        "users",
        "owner",
        "status",
        "non_goals",
    ]


def test_every_setting_that_requires_a_field_is_a_boolean_setting() -> None:
    from dataclasses import fields

    types = {f.name: f.type for f in fields(Settings)}
    for setting, (collection, name) in REQUIRED_BY_SETTING.items():
        assert types[setting] in (bool, "bool"), setting
        assert name in fields_of(collection)


def test_a_page_needs_no_field() -> None:
    assert required_fields(Collection.PAGE) == []
    assert json_schema(Collection.PAGE)["required"] == []


def test_kb_schema_prints_every_collection() -> None:
    done = CliRunner().invoke(main, ["schema"], catch_exceptions=False)
    assert done.exit_code == 0
    data = json.loads(done.stdout)
    assert set(data) == {c.value for c in Collection}
    for collection in Collection:
        assert set(data[collection.value]["properties"]) == set(fields_of(collection))
