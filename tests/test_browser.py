"""The shipped handbook in a real browser: Debian's headless Chromium, driven by Playwright.

The site is built from the repository's own `content/` into a temporary folder, served by a
threaded `http.server` on 127.0.0.1, and checked as a reader sees it: the principle index
lists every principle of `content/principles/` with the loop counts `kb index` gives, a principle page lists its
loops, the search box finds a loop by a word from its body, no page logs a console error,
and no request leaves localhost. A copy of the handbook with a `<script>` title proves
titles render as text. A screenshot of the principle index goes to the test's temporary folder,
never into the repository (`pytest --basetemp DIR` keeps it at a known place, to refresh the
README's docs/screenshot-principles.png by hand).

Writing from the browser: clicking "Continue this loop" on a loop page and "Start a loop cycle"
on a product page navigates to the forge's new-file page; the request is caught (nothing leaves
the machine), its prefilled file is written into a copy of the repository, and `kb lint` finds
in it only the reached step's notes still to write, then nothing once a writer adds them.
"""

from __future__ import annotations

import functools
import http.server
import json
import re
import shutil
import subprocess
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlparse

import pytest

from site_helpers import REPO, principle_count, run_kb

CHROMIUM = Path("/usr/bin/chromium")
pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not CHROMIUM.exists(), reason="Debian's chromium is not installed"),
]
sync_api = pytest.importorskip("playwright.sync_api")

ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
LOCAL_HOSTS = {"127.0.0.1", "localhost"}
INJECTED = "<script>alert(1)</script>"


class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - the base class's name
        pass


@dataclass
class Served:
    """A built site served on 127.0.0.1: its folder and base URL."""

    site: Path
    url: str


@dataclass
class Recorder:
    """Everything a page did that a test must check: requests, console errors, dialogs."""

    requests: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    dialogs: list[str] = field(default_factory=list)
    visited: list[str] = field(default_factory=list)

    def attach(self, page: Any) -> None:
        page.on("request", lambda r: self.requests.append(r.url))
        page.on(
            "console", lambda m: self.errors.append(f"{page.url}: {m.text}") if m.type == "error" else None
        )
        page.on("pageerror", lambda e: self.errors.append(f"{page.url}: {e}"))
        page.on("dialog", self._dialog)
        page.on("framenavigated", lambda f: self.visited.append(f.url) if f == page.main_frame else None)

    def _dialog(self, dialog: Any) -> None:
        self.dialogs.append(dialog.message)
        dialog.dismiss()

    def check(self) -> None:
        assert self.visited, "no page was visited"
        assert not self.errors, "console errors:\n" + "\n".join(self.errors)
        assert not self.dialogs, f"a dialog fired: {self.dialogs}"
        remote = [
            u
            for u in self.requests
            if urlparse(u).scheme not in ("data", "blob", "about") and urlparse(u).hostname not in LOCAL_HOSTS
        ]
        assert not remote, f"requests left localhost: {remote}"


