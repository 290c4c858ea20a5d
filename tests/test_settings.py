"""Settings loading (kb.settings): `[tool.kb]` in pyproject.toml, else kb.toml, else defaults;
a bad value is an error naming the file, the setting and its line, never a traceback."""

from __future__ import annotations

from dataclasses import fields
from pathlib import Path

import pytest

from kb.errors import KbError
from kb.findings import Severity
from kb.settings import Settings, find_root, is_root, load_settings
from site_helpers import run_kb


def write(root: Path, name: str, text: str) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    (root / name).write_text(text, encoding="utf-8")
    return root


def test_defaults_without_any_file(tmp_path: Path) -> None:
    settings = load_settings(tmp_path)
    assert settings == Settings(root=tmp_path)
    assert settings.content == tmp_path / "content" and settings.content_prefix == "content/"
    assert settings.require_non_goals is False and settings.allow_embeds is True
    assert settings.output == (tmp_path / "site").resolve()


def test_kb_toml(tmp_path: Path) -> None:
    write(
        tmp_path,
        "kb.toml",
        'content_dir = "./docs/"\nstale_days = 30\nrequire_non_goals = true\n'
        'exclude = ["drafts/**"]\n\n[severity]\nKB601 = "off"\nKB410 = "error"\n',
    )
    settings = load_settings(tmp_path)
    assert settings.content_dir == "docs" and settings.content == tmp_path / "docs"
    assert settings.stale_days == 30 and settings.require_non_goals is True
    assert settings.exclude == ("drafts/**",)
    assert settings.severity == {"KB601": Severity.OFF, "KB410": Severity.ERROR}


def test_tool_kb_in_pyproject_wins_over_kb_toml(tmp_path: Path) -> None:
    write(tmp_path, "pyproject.toml", '[project]\nname = "x"\n\n[tool.kb]\nstale-days = 7\n')
    write(tmp_path, "kb.toml", "stale_days = 99\n")
    assert load_settings(tmp_path).stale_days == 7  # dashes and underscores both work


def test_pyproject_without_tool_kb_falls_back_to_kb_toml(tmp_path: Path) -> None:
    write(tmp_path, "pyproject.toml", '[project]\nname = "x"\n[tool.ruff]\nline-length = 100\n')
    write(tmp_path, "kb.toml", "stale_days = 99\n")
    assert load_settings(tmp_path).stale_days == 99


def test_the_content_folder_may_be_the_root(tmp_path: Path) -> None:
    write(tmp_path, "kb.toml", 'content_dir = "."\n')
    settings = load_settings(tmp_path)
    assert settings.at_root and settings.content_prefix == "" and settings.repo_path("a.md") == "a.md"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("stale_dayz = 3\n", "kb.toml: unknown setting 'stale_dayz' (line 1; known:"),
        (
            "# a comment\nstale_days = -1\n",
            "kb.toml: setting 'stale_days' must be a non-negative integer (line 2)",
        ),
        ("stale_days = true\n", "setting 'stale_days' must be a non-negative integer (line 1)"),
        ('max_file_bytes = "1MB"\n', "setting 'max_file_bytes' must be a non-negative integer (line 1)"),
        ("require_non_goals = 1\n", "setting 'require_non_goals' must be true or false (line 1)"),
        ('allow_embeds = "no"\n', "setting 'allow_embeds' must be true or false (line 1)"),
        ('content_dir = ""\n', "setting 'content_dir' must be a non-empty string (line 1)"),
        ('content_dir = "../elsewhere"\n', "setting 'content_dir' must be a folder inside the repository"),
        ('content_dir = "/abs"\n', "must be a folder inside the repository ('/abs') (line 1)"),
        ('content_dir = "C:/docs"\n', "must be a folder inside the repository"),
        ('exclude = "drafts"\n', "setting 'exclude' must be a list of glob strings (line 1)"),
        ("exclude = [1]\n", "setting 'exclude' must be a list of glob strings"),
        ('severity = "off"\n', "setting 'severity' must be a table of CODE = level (line 1)"),
        ('\n[severity]\nKB999 = "off"\n', "unknown rule 'KB999' in severity (line 2)"),
        ('severity = {KB601 = "loud"}\n', "severity of KB601 must be error, warning or off (line 1)"),
        ("stale_days = [\n", "kb.toml: cannot read settings:"),
    ],
)
def test_bad_values_name_the_file_setting_and_line(tmp_path: Path, text: str, message: str) -> None:
    write(tmp_path, "kb.toml", text)
    with pytest.raises(KbError) as caught:
        load_settings(tmp_path)
    assert message in str(caught.value)


def test_bad_value_in_pyproject_names_its_line(tmp_path: Path) -> None:
    write(
        tmp_path,
        "pyproject.toml",
        '[project]\nname = "x"\nstale_days = 1\n\n[tool.kb]\nstale_days = "soon"\n',
    )
    with pytest.raises(KbError, match=r"pyproject.toml: setting 'stale_days' .* \(line 6\)"):
        load_settings(tmp_path)


def test_tool_kb_that_is_not_a_table(tmp_path: Path) -> None:
    write(tmp_path, "pyproject.toml", '[tool]\nkb = "yes"\n')
    with pytest.raises(KbError, match=r"\[tool.kb\] must be a table"):
        load_settings(tmp_path)


def test_a_bad_setting_exits_2_with_the_message_and_no_traceback(tmp_path: Path) -> None:
    write(tmp_path, "kb.toml", "\nstale_days = -5\n")
    (tmp_path / "content").mkdir()
    result = run_kb(["lint"], tmp_path)
    assert result.exit_code == 2
    assert (
        result.stderr == "kb: error: kb.toml: setting 'stale_days' must be a non-negative integer (line 2)\n"
    )


def test_every_setting_can_be_set_from_a_file(tmp_path: Path) -> None:
    """No setting is declared on the dataclass but refused by the loader (or the reverse)."""
    values = {
        "content_dir": '"docs"',
        "output_dir": '"public"',
        "cache_dir": '".cache"',
        "max_file_bytes": "10",
        "max_yaml_depth": "4",
        "max_yaml_nodes": "50",
        "stale_days": "1",
        "coverage_window_days": "2",
        "exclude": '["a/*"]',
        "severity": '{KB601 = "off"}',
        "require_non_goals": "true",
        "allow_embeds": "false",
        "site_url": '"https://example.com/"',
    }
    assert set(values) == {f.name for f in fields(Settings)} - {"root"}
    write(tmp_path, "kb.toml", "".join(f"{k} = {v}\n" for k, v in values.items()))
    settings = load_settings(tmp_path)
    for f in fields(Settings):
        if f.name != "root":
            assert getattr(settings, f.name) != f.default, f.name


def test_find_root_walks_up_to_the_settings(tmp_path: Path) -> None:
    write(tmp_path, "pyproject.toml", "[tool.kb]\n")
    deep = tmp_path / "a" / "b"
    deep.mkdir(parents=True)
    assert find_root(deep) == tmp_path.resolve()
    assert not is_root(tmp_path / "a")


def test_a_pyproject_without_tool_kb_is_not_a_root(tmp_path: Path) -> None:
    write(tmp_path / "lib", "pyproject.toml", '[project]\nname = "x"\n')
    write(tmp_path / "broken", "pyproject.toml", "[tool.kb\n")
    assert not is_root(tmp_path / "lib") and not is_root(tmp_path / "broken")
    write(tmp_path / "toml", "kb.toml", "")
    assert is_root(tmp_path / "toml")
