"""`kb lint` links each chunk of files where it was read (`pipeline.lint_check`, `link.Plan`):
its findings are those of `check`, which links every document in one graph, in the same order
with the same hints, whatever the chunks and processes, and it falls back to `check` when the
plan it linked by does not hold."""

from __future__ import annotations

from pathlib import Path

import pytest

from conftest import BASE, TODAY, make_kb
from kb import pipeline
from kb.pipeline import check, lint_check
from kb.settings import Settings, load_settings

FRONT = "---\ntitle: {title}\ndate: 2026-11-{day:02d}\nstage: {stage}\nprinciples: {principles}\nproduct: {product}\n{more}---\n"


def _loop(i: int, n: int) -> str:
    """Loop `i` of `n`: references (some unknown, some by alias), a follows chain with a cycle,
    links to other loops' headings (some missing) far away in file order, misses of every kind
    (wikilinks, files, site-root files), a suppressed one, and headings others link to."""
    other = (i * 7 + 3) % n
    principles = ["ownership"]
    if i % 5 == 0:
        principles.append(f"ownershyp-{i % 3}")  # unknown: "did you mean" (three distinct words)
    if i % 11 == 0:
        principles.append("take ownership")  # an alias where an id belongs
    more = ""
    if i < 3:
        more = f"follows: 2026-11-{(i + 1) % 3 + 1:02d}-loop-{(i + 1) % 3:04d}\n"  # a cycle of three
    elif i % 4 == 0:
        more = f"follows: 2026-11-{i % 28 + 1:02d}-loop-{i - 1:04d}\n" if i % 8 else "follows: no-such-loop\n"
    front = FRONT.format(
        title=f"Loop {i}",
        day=i % 28 + 1,
        stage="repeat",
        principles="[" + ", ".join(principles) + "]",
        product="kb" if i % 9 else "kbb",
        more=more,
    )
    name = f"2026-11-{other % 28 + 1:02d}-loop-{other:04d}"
    lines = [
        "## 1. Observe",
        "",
        f"### Step {i}",
        "",
        f"See [the other one]({name}.md#step-{other}) and [[{name}#step-{other}]].",
        f"Not there: [gone]({name}.md#step-{other + 1}), [[{name}#Step {other}]] and [[{name}#nope-{i % 4}]].",
        f"Also [[missing-page-{i % 13}]], [a file](missing-{i % 17}.md), ![img](/img/gone-{i % 6}.png).",
        "See [[kb#what-it-does]] and [[ownership#why-it-matters]] and [[ownership#why-it-maters]].",
        "",
        "<!-- kb: ignore KB406 -->",
        f"[ignored](ignored-{i}.md)",
    ]
    for step in ("2. Reflect", "3. Design", "4. Implement", "5. Repeat"):
        lines += ["", f"## {step}", "", "ok"]
    return front + "\n" + "\n".join(lines) + "\n"


def _handbook(n: int) -> dict[str, str | bytes]:
    files: dict[str, str | bytes] = dict(BASE)
    for i in range(n):
        files[f"content/loops/2026/2026-11-{i % 28 + 1:02d}-loop-{i:04d}.md"] = _loop(i, n)
    # the same id in another year's folder: a duplicate (and a KB305 name that is not its date's)
    files["content/loops/2025/2026-11-02-loop-0001.md"] = _loop(1, n)
    files["content/loops/2026/2026-11-30-broken.md"] = "---\ntitle: [\n---\n\n[[ownership]]\n"
    files["content/principles/candor.md"] = (
        "---\ntitle: Candor\nsummary: Say it.\naliases: [Take Ownership, frankness]\nrelated: [ownership, onwership]\n---\n"
    )
    files["content/principles/unpracticed.md"] = "---\ntitle: U\nsummary: Nobody.\n---\n\n## Why\n"
    for name, depends in (("api", "web"), ("web", "api")):
        files[f"content/products/{name}.md"] = (
            f"---\ntitle: {name}\nsummary: s\nproblem: p\nusers: [u]\nowner: o\nstatus: live\n"
            f"depends_on: [{depends}]\nalternatives: [kb]\nconsumes: [kb/lint, kb, nope/x]\n"
            "interfaces:\n  - name: rest\n---\n\n## Parts\n"
        )
    for k in range(12):
        linked = "" if k % 3 else f"\n[page](handbook/page-{k}.md#top-{k})\n"
        files["content/index.md"] = str(files["content/index.md"]) + linked
        files[f"content/handbook/page-{k}.md"] = (
            f"---\ntitle: Page {k}\n---\n\n# Top {k}\n\n[[loops/2026/2026-11-02-loop-0001#step-1]] "
            f"[here](#top-{k}) [there](#nowhere) [[#top-{k}]] [[loops/2026/index]] [y](../loops/2027/)\n"
        )
    files["mkdocs.yml"] = "site_name: x\ntheme:\n  name: material\n  features: [navigation.tabs]\n"
    return files