def serve(site: Path) -> Iterator[Served]:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(_Quiet, directory=str(site)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield Served(site, f"http://127.0.0.1:{server.server_address[1]}/")
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture(scope="module")
def shipped(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    """The repository's own handbook, built into a temporary folder and served."""
    site = tmp_path_factory.mktemp("shipped") / "site"
    result = run_kb(["build", "-q", "--out", str(site)], REPO)
    assert result.exit_code == 0, result.output
    yield from serve(site)


@pytest.fixture(scope="module")
def injected(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    """A copy of the handbook whose Ownership principle is titled `<script>alert(1)</script>`."""
    base = tmp_path_factory.mktemp("injected")
    shutil.copytree(REPO / "content", base / "handbook" / "content")
    principle = base / "handbook/content/principles/ownership.md"
    text = principle.read_text(encoding="utf-8")
    principle.write_text(re.sub(r"(?m)^title: .*$", f'title: "{INJECTED}"', text, count=1), encoding="utf-8")
    result = run_kb(["build", "-q", "--out", str(base / "site")], base / "handbook")
    assert result.exit_code == 0, result.output
    yield from serve(base / "site")


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with sync_api.sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser: Any) -> Iterator[tuple[Any, Recorder]]:
    """A fresh page whose requests, console errors and dialogs are checked after the test."""
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    tab = context.new_page()
    recorder = Recorder()
    recorder.attach(tab)
    yield tab, recorder
    context.close()
    recorder.check()


def expected_counts() -> dict[str, int]:
    """Principle title → number of loops, as `kb index principles --format json` prints it."""
    result = run_kb(["index", "principles", "--format", "json"], REPO)
    assert result.exit_code == 0, result.output
    return {row["title"]: len(row["loops"]) for row in json.loads(result.stdout)}


def kb_json(served: Served) -> dict[str, Any]:
    return json.loads((served.site / "kb.json").read_text(encoding="utf-8"))


def table_rows(tab: Any) -> list[list[str]]:
    rows = tab.locator("article table").first.locator("tbody tr")
    return [rows.nth(i).locator("td").all_inner_texts() for i in range(rows.count())]


def test_principle_index_lists_every_principle_with_its_loop_count(
    shipped: Served, page: Any, tmp_path: Path
) -> None:
    tab, _recorder = page
    tab.goto(shipped.url + "principles/")
    rows = table_rows(tab)
    assert len(rows) == principle_count(REPO)
    shown = {cells[0]: int(cells[2]) for cells in rows}
    assert shown == expected_counts()
    data = kb_json(shipped)
    titles = {d["path"]: d["title"] for d in data["documents"]}
    practiced = {t: 0 for p, t in titles.items() if p.startswith("content/principles/")}
    for edge in data["edges"]:
        if edge["kind"] == "practices":
            practiced[titles[edge["to"]]] += 1
    assert shown == practiced
    screenshot = tmp_path / "principles.png"
    tab.screenshot(path=str(screenshot), full_page=True)
    assert screenshot.stat().st_size > 1000


def test_clicking_a_principle_shows_the_loops_it_was_practiced_in(shipped: Served, page: Any) -> None:
    tab, _recorder = page
    counts = expected_counts()
    title = max(sorted(counts), key=lambda t: counts[t])
    data = kb_json(shipped)
    by_path = {d["path"]: d for d in data["documents"]}
    target = next(d for d in data["documents"] if d["collection"] == "principle" and d["title"] == title)
    loops = {
        by_path[e["from"]]["title"]
        for e in data["edges"]
        if e["kind"] == "practices" and e["to"] == target["path"]
    }
    assert len(loops) == counts[title] > 0
    tab.goto(shipped.url + "principles/")
    tab.locator("article table").first.get_by_role("link", name=title, exact=True).click()
    tab.wait_for_url(shipped.url + target["url"])
    assert tab.locator("article h1").first.inner_text() == title
    practiced = tab.locator("h2#practiced-in").locator(  # after its count ("2 loop cycles.")
        "xpath=following-sibling::*[descendant-or-self::table][1]/descendant-or-self::table"
    )
    links = practiced.locator("tbody tr td:nth-child(2) a").all_inner_texts()
    assert set(links) == loops
    first = practiced.locator("tbody tr td:nth-child(2) a").first
    first.click()
    tab.wait_for_load_state()
    assert tab.locator("article h1").first.inner_text() == links[0]


def distinctive_word() -> tuple[str, str]:
    """(word, loop path): a word from one loop's body that no other content file contains."""
    texts = {
        p.relative_to(REPO).as_posix(): p.read_text(encoding="utf-8").lower()
        for p in sorted((REPO / "content").rglob("*.md"))
    }
    for path, text in texts.items():
        if not path.startswith("content/loops/"):
            continue
        body = text.split("\n---\n", 1)[1]
        words = sorted(set(re.findall(r"\b[a-z]{9,}\b", body)), key=lambda w: (-len(w), w))
        for word in words:
            if not any(word[:7] in other for p, other in texts.items() if p != path):
                return word, path
    raise AssertionError("no loop has a word of its own")


def test_search_finds_a_loop_by_a_word_from_its_body(shipped: Served, page: Any) -> None:
    tab, _recorder = page
    word, path = distinctive_word()
    url = next(d["url"] for d in kb_json(shipped)["documents"] if d["path"] == path)
    tab.goto(shipped.url)
    box = tab.locator("input.md-search__input")
    box.click()
    box.press_sequentially(word, delay=20)
    tab.locator(".md-search-result__item").first.wait_for(timeout=15_000)
    hrefs = tab.locator(".md-search-result__item a").evaluate_all("links => links.map(a => a.href)")
    assert any(urlparse(h).path == "/" + url for h in hrefs), (word, url, hrefs)
    tab.locator(".md-search-result__item a").first.click()
    tab.wait_for_url(re.compile(re.escape(shipped.url + url)))
    assert word in tab.locator("article").inner_text().lower()


def test_every_kind_of_page_loads_cleanly(shipped: Served, page: Any) -> None:
    """Home, indexes, a product page (mermaid), people, coverage, tags: no error, nothing remote."""
    tab, recorder = page
    for rel in ("", "principles/", "products/", "loops/", "people/", "principles/coverage/", "tags/"):
        if (shipped.site / rel / "index.html").is_file():
            tab.goto(shipped.url + rel)
            tab.wait_for_load_state("networkidle")
    tab.goto(shipped.url + "products/")
    diagram = tab.locator(".mermaid").first
    if diagram.count():
        tab.wait_for_function("el => el.getBoundingClientRect().height > 40", arg=diagram.element_handle())
    assert len(recorder.visited) >= 4


def test_an_injected_script_title_renders_as_text(injected: Served, page: Any) -> None:
    tab, recorder = page
    tab.goto(injected.url + "principles/ownership/")
    assert INJECTED in tab.title()
    assert tab.locator("article h1").first.inner_text() == INJECTED
    nav = tab.locator("nav.md-nav--primary").inner_text()
    assert INJECTED in nav
    tab.goto(injected.url + "principles/")
    assert INJECTED in [cells[0] for cells in table_rows(tab)]
    box = tab.locator("input.md-search__input")
    box.click()
    box.press_sequentially("assigned", delay=20)  # from its summary: the result shows its title
    tab.locator(".md-search-result__item").first.wait_for(timeout=15_000)
    assert INJECTED in tab.locator(".md-search-result").inner_text()
    tab.wait_for_timeout(300)  # a dialog would fire by now
    assert recorder.dialogs == []


# -- writing from the browser -----------------------------------------------------------------
FORGE = re.compile(r"^https://github\.com/")


def click_to_forge(tab: Any, recorder: Recorder, url: str, label: str, tmp_path: Path) -> str:
    """Open `url`, click the link named `label`, and return the forge URL it navigates to. The
    request is answered locally (route), so nothing leaves the machine."""
    caught: list[str] = []

    def answer(route: Any) -> None:
        caught.append(route.request.url)
        route.fulfill(status=200, content_type="text/html", body="<title>forge</title>")

    tab.route(FORGE, answer)
    tab.goto(url)
    link = tab.get_by_role("link", name=label, exact=True)
    assert link.count() == 1, f"{url}: {link.count()} links named {label!r}"
    tab.screenshot(path=str(tmp_path / "before-click.png"))
    with tab.expect_request(FORGE) as request:
        link.click()
    tab.wait_for_load_state()
    target = request.value.url
    assert caught == [target] and request.value.is_navigation_request()
    recorder.requests[:] = [r for r in recorder.requests if r != target]  # answered locally
    return target


def repository_copy(tmp_path: Path) -> Path:
    """The files kb reads, in a temporary folder: the prefilled file is written there."""
    copy = tmp_path / "repo"
    shutil.copytree(REPO / "content", copy / "content")
    for name in ("mkdocs.yml", "pyproject.toml"):
        shutil.copyfile(REPO / name, copy / name)
    return copy


def write_prefilled(forge_url: str, copy: Path) -> tuple[str, str]:
    """Write the file a GitHub new-file URL prefills (folder in the path, the rest in
    `filename`, the text in `value`) into `copy`; return its path and text."""
    parts = urlparse(forge_url)
    query = parse_qs(parts.query, keep_blank_values=True)
    _owner, _name, verb, branch, *folder = parts.path.strip("/").split("/")
    assert (verb, branch) == ("new", "main"), forge_url
    path = "/".join([*folder, query["filename"][0]])
    text = query["value"][0]
    target = copy / path
    assert not target.exists()
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(text, encoding="utf-8")
    return path, text


def lint(copy: Path) -> list[dict[str, Any]]:
    done = subprocess.run(
        [sys.executable, "-m", "kb", "lint", "--format", "json"],
        cwd=copy,
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode in (0, 1), done.stderr
    return [f for f in json.loads(done.stdout) if f["severity"] == "error"]


def write_observe_notes(copy: Path, path: str) -> None:
    """What a writer does next: notes under the Observe heading (the reached step)."""
    target = copy / path
    text = target.read_text(encoding="utf-8")
    heading = re.search(r"(?m)^## [^\n]*Observe[^\n]*\n", text)
    assert heading, text
    notes = "\nThree people asked for this in the support inbox this week.\n"
    target.write_text(text[: heading.end()] + notes + text[heading.end() :], encoding="utf-8")


def check_new_loop(copy: Path, path: str) -> dict[str, Any]:
    """The new loop lints clean but for its reached step's notes; clean once they are written."""
    findings = lint(copy)
    assert [(f["path"], f["code"]) for f in findings] == [(path, "KB502")], findings
    write_observe_notes(copy, path)
    assert lint(copy) == []
    import yaml

    return yaml.safe_load((copy / path).read_text(encoding="utf-8").split("---\n")[1])


def test_continue_this_loop_opens_the_forge_with_a_next_cycle_that_lints(
    shipped: Served, page: Any, tmp_path: Path
) -> None:
    tab, recorder = page
    loops = [d for d in kb_json(shipped)["documents"] if d["collection"] == "loop"]
    clicked = next(
        d for d in loops if d["frontmatter"]["stage"] == "repeat" and d["frontmatter"].get("product")
    )
    forge_url = click_to_forge(tab, recorder, shipped.url + clicked["url"], "Continue this loop", tmp_path)
    copy = repository_copy(tmp_path)
    path, text = write_prefilled(forge_url, copy)
    assert path.startswith("content/loops/") and path.endswith(".md")
    meta = check_new_loop(copy, path)
    clicked_id = Path(clicked["path"]).stem
    assert meta["follows"] == clicked_id
    assert meta["product"] == clicked["frontmatter"]["product"]
    assert meta["principles"] == clicked["frontmatter"]["principles"]
    assert "From the previous cycle's Repeat notes" in text
    done = subprocess.run(
        [sys.executable, "-m", "kb", "index", "principles", "--format", "json"],
        cwd=copy,
        capture_output=True,
        text=True,
        check=True,
    )
    assert any(Path(path).stem in row["loops"] for row in json.loads(done.stdout))


def test_start_a_loop_cycle_on_a_product_page_opens_the_forge_with_a_loop_that_lints(
    shipped: Served, page: Any, tmp_path: Path
) -> None:
    tab, recorder = page
    product = next(d for d in kb_json(shipped)["documents"] if d["path"] == "content/products/kb.md")
    forge_url = click_to_forge(tab, recorder, shipped.url + product["url"], "Start a loop cycle", tmp_path)
    copy = repository_copy(tmp_path)
    path, _text = write_prefilled(forge_url, copy)
    meta = check_new_loop(copy, path)
    assert meta["product"] == "kb" and meta["stage"] == "observe" and meta["principles"]
    assert "follows" not in meta
