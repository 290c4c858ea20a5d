"""Generate a realistic Product Builder handbook for benchmarks (lints clean with `kb lint`).

Principles with aliases and related principles, product cards with interfaces and a
`depends_on` DAG, plain pages linked from the home page, and loop cycles spread over several
years under `content/loops/YYYY/YYYY-MM-DD-slug.md`, each with five step sections, wikilinks
(ids, aliases, paths, anchors), relative links with anchors, feedback quotes and `follows`
chains per product. Optionally a git repository whose history spreads the files over a number
of commits by several authors (with drafts edited later, a few renames and a .mailmap),
written through `git fast-import`, which makes thousands of commits in seconds.

    python bench/gen.py DIR --loops 10000 [--git --commits 2000]
    python bench/gen.py DIR --plain 900 [--git]      # plain pages in nested folders, no loops

Deterministic for a given seed and `today` (open loops are dated within the last 60 days of
`today`, so none is stale; older ones have reached `repeat`).
"""

from __future__ import annotations

import argparse
import datetime as dt
import random
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

PRINCIPLES = [  # id, title, alias
    ("ownership", "Ownership", "take ownership"),
    ("mission-alignment", "Mission alignment", "mission"),
    ("first-principles-thinking", "First principles thinking", "first principles"),
    ("root-cause-problem-solving", "Root cause problem solving", "root cause"),
    ("pursue-the-truth", "Pursue the truth", "truth seeking"),
    ("open-mindedness", "Open-mindedness", "open mind"),
    ("clear-and-direct-communication", "Clear and direct communication", "candour"),
    ("optimize-for-understanding", "Optimize for understanding", "understanding"),
    ("continuous-improvement", "Continuous improvement", "kaizen"),
    ("adaptability", "Adaptability", "adapt"),
    ("self-motivation", "Self-motivation", "intrinsic motivation"),
    ("self-reflection", "Self-reflection", "reflection"),
    ("short-term-pain-long-term-gain", "Short-term pain, long-term gain", "long-term gain"),
    ("zero-to-one-creativity", "Zero-to-one creativity", "creativity"),
]
PRINCIPLE_SECTIONS = ("Why it matters", "In practice", "How it goes wrong")
PRINCIPLE_ANCHORS = ("why-it-matters", "in-practice", "how-it-goes-wrong")
AREAS = [
    "feedback",
    "deploy",
    "billing",
    "search",
    "onboarding",
    "metrics",
    "release",
    "support",
    "inventory",
    "payments",
    "identity",
    "notification",
    "storage",
    "scheduling",
    "analytics",
    "docs",
    "build",
    "fleet",
    "config",
    "audit",
]
THINGS = [
    "inbox",
    "pipeline",
    "service",
    "console",
    "dashboard",
    "gateway",
    "agent",
    "catalog",
    "tracker",
    "portal",
]
PRODUCT_SECTIONS = ("What it is", "Boundary", "How it combines with others")
PRODUCT_ANCHORS = ("what-it-is", "boundary", "how-it-combines-with-others")
PAGES = [
    ("personal-loop", "The personal loop"),
    ("what-is-a-product", "What is a product?"),
    ("builders", "Builders and product builders"),
    ("level-up", "Levelling up"),
    ("why-build-products", "Why build products"),
    ("glossary", "Glossary"),
]
FIRST = ["Ada", "Jun", "Priya", "Tomas", "Lena", "Omar", "Grace", "Kofi", "Mei", "Ravi", "Sofia", "Yusuf"]
LAST = ["Moreno", "Park", "Nair", "Varga", "Fischer", "Haddad", "Okafor", "Lindqvist", "Tanaka"]
STAGES = ("observe", "reflect", "design", "implement", "repeat")
SUBJECTS = [
    "lint",
    "deploy",
    "onboarding",
    "search",
    "billing",
    "alerts",
    "release notes",
    "feedback",
    "CI",
    "docs",
    "support queue",
    "dashboards",
    "backups",
    "on-call",
    "invoices",
    "sign-up",
    "API",
    "cache",
    "reports",
    "tests",
    "fleet updates",
    "inbox",
]
PROBLEMS = [
    "too slow",
    "misses aliases",
    "drifts from reality",
    "loses context",
    "spikes at month end",
    "confuses new joiners",
    "fails silently",
    "needs manual steps",
    "duplicates work",
    "hides errors",
    "breaks on large inputs",
    "costs too much",
    "goes unread",
    "arrives too late",
]
TAGS = [
    "ci",
    "cost",
    "performance",
    "docs",
    "feedback",
    "ux",
    "reliability",
    "security",
    "process",
    "tooling",
    "onboarding",
    "data",
]
SOURCES = [
    "Support desk, ticket",
    "Team lead, chat",
    "Customer call",
    "Finance, cost review",
    "Pull request review",
    "Survey answer",
    "Sales, account review",
    "On-call handover",
]
SENTENCES = [
    "Several people mentioned the same problem in the same week",
    "I wrote down what I saw before trying to explain it",
    "The numbers from the last month told a different story than the complaints",
    "Nobody had asked why the step existed in the first place",
    "The first suspect turned out to be a symptom rather than the cause",
    "Timing each stage showed that most of the work happened in one place",
    "A bigger machine would have hidden the problem instead of explaining it",
    "We compared three options and picked the one that was easiest to undo",
    "The change shipped behind a flag so that it could be rolled back quickly",
    "Two users tried the new version and both found it clearer",
    "The result was measured again a week later to make sure it held",
    "This cycle raised a question that deserves its own loop",
    "The boundary of the product had been drawn in the wrong place",
    "Writing the problem down made it obvious that two teams were solving it twice",
    "Most of the time went into waiting rather than working",
    "The fix was small once the cause was clear",
    "We kept the old path around for one release to avoid surprising anyone",
    "Feedback after the change was quieter, which is the best sign we get",
    "The design had to work for people who open the handbook once a month",
    "A checklist would have helped, but a tool that does the check is better",
    "I asked the people affected before deciding anything",
    "The data came from the last ninety days of usage",
    "Every step of the process was written down with who does it and when",
    "It is easy to mistake a loud complaint for a common one",
]
PROMPTS = {
    "observe": "What did you see or hear? Quote users where you can.",
    "reflect": "What pattern or cause explains it?",
    "design": "What will you change, and how will you know it worked?",
    "implement": "What did you ship, and when?",
    "repeat": "What happened next? What is the next cycle?",
}