def _same(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    """Lint's findings are check's, and lint did not fall back to check to get them."""
    classic = check(settings, TODAY)

    def fail(*args: object) -> None:
        raise AssertionError("the plan did not hold: lint fell back to check()")

    monkeypatch.setattr(pipeline, "_check", fail)
    lean = lint_check(settings, TODAY)
    assert lean.findings == classic.findings  # Finding compares every field, hint and severity too
    assert [f.hint for f in lean.findings] == [f.hint for f in classic.findings]
    assert lean.files == classic.corpus.files


@pytest.mark.parametrize("jobs", ["1", "3"])
@pytest.mark.parametrize("budget", [5000, 3])
def test_chunks_linked_apart_find_what_one_graph_finds(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, jobs: str, budget: int
) -> None:
    """Many small chunks (links to headings in other chunks wait for the main process), in one
    process and in three; with the "did you mean" budget large, and so small that which misses
    get a hint depends on the document order only the main process sees."""
    import kb.link
    import kb.load
    import kb.siteconfig

    monkeypatch.setattr(kb.load, "CHUNK_FILES", 7)
    monkeypatch.setattr(kb.link, "SUGGEST_BUDGET", budget)
    monkeypatch.setattr(kb.siteconfig, "NAV_MAX", 5)  # KB704 counts the readable pages
    monkeypatch.setenv("KB_JOBS", jobs)
    settings = load_settings(make_kb(tmp_path, _handbook(120)))
    classic = check(settings, TODAY)
    codes = {f.code for f in classic.findings}
    expected = {"KB302", "KB305", "KB401", "KB402", "KB403", "KB404", "KB406", "KB407", "KB411"}
    assert expected | {"KB412", "KB413", "KB601", "KB603", "KB704", "KB103"} <= codes
    if budget == 3:
        assert any(f.code == "KB404" and "did you mean" not in f.hint for f in classic.findings)
    _same(settings, monkeypatch)


def test_a_handbook_at_the_root_and_without_loops(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    files = {
        "kb.toml": 'content_dir = "."\n',
        "README.md": "# Home\n\n[a](a/one.md#two) [b](a/one.md#three) [[a/one]] [[nowhere]]\n",
        "a/one.md": "# One\n\n## Two\n\n[up](../README.md#home)\n",
        "a/lonely.md": "# Lonely\n",
        "a/.hidden/x.md": "# Hidden\n",
        "b/see.md": "[hidden](../a/.hidden/x.md) [[b/see#nope]]\n",
    }
    settings = load_settings(make_kb(tmp_path, files))
    _same(settings, monkeypatch)


@pytest.mark.parametrize(
    "extra",
    [
        {"content/loops/2026/2026-11-25-bad.md": b"---\ntitle: \xff\n---\n"},  # not UTF-8: no document
        {"content/products/huge.md": "---\ntitle: x\n---\n" + "x" * 100},  # over max_file_bytes
        {
            "content/loops/2026/2026-11-25-late.md": BASE["content/loops/2026/2026-11-23-slow-ci.md"].replace(
                "date: 2026-11-23", "date: 2024-01-05"
            )
        },  # a year no loop's name says
    ],
    ids=["not-utf8", "too-large", "year"],
)
def test_when_the_plan_does_not_hold_lint_checks_the_classic_way(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, extra: dict[str, str | bytes]
) -> None:
    files: dict[str, str | bytes] = {**BASE, **extra}
    if "content/products/huge.md" in extra:
        files["kb.toml"] = "max_file_bytes = 50\n"
    settings = load_settings(make_kb(tmp_path, files))
    calls = []
    real = pipeline._check

    def spy(*args: object) -> pipeline.Checked:
        calls.append(args)
        return real(*args)  # type: ignore[arg-type]

    monkeypatch.setattr(pipeline, "_check", spy)
    lean = lint_check(settings, TODAY)
    assert calls, "the plan was taken to hold"
    assert lean.findings == real(settings, TODAY).findings


def test_a_revision_is_linted_as_of_its_commit(tmp_path: Path) -> None:
    from conftest import GitRepo

    repo = GitRepo(tmp_path / "repo")
    repo.write(BASE)
    first = repo.commit(message="base")
    repo.write({"content/index.md": "---\ntitle: Home\n---\n\n[[gone]]\n"})
    repo.commit(message="break")
    settings = load_settings(repo.root)
    assert (
        lint_check(settings, TODAY, rev=first).findings
        == pipeline.run(settings, pipeline.Options(rev=first, today=TODAY)).findings
    )
    assert [f.code for f in lint_check(settings, TODAY).findings][:1] == ["KB404"]
