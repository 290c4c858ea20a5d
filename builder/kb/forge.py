"""The forge a handbook lives on (GitHub, GitLab, Gitea/Forgejo, or any other through a URL
template): edit links to a document's real source file, and "new file" links prefilled with a
file name and its text, from the site configuration's `repo_url` and `edit_uri`.

Pure string work: no I/O, no MkDocs. `from_config` reads a mapping loaded from mkdocs.yml.

- GitHub: `<repo>/new/<branch>/<dir>?filename=<name>&value=<text>` (the parameters GitHub's
  new-file page reads; Gitea copied them, GitLab was asked to: gitlab-org/gitlab#337038).
- GitLab: `<repo>/-/new/<branch>/<dir>?file_name=<name>&content=<text>` (the new-file page's
  own parameters).
- Gitea and Forgejo (codeberg.org, or a host named gitea/forgejo):
  `<repo>/_new/<branch>/<dir>?filename=<name>&value=<text>` (Gitea's documented integration).
- Any other forge: `extra: {kb: {new_file_url: "..."}}` in mkdocs.yml, a template with the
  placeholders {repo_url} {branch} {dir} {filename} {path} {content}, each percent-encoded.

A prefilled URL longer than `MAX_URL` is not offered: the caller gives shorter texts to fall
back to, and the last resort is the file name alone (an empty editor at the right path).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, urlsplit

#: The longest URL a link may have. GitHub's and GitLab's front ends answer 414 (URI too long)
#: above about 8 KiB of request line, the limit of the web servers in front of them
#: (nginx's default large_client_header_buffers is 8k); 8000 characters keeps a margin for
#: the request line's method and protocol.
MAX_URL = 8000

PLACEHOLDERS = ("repo_url", "branch", "dir", "filename", "path", "content")
_EDIT_VERBS = ("edit", "blob", "tree", "raw", "_edit", "src")


@dataclass(frozen=True)
class Forge:
    """Where a handbook's files live on the web, and how to link to them."""

    repo_url: str  # without a trailing slash
    kind: str  # github, gitlab, gitea or template
    branch: str
    edit_base: str | None  # URL a content-relative path is appended to; None: no edit links
    edit_template: str | None = None  # MkDocs' edit_uri_template, absolute
    new_file_template: str | None = None  # for kind "template"

    def edit_url(self, rel: str) -> str | None:
        """The edit link of the file at `rel` (relative to the content folder)."""
        path = quote(rel, safe="/")
        if self.edit_template is not None:
            noext = quote(rel[:-3] if rel.endswith(".md") else rel, safe="/")
            return self.edit_template.replace("{path}", path).replace("{path_noext}", noext)
        if self.edit_base is None:
            return None
        return self.edit_base + path

    def new_file_url(self, folder: str, filename: str, text: str | None) -> str:
        """The forge's new-file page for `folder/filename` (repository-relative), prefilled
        with `text` (None: the file name alone)."""
        folder = folder.strip("/")
        branch = quote(self.branch, safe="/")
        d, name = quote(folder, safe="/"), quote(filename, safe="")
        content = quote(text, safe="") if text is not None else None
        if self.kind == "template":
            assert self.new_file_template is not None
            values = {
                "repo_url": self.repo_url,
                "branch": branch,
                "dir": d,
                "filename": name,
                "path": quote(f"{folder}/{filename}" if folder else filename, safe="/"),
                "content": content or "",
            }
            return _fill(self.new_file_template, values)
        route, name_key, text_key = {
            "gitlab": ("-/new", "file_name", "content"),
            "gitea": ("_new", "filename", "value"),
        }.get(self.kind, ("new", "filename", "value"))
        url = f"{self.repo_url}/{route}/{branch}/{d}".rstrip("/") + f"?{name_key}={name}"
        return url + (f"&{text_key}={content}" if content is not None else "")

    def new_file(self, folder: str, filename: str, texts: Iterable[str]) -> str | None:
        """The first of `texts` (longest first) whose prefilled URL fits in MAX_URL, else the
        file name alone; None if even that does not fit."""
        for text in [*texts, None]:
            url = self.new_file_url(folder, filename, text)
            if len(url) <= MAX_URL:
                return url
        return None