@dataclass
class File:
    path: str  # relative to the root, POSIX
    text: str
    when: int  # epoch seconds: when the file is first committed


@dataclass
class Loop:
    id: str
    date: dt.date
    product: str | None


def generate(
    root: Path,
    loops: int,
    principles: int = 14,
    products: int = 40,
    authors: int = 6,
    seed: int = 0,
    git: bool = False,
    commits: int = 0,
    years: int = 4,
    today: dt.date | None = None,
) -> list[str]:
    """Write the handbook under `root` (a git repository if `git`); return the file paths."""
    gen = _Generator(random.Random(seed), principles, products, authors, years, today or dt.date.today())
    files = gen.files(loops)
    return _write(root, files, gen if git else None, commits)


#: The plain-page handbook's fixed shape: top-level departments, each with teams; pages go in
#: topic folders under the teams (at most PLAIN_LEAF pages each). `about/team/` always holds the
#: same three pages, whatever the size: the page to compare between sizes.
DEPARTMENTS = ["engineering", "product", "sales", "marketing", "operations", "finance"]
TEAMS = ["platform", "growth", "support", "planning", "research", "tooling"]
TOPICS = [
    "guides",
    "processes",
    "reference",
    "meetings",
    "onboarding",
    "tools",
    "policies",
    "howtos",
    "playbooks",
    "notes",
]
PLAIN_LEAF = 10


