"""Forge URLs (kb.forge): edit links to a source file, and new-file links prefilled with a
file name and its text, for GitHub, GitLab, Gitea and any forge through a URL template."""

from __future__ import annotations

from urllib.parse import parse_qs, unquote, urlsplit

import pytest

from kb.forge import MAX_URL, branch_of, from_config

TEXT = "---\ntitle: A & B <c> \"d\" 'e'\n---\n\n## 1. Observe\n\n<!-- prompt? #hash %20 -->\n"


def test_no_repo_url_means_no_forge() -> None:
    assert from_config({}, "content/") is None
    assert from_config({"repo_url": ""}, "content/") is None
    assert from_config({"repo_url": "javascript:alert(1)"}, "content/") is None
    assert from_config({"repo_url": 5}, "content/") is None


def test_github_new_file_url_uses_filename_and_value() -> None:
    forge = from_config({"repo_url": "https://github.com/o/r/", "edit_uri": "edit/trunk/docs/"}, "docs/")
    assert forge is not None and forge.kind == "github" and forge.branch == "trunk"
    url = forge.new_file("docs/loops/2026", "2026-01-02-x.md", [TEXT])
    parts = urlsplit(url)
    assert (
        f"{parts.scheme}://{parts.netloc}{parts.path}" == "https://github.com/o/r/new/trunk/docs/loops/2026"
    )
    query = parse_qs(parts.query)
    assert query == {"filename": ["2026-01-02-x.md"], "value": [TEXT]}
    assert " " not in url and "<" not in url and '"' not in url and "\n" not in url


def test_gitlab_new_file_url_uses_file_name_and_content() -> None:
    forge = from_config(
        {"repo_url": "https://gitlab.com/group/sub/repo", "edit_uri": "-/edit/dev/content/"}, "content/"
    )
    assert forge is not None and forge.kind == "gitlab" and forge.branch == "dev"
    url = forge.new_file("content/products", "new-product.md", [TEXT])
    parts = urlsplit(url)
    assert parts.path == "/group/sub/repo/-/new/dev/content/products"
    assert parse_qs(parts.query) == {"file_name": ["new-product.md"], "content": [TEXT]}


def test_gitea_hosts_use_their_documented_route() -> None:
    forge = from_config({"repo_url": "https://codeberg.org/o/r"}, "")
    assert forge is not None and forge.kind == "gitea"
    assert forge.new_file_url("", "x.md", "hi") == "https://codeberg.org/o/r/_new/main?filename=x.md&value=hi"
    assert forge.edit_url("a b.md") == "https://codeberg.org/o/r/_edit/main/a%20b.md"


def test_any_forge_through_a_template() -> None:
    config = {
        "repo_url": "https://git.example.net/o/r",
        "extra": {
            "kb": {
                "new_file_url": "{repo_url}/create?ref={branch}&path={path}&dir={dir}"
                "&name={filename}&text={content}&keep={other}"
            }
        },
    }
    forge = from_config(config, "content/")
    assert forge is not None and forge.kind == "template"
    url = forge.new_file("content/loops", "a&b.md", ["x y&z"])
    assert url.startswith("https://git.example.net/o/r/create?")
    query = parse_qs(urlsplit(url).query)
    assert query["ref"] == ["main"] and query["path"] == ["content/loops/a&b.md"]
    assert query["dir"] == ["content/loops"] and query["name"] == ["a&b.md"] and query["text"] == ["x y&z"]
    assert "keep={other}" in url  # unknown placeholders stay as written


def test_a_url_too_long_falls_back_to_a_shorter_text_then_the_file_name_alone() -> None:
    forge = from_config({"repo_url": "https://github.com/o/r"}, "content/")
    assert forge is not None
    long, short = "x" * (MAX_URL + 10), "short text"
    url = forge.new_file("content/loops", "a.md", [long, short])
    assert url is not None and len(url) <= MAX_URL
    assert parse_qs(urlsplit(url).query)["value"] == [short]
    url = forge.new_file("content/loops", "a.md", [long])
    assert url == "https://github.com/o/r/new/main/content/loops?filename=a.md"
    # percent-encoding counts: 3000 non-ASCII characters are 18 000 URL characters
    assert "value=" not in forge.new_file("content", "a.md", ["é" * 3000])


def test_edit_links_point_at_the_content_folder_wherever_it_is() -> None:
    forge = from_config({"repo_url": "https://github.com/o/r"}, "docs/handbook/")
    assert forge is not None
    assert forge.edit_url("team/README.md") == "https://github.com/o/r/edit/main/docs/handbook/team/README.md"
    root = from_config({"repo_url": "https://github.com/o/r"}, "")
    assert root is not None and root.edit_url("index.md") == "https://github.com/o/r/edit/main/index.md"
    given = from_config({"repo_url": "https://github.com/o/r", "edit_uri": "blob/dev/content"}, "content/")
    assert given is not None and given.edit_url("x.md") == "https://github.com/o/r/blob/dev/content/x.md"
    gitlab = from_config({"repo_url": "https://gitlab.example.com/o/r"}, "content/")
    assert (
        gitlab is not None
        and gitlab.edit_url("x.md") == "https://gitlab.example.com/o/r/-/edit/main/content/x.md"
    )


def test_an_empty_edit_uri_means_no_edit_links_as_in_mkdocs() -> None:
    forge = from_config({"repo_url": "https://github.com/o/r", "edit_uri": ""}, "content/")
    assert forge is not None and forge.edit_url("x.md") is None
    assert forge.new_file("content", "x.md", ["t"]) is not None  # new-file links stay


def test_edit_uri_template_and_absolute_edit_uri() -> None:
    forge = from_config(
        {
            "repo_url": "https://github.com/o/r",
            "edit_uri_template": "blob/main/content/{path_noext}.md?plain=1",
        },
        "content/",
    )
    assert (
        forge is not None
        and forge.edit_url("a/b.md") == "https://github.com/o/r/blob/main/content/a/b.md?plain=1"
    )
    absolute = from_config(
        {"repo_url": "https://github.com/o/r", "edit_uri": "https://github.com/o/r/edit/stable/content/"},
        "content/",
    )
    assert absolute is not None and absolute.branch == "stable"
    assert absolute.edit_url("x.md") == "https://github.com/o/r/edit/stable/content/x.md"


@pytest.mark.parametrize(
    ("edit_uri", "branch"),
    [
        ("edit/main/content/", "main"),
        ("-/edit/dev/", "dev"),
        ("blob/release-1/docs", "release-1"),
        ("src/branch/trunk/content/", "trunk"),
        ("?plain=1", "main"),
        (None, "main"),
        ("", "main"),
        ("content/", "main"),
    ],
)
def test_branch_from_edit_uri(edit_uri: str | None, branch: str) -> None:
    assert branch_of(edit_uri) == branch


def test_paths_are_percent_encoded() -> None:
    forge = from_config({"repo_url": "https://github.com/o/r"}, "content/")
    assert forge is not None
    url = forge.new_file("content/a b", "x?#.md", ["t"])
    assert "/content/a%20b?filename=x%3F%23.md&value=t" in url
    assert unquote(urlsplit(url).path).endswith("/content/a b")
    assert forge.edit_url('a"<b>.md') == "https://github.com/o/r/edit/main/content/a%22%3Cb%3E.md"