def _fill(template: str, values: Mapping[str, str]) -> str:
    """Replace {name} placeholders (only those known: other braces stay as written)."""
    return re.sub(r"\{(" + "|".join(PLACEHOLDERS) + r")\}", lambda m: values[m.group(1)], template)


def kind_of(repo_url: str) -> str:
    host = (urlsplit(repo_url).hostname or "").lower()
    if "gitlab" in host:
        return "gitlab"
    if host == "codeberg.org" or "gitea" in host or "forgejo" in host:
        return "gitea"
    return "github"  # github.com, GitHub Enterprise hosts, and the default for others


def branch_of(edit_uri: str | None) -> str:
    """The branch an edit_uri names (`edit/main/content/` → main; `-/blob/dev/` → dev;
    `src/branch/main/` → main), else "main"."""
    if not edit_uri:
        return "main"
    path = urlsplit(edit_uri).path if "://" in edit_uri else edit_uri.split("?", 1)[0]
    parts = [p for p in path.split("/") if p]
    if "://" in edit_uri:
        parts = parts[2:]  # owner/name
    if parts and parts[0] == "-":
        parts = parts[1:]
    if len(parts) >= 2 and parts[0] in _EDIT_VERBS:
        if parts[0] == "src" and parts[1] in ("branch", "commit", "tag") and len(parts) >= 3:
            return parts[2]
        return parts[1]
    return "main"


def from_config(config: Mapping[str, Any], content_prefix: str) -> Forge | None:
    """The forge of a site configuration (mkdocs.yml as a mapping), or None without a usable
    `repo_url`. `content_prefix` is the content folder's repository path (`content/` or "").

    `edit_uri` is MkDocs' (relative to repo_url, pointing at the folder the pages come from,
    here the content folder); without one kb derives `edit/<branch>/<content folder>/` for the
    forge. An empty edit_uri means no edit links, as in MkDocs."""
    repo_url = config.get("repo_url")
    if not isinstance(repo_url, str) or not re.match(r"https?://[^/\s]+", repo_url.strip()):
        return None
    repo_url = repo_url.strip().rstrip("/")
    extra = config.get("extra")
    kb_extra = extra.get("kb") if isinstance(extra, Mapping) else None
    template = kb_extra.get("new_file_url") if isinstance(kb_extra, Mapping) else None
    template = template if isinstance(template, str) and template.strip() else None
    kind = "template" if template else kind_of(repo_url)
    edit_uri = config.get("edit_uri")
    edit_uri = edit_uri if isinstance(edit_uri, str) else None
    branch = kb_extra.get("branch") if isinstance(kb_extra, Mapping) else None
    branch = branch if isinstance(branch, str) and branch.strip() else branch_of(edit_uri)
    edit_template = config.get("edit_uri_template")
    edit_template = (
        _absolute(repo_url, edit_template) if isinstance(edit_template, str) and edit_template else None
    )
    if edit_uri is None:
        verb = {"gitlab": "-/edit", "gitea": "_edit"}.get(kind_of(repo_url), "edit")
        base: str | None = f"{repo_url}/{verb}/{branch}/{content_prefix}"
    elif edit_uri.strip() == "":
        base = None
    else:
        base = _absolute(repo_url, edit_uri.strip())
        if "?" not in base and "#" not in base and not base.endswith("/"):
            base += "/"
    return Forge(repo_url, kind, branch, base, edit_template, template)


def _absolute(repo_url: str, uri: str) -> str:
    """MkDocs' rule: an edit_uri with a scheme is absolute, else relative to repo_url."""
    if re.match(r"[a-z][a-z0-9+.-]*://", uri, re.I):
        return uri
    return f"{repo_url}/{uri.lstrip('/')}"