def generate_plain(root: Path, pages: int, seed: int = 0, git: bool = False) -> list[str]:
    """A handbook of about `pages` plain markdown pages in nested folders, most without
    frontmatter (titles from their first `# ` heading, some from the file name), each folder
    with an index linking its pages, so nothing is an orphan. Returns the file paths."""
    rng = random.Random(seed)
    words = SUBJECTS + AREAS + THINGS
    files: dict[str, str] = {}

    def text(title: str | None, links: list[tuple[str, str]]) -> str:
        head = f"# {title}\n\n" if title else ""
        paras = []
        for _ in range(rng.randint(3, 6)):
            tokens = [rng.choice(words) for _ in range(rng.randint(40, 80))]
            if links:
                label, target = rng.choice(links)
                tokens.insert(rng.randrange(len(tokens)), f"[{label}]({target})")
            paras.append(_wrap(tokens))
        sections = [f"## {rng.choice(words).capitalize()} {rng.choice(THINGS)}\n\n{p}" for p in paras[1:]]
        return head + paras[0] + "\n\n" + "\n\n".join(sections) + "\n"

    def index(folder: str, title: str, children: list[tuple[str, str]], up: bool) -> None:
        body = [f"# {title}", ""] + [f"- [{label}]({target})" for label, target in children]
        if up:
            body += ["", "Back to [the handbook](../index.md)."]
        files[f"{folder}/index.md" if folder else "index.md"] = "\n".join(body) + "\n"

    about = [("Who we are", "who-we-are.md"), ("How we work", "how-we-work.md"), ("Contact", "contact.md")]
    for name, title in ((n, t) for t, n in about):
        files[f"about/team/{name}"] = text(title, [("the team", "index.md")])
    index("about/team", "Team", [(t, n) for t, n in about], True)
    index("about", "About", [("Team", "team/index.md")], True)
    budget = max(0, pages - len(files) - 1 - len(DEPARTMENTS) * (1 + len(TEAMS)))  # indexes count too
    leaves = [(d, t) for d in DEPARTMENTS for t in TEAMS]
    per_team = [budget // len(leaves) + (1 if i < budget % len(leaves) else 0) for i in range(len(leaves))]
    for (dept, team), count in zip(leaves, per_team, strict=True):
        wanted = max(1, -(-count // (PLAIN_LEAF + 1)))  # past ten topics, numbered ones (guides-2)
        topics = [
            TOPICS[i % len(TOPICS)] + (f"-{i // len(TOPICS) + 1}" if i >= len(TOPICS) else "")
            for i in range(wanted)
        ]
        count = max(0, count - len(topics))  # each topic's index is one of the pages
        shares = [count // len(topics) + (1 if i < count % len(topics) else 0) for i in range(len(topics))]
        for topic, share in zip(topics, shares, strict=True):
            folder = f"{dept}/{team}/{topic}"
            names = [
                f"{rng.choice(SUBJECTS).replace(' ', '-')}-{rng.choice(THINGS)}-{k}" for k in range(share)
            ]
            children = []
            for k, name in enumerate(names):
                title = None if k % 7 == 3 else f"{name.rsplit('-', 1)[0].replace('-', ' ').capitalize()} {k}"
                sibling = names[(k + 1) % len(names)]
                files[f"{folder}/{name}.md"] = text(
                    title,
                    [
                        ("next", f"{sibling}.md"),
                        ("topic", "index.md"),
                        ("team page", "../../../about/team/index.md"),
                    ],
                )
                children.append((title or name, f"{name}.md"))
            index(folder, topic.capitalize(), children, True)
        index(f"{dept}/{team}", team.capitalize(), [(t.capitalize(), f"{t}/index.md") for t in topics], True)
    for dept in DEPARTMENTS:
        index(dept, dept.capitalize(), [(t.capitalize(), f"{t}/index.md") for t in TEAMS], True)
    index("", "Handbook", [(d.capitalize(), f"{d}/index.md") for d in ["about", *DEPARTMENTS]], False)
    out = [
        File(f"content/{rel}", body, _epoch(dt.date(2024, 1, 1)) + i * 3600)
        for i, (rel, body) in enumerate(sorted(files.items()))
    ]
    return _write(root, out, _Generator(rng, 14, 1, 3, 1, dt.date(2025, 1, 1)) if git else None)


def _write(root: Path, files: list[File], gen: _Generator | None, commits: int = 0) -> list[str]:
    """Write the files, as a git history of about `commits` commits when `gen` is given (its
    authors and dates); returns their paths, sorted."""
    root.mkdir(parents=True, exist_ok=True)
    if gen is not None:
        _git_import(root, files, commits or max(1, len(files) // 5), gen)
    else:
        for f in files:
            target = root / f.path
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(f.text, encoding="utf-8")
    return sorted(f.path for f in files)


class _Generator:
    def __init__(
        self, rng: random.Random, principles: int, products: int, authors: int, years: int, today: dt.date
    ) -> None:
        self.rng = rng
        self.today = today
        self.start = today - dt.timedelta(days=365 * years)
        self.principles = _principles(principles)
        self.products = _products(rng, products)
        self.people = [
            f"{FIRST[i % len(FIRST)]} {LAST[(i * 5 + i // len(FIRST)) % len(LAST)]}"
            for i in range(max(authors, 1))
        ]
        self.loops: list[Loop] = []
        self.last_loop: dict[str, Loop] = {}
        self.interfaces = [self.surfaces(title) for _, title in self.products]
        self.alternatives: dict[int, int] = {}  # pairs of products that list each other
        for i in range(0, len(self.products) - 1, 2):
            if rng.random() < 0.4:
                self.alternatives[i], self.alternatives[i + 1] = i + 1, i

    def surfaces(self, title: str) -> list[tuple[str, str, str]]:
        kinds = self.rng.sample(["api", "cli", "ui", "file", "event", "other"], self.rng.randint(1, 3))
        return [(f"{title} {kind}", kind, self.sentence() + ".") for kind in kinds]

    def files(self, loops: int) -> list[File]:
        base = _epoch(self.start) - 30 * 86400
        out = [
            File(f"content/principles/{pid}.md", self.principle(i), base + i * 3600)
            for i, (pid, _, _) in enumerate(self.principles)
        ]
        out += [
            File(f"content/products/{pid}.md", self.product(i), base + 86400 + i * 3600)
            for i, (pid, _) in enumerate(self.products)
        ]
        out.append(File("content/index.md", self.index(), base))
        out += [
            File(f"content/handbook/{pid}.md", self.page(pid, title), base + 7200) for pid, title in PAGES
        ]
        span = (self.today - self.start).days
        self.count = loops
        for i in range(loops):
            day = self.start + dt.timedelta(days=i * span // max(loops, 1))
            path, text = self.loop(i, day)
            out.append(File(path, text, _epoch(day) + self.rng.randrange(8 * 3600, 20 * 3600)))
        return out

    # -- text ------------------------------------------------------------------------------
    def paragraph(self, links: list[str], sentences: tuple[int, int] = (3, 6)) -> str:
        """A wrapped paragraph; each link is kept on one line and placed between sentences."""
        tokens: list[str] = []
        parts = self.rng.sample(SENTENCES, self.rng.randint(*sentences))
        slots: dict[int, list[str]] = {}
        for link in links:
            slots.setdefault(self.rng.randrange(len(parts)), []).append(link)
        for n, sentence in enumerate(parts):
            tokens += sentence.split()
            for link in slots.get(n, ()):
                tokens += ["(see", link + ")"]
            tokens[-1] += "."
        return _wrap(tokens)

    def principle_link(self, pid: str, alias: str, depth: str) -> str:
        r = self.rng.random()
        if r < 0.35:
            return f"[[{pid}]]"
        if r < 0.55:
            return f"[[{alias}]]"
        if r < 0.75:
            return f"[[{pid}#{self.rng.choice(PRINCIPLE_ANCHORS)}|{alias}]]"
        anchor = self.rng.choice(PRINCIPLE_ANCHORS)
        return f"[{alias}]({depth}principles/{pid}.md#{anchor})"

    def product_link(self, pid: str, title: str, depth: str) -> str:
        r = self.rng.random()
        if r < 0.4:
            return f"[[{pid}]]"
        if r < 0.7:
            return f"[[products/{pid}|{title}]]"
        return f"[{title}]({depth}products/{pid}.md#{self.rng.choice(PRODUCT_ANCHORS)})"

    # -- documents -------------------------------------------------------------------------
    def principle(self, i: int) -> str:
        pid, title, alias = self.principles[i]
        others = [p for p in self.principles if p[0] != pid]
        related = self.rng.sample(others, min(3, len(others)))
        head = [
            f"title: {_q(title)}",
            f"summary: {self.sentence()}.",
            f"order: {i + 1}",
            f"aliases: [{alias}]",
        ]
        if related:
            head.append("related: [" + ", ".join(p[0] for p in related) + "]")
        body = []
        for n, section in enumerate(PRINCIPLE_SECTIONS):
            links = [self.principle_link(*related[n % len(related)][::2], "../")] if related else []
            body.append(f"## {section}\n\n" + self.paragraph(links))
        body.append("- Write the problem down.\n- Share it early.\n- Check back a week later.")
        return _doc(head, "\n\n".join(body))

    def product(self, i: int) -> str:
        pid, title = self.products[i]
        rng = self.rng
        deps = rng.sample(self.products[:i], min(i, rng.choice((0, 1, 1, 2, 3))))
        principles = rng.sample(self.principles, min(len(self.principles), rng.randint(1, 3)))
        alts = [self.products[self.alternatives[i]][0]] if i in self.alternatives else []
        alts.append(rng.choice(["A shared spreadsheet", "Notion", "A chat channel", "Email"]))
        consumes = [
            f"{d[0]}/{rng.choice(self.interfaces[self.products.index(d)])[0]}"
            for d in deps
            if rng.random() < 0.6
        ]
        head = [
            f"title: {title}",
            f"summary: {title} keeps {self.sentence().lower()}",
            f"problem: {self.sentence()}.",
            "users:",
            *(
                f"  - {u}"
                for u in rng.sample(
                    [
                        "Product owners",
                        "Support engineers",
                        "Everyone on the team",
                        "New joiners",
                        "Finance",
                        "Customers",
                    ],
                    rng.randint(1, 3),
                )
            ),
            f"owner: {rng.choice(self.people)}",
            f"status: {rng.choice(['idea', 'building', 'live', 'live', 'retired'])}",
            "interfaces:",
        ]
        for name, kind, description in self.interfaces[i]:
            head += [f"  - name: {name}", f"    kind: {kind}", f"    description: {description}"]
        if deps:
            head.append("depends_on: [" + ", ".join(d[0] for d in deps) + "]")
        if consumes:
            head += ["consumes:", *(f"  - {c}" for c in consumes)]
        head += [
            "alternatives:",
            *(f"  - {a}" for a in alts),
            "non_goals:",
            f"  - {rng.choice(['Billing', 'Analytics', 'Access control'])} for other products",
            "principles: [" + ", ".join(p[0] for p in principles) + "]",
            "tags: [" + ", ".join(rng.sample(TAGS, 2)) + "]",
        ]
        links = [self.principle_link(p[0], p[2], "../") for p in principles]
        links += [self.product_link(d[0], d[1], "../") for d in deps]
        body = [f"## {s}\n\n" + self.paragraph(links[n::3]) for n, s in enumerate(PRODUCT_SECTIONS)]
        return _doc(head, "\n\n".join(body))

    def index(self) -> str:
        lines = [f"{n + 1}. [[handbook/{pid}|{title}]]" for n, (pid, title) in enumerate(PAGES)]
        principles = ", ".join(f"[[{p[0]}]]" for p in self.principles[:3])
        products = ", ".join(f"[[products/{p[0]}|{p[1]}]]" for p in self.products[:3])
        return _doc(
            [
                "title: The Product Builder Handbook",
                "summary: How we build products and improve them through the personal loop.",
            ],
            "# The Product Builder Handbook\n\n## Start here\n\n"
            + "\n".join(lines)
            + f"\n\n## Principles and products\n\nGood first reads are {principles}."
            + f" Products to start with: {products}.",
        )

    def page(self, pid: str, title: str) -> str:
        p = self.principles[len(pid) % len(self.principles)]
        links = [self.principle_link(p[0], p[2], "../"), "[the home page](../index.md)"]
        return _doc(
            [f"title: {_q(title)}", f"summary: {self.sentence()}."],
            f"## {title}\n\n" + self.paragraph(links) + "\n\n```text\nkb lint\n```",
        )

    def loop(self, i: int, day: dt.date) -> tuple[str, str]:
        rng = self.rng
        title = f"{rng.choice(SUBJECTS)} {rng.choice(PROBLEMS)}"
        title = title[0].upper() + title[1:]
        lid = f"{day.isoformat()}-{_slug(title)}"
        taken = sum(lp.id.startswith(lid) for lp in self.loops[-60:])
        lid += f"-{taken + 1}" if taken else ""
        fresh = (self.today - day).days <= 60
        stage = rng.choice(STAGES) if fresh else "repeat"
        product = rng.choice(self.products) if rng.random() < 0.85 else None
        previous = self.last_loop.get(product[0]) if product else None
        follows = previous if previous and rng.random() < 0.6 else None
        first = self.principles[i % len(self.principles) :: max(self.count, 1)]  # all are practiced
        chosen = first + rng.sample(self.principles, rng.randint(0, 2))
        principles = list(dict.fromkeys(chosen))
        loop = Loop(lid, day, product[0] if product else None)
        self.loops.append(loop)
        if product:
            self.last_loop[product[0]] = loop
        head = self.loop_head(title, day, stage, principles, product, follows)
        body = self.loop_body(stage, principles, product, follows, day.year)
        return f"content/loops/{day.year}/{lid}.md", _doc(head, body)

    def loop_head(
        self, title: str, day: dt.date, stage: str, principles: list, product, follows: Loop | None
    ) -> list[str]:
        rng = self.rng
        head = [f"title: {title}", f"date: {day.isoformat()}", f"stage: {stage}", "principles:"]
        head += [f"  - {p[0]}" for p in principles]
        if product:
            head.append(f"product: {product[0]}")
        if rng.random() < 0.7:
            head += ["authors:", *(f"  - {a}" for a in rng.sample(self.people, rng.randint(1, 2)))]
        if follows:
            head.append(f"follows: {follows.id}")
        feedback = rng.randint(0, 3)
        if feedback:
            head.append("feedback:")
        for _ in range(feedback):
            number = rng.randrange(100, 99999)
            head += [
                f"  - source: {rng.choice(SOURCES)} {number}",
                f'    quote: "{rng.choice(SENTENCES)}, and it keeps happening."',
            ]
            if rng.random() < 0.5:
                head.append(f"    url: https://feedback.example.com/items/{number}")
        head.append("tags: [" + ", ".join(rng.sample(TAGS, rng.randint(1, 3))) + "]")
        return head

    def loop_body(self, stage: str, principles: list, product, follows: Loop | None, year: int) -> str:
        rng = self.rng
        reached = STAGES.index(stage) + 1
        links: dict[str, list[str]] = {s: [] for s in STAGES}
        if product:
            links["observe"].append(self.product_link(product[0], product[1], "../../"))
        for p in principles:
            links[rng.choice(STAGES[1:reached] or STAGES[:1])].append(
                self.principle_link(p[0], p[2], "../../")
            )
        if follows:
            links["observe"].append(
                f"[[{follows.id}]]"
                if rng.random() < 0.5
                else f"[the previous cycle](../{follows.date.year}/{follows.id}.md#1-observe)"
            )
        sections = []
        for n, step in enumerate(STAGES):
            heading = f"## {n + 1}. {step.title()}"
            if n >= reached:
                sections.append(f"{heading}\n\n<!-- {PROMPTS[step]} -->")
                continue
            text = self.paragraph(links[step])
            if step == "reflect" and rng.random() < 0.3:
                text += "\n\n- Run `kb lint` before pushing.\n- Keep the change small.\n- Ask why twice."
            if step == "design" and rng.random() < 0.1:
                text += "\n\n```yaml\nstage: design\n```"
            sections.append(f"{heading}\n\n{text}")
        return "\n\n".join(sections)

    def sentence(self) -> str:
        return self.rng.choice(SENTENCES)


def _principles(count: int) -> list[tuple[str, str, str]]:
    out = []
    for n in range(count):
        pid, title, alias = PRINCIPLES[n % len(PRINCIPLES)]
        k = n // len(PRINCIPLES)
        out.append((pid, title, alias) if not k else (f"{pid}-{k}", f"{title} {k}", f"{alias} {k}"))
    return out


def _products(rng: random.Random, count: int) -> list[tuple[str, str]]:
    pairs = [(a, t) for a in AREAS for t in THINGS]
    rng.shuffle(pairs)
    out = []
    for n in range(count):
        area, thing = pairs[n % len(pairs)]
        k = n // len(pairs)
        pid = f"{area}-{thing}" + (f"-{k}" if k else "")
        out.append((pid, f"{area.title()} {thing}" + (f" {k}" if k else "")))
    return out


def _doc(head: list[str], body: str) -> str:
    return "---\n" + "\n".join(head) + "\n---\n\n" + body + "\n"


def _q(text: str) -> str:
    """A YAML scalar: double-quoted when plain style would misread it."""
    return f'"{text}"' if any(c in text for c in ":#,?") else text


def _slug(text: str) -> str:
    words = "".join(c if c.isalnum() else " " for c in text.lower()).split()
    return "-".join(words[:6])


def _wrap(tokens: list[str], width: int = 100) -> str:
    lines, line, size = [], [], 0
    for token in tokens:
        if line and size + 1 + len(token) > width:
            lines.append(" ".join(line))
            line, size = [], 0
        size += len(token) + (1 if line else 0)
        line.append(token)
    lines.append(" ".join(line))
    return "\n".join(lines)


def _epoch(day: dt.date) -> int:
    return int(dt.datetime(day.year, day.month, day.day, tzinfo=dt.UTC).timestamp())


# -- git ---------------------------------------------------------------------------------------
def _git_import(root: Path, files: list[File], commits: int, gen: _Generator) -> None:
    """Write the history with `git fast-import`, then check the last commit out."""
    subprocess.run(["git", "init", "-q", "-b", "main", str(root)], check=True)
    proc = subprocess.Popen(["git", "fast-import", "--quiet"], cwd=root, stdin=subprocess.PIPE)
    assert proc.stdin is not None
    for chunk in _stream(files, commits, gen):
        proc.stdin.write(chunk)
    proc.stdin.close()
    if proc.wait() != 0:
        raise SystemExit("git fast-import failed")
    subprocess.run(["git", "reset", "-q", "--hard", "main"], cwd=root, check=True)


def _stream(files: list[File], commits: int, gen: _Generator):
    """Commit k adds the k-th slice of the files (ordered by date); about one file in five is
    first committed as a draft and finished a few commits later, often by someone else, and
    one in fifty is first added under another name and renamed."""
    rng = random.Random(len(files))
    ordered = sorted(files, key=lambda f: (f.when, f.path))
    later: dict[int, list[bytes]] = {}
    emails = [p.lower().replace(" ", ".") + "@example.com" for p in gen.people]
    mailmap = f"{gen.people[0]} <{emails[0]}> <{emails[0].replace('@', '+old@')}>\n"
    now = 0
    for k in range(commits):
        part = ordered[k * len(ordered) // commits : (k + 1) * len(ordered) // commits]
        now = max([now + 60] + [f.when for f in part])
        ops = [b"M 100644 inline .mailmap\n" + _data(mailmap)] if k == 0 else []
        for f in part:
            ops.append(_add(f, k, commits, rng, later))
        ops += later.pop(k, [])
        who = rng.randrange(len(emails))
        email = emails[who].replace("@", "+old@") if who == 0 and k < commits // 2 else emails[who]
        tz = rng.choice(["+0000", "+0100", "-0500", "+0530", "+0900"])
        ident = f"{gen.people[who]} <{email}> {now} {tz}".encode()
        head = b"commit refs/heads/main\nmark :%d\nauthor %s\ncommitter %s\n" % (k + 1, ident, ident)
        parent = b"from :%d\n" % k if k else b""
        message = f"{'Add' if part else 'Edit'} {len(part)} files ({k + 1}/{commits})"
        yield head + _data(message) + parent + b"".join(ops) + b"\n"
    for ops in later.values():  # a draft whose finishing commit fell past the end
        raise AssertionError(f"unfinished drafts: {len(ops)}")


def _add(f: File, k: int, commits: int, rng: random.Random, later: dict[int, list[bytes]]) -> bytes:
    path = f.path.encode()
    r = rng.random()
    if k + 1 >= commits or r >= 0.22:
        return b"M 100644 inline %s\n" % path + _data(f.text)
    finish = min(commits - 1, k + rng.randint(1, 12))
    final = b"M 100644 inline %s\n" % path + _data(f.text)
    if r < 0.02:
        old = f.path[:-3].encode() + b"-draft.md"
        later.setdefault(finish, []).append(b"R %s %s\n" % (old, path) + final)
        return b"M 100644 inline %s\n" % old + _data(f.text)
    draft = f.text.rsplit("\n\n", 1)[0] + "\n"
    later.setdefault(finish, []).append(final)
    return b"M 100644 inline %s\n" % path + _data(draft)


def _data(text: str) -> bytes:
    raw = text.encode()
    return b"data %d\n%s\n" % (len(raw), raw)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("dir", type=Path, help="where to write the handbook (must be empty or new)")
    parser.add_argument("--loops", type=int, default=1000)
    parser.add_argument("--principles", type=int, default=14)
    parser.add_argument("--products", type=int, default=40)
    parser.add_argument("--authors", type=int, default=6)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--git", action="store_true", help="make it a git repository with history")
    parser.add_argument("--commits", type=int, default=0, help="commits (default: files / 5)")
    parser.add_argument(
        "--plain",
        type=int,
        metavar="PAGES",
        help="instead: a handbook of PAGES plain pages in nested folders, no loops",
    )
    args = parser.parse_args(argv)
    if args.dir.exists() and any(args.dir.iterdir()):
        parser.error(f"{args.dir} is not empty")
    began = time.perf_counter()
    if args.plain:
        paths = generate_plain(args.dir, args.plain, args.seed, args.git)
    else:
        paths = generate(
            args.dir,
            args.loops,
            args.principles,
            args.products,
            args.authors,
            args.seed,
            args.git,
            args.commits,
        )
    size = sum((args.dir / p).stat().st_size for p in paths)
    print(
        f"{len(paths):,} files, {size / 1e6:.1f} MB in {args.dir} ({time.perf_counter() - began:.1f} s)",
        file=sys.stderr,
    )


if __name__ == "__main__":
    main()
