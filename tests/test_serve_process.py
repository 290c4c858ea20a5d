"""`kb serve` as a real process on a real port: a port in use is refused before any build, a
missing page is the site's 404 page with live reload, and a page whose frontmatter breaks is
still served in its last good version until the fix, which the server then renders; a commit
made while serving brings its dates and authors."""

from __future__ import annotations

import os
import queue
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

from gitrepo import GitRepo
from site_helpers import SMALL, write_tree

BUILDER = Path(__file__).resolve().parents[1] / "builder"
LOOP = "content/loops/2026/2026-01-10-notes-survive.md"
LOOP_URL = "loops/2026/2026-01-10-notes-survive/"


def kb(root: Path, *args: str, **kwargs: object) -> subprocess.Popen[str]:
    env = {**os.environ, "PYTHONPATH": str(BUILDER), "KB_JOBS": "1"}
    return subprocess.Popen(
        [sys.executable, "-m", "kb", "--root", str(root), *args],
        env=env,
        text=True,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        **kwargs,
    )  # type: ignore[call-overload]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_a_port_in_use_exits_2_before_building(tmp_path: Path) -> None:
    root = write_tree(tmp_path / "hb", SMALL)
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        proc = kb(root, "serve", "--port", str(port))
        out, err = proc.communicate(timeout=60)
    assert proc.returncode == 2, err
    assert err.startswith(f"kb: error: port {port} is in use; try --port ")
    assert "built" not in err and "Traceback" not in err
    assert not (root / ".kb-cache" / "serve-site").exists()  # nothing was built


def get(url: str) -> tuple[int, str]:
    for _ in range(100):  # "serving on" is printed just before the server binds
        try:
            with urllib.request.urlopen(url, timeout=30) as response:
                return response.status, response.read().decode("utf-8")
        except urllib.error.HTTPError as exc:
            return exc.code, exc.read().decode("utf-8")
        except urllib.error.URLError:
            time.sleep(0.1)
    raise AssertionError(f"nothing answers at {url}")


def test_serve_keeps_the_last_good_page_and_reloads_when_fixed(tmp_path: Path) -> None:
    root = write_tree(tmp_path / "hb", SMALL)
    port = free_port()
    proc = kb(root, "serve", "--port", str(port))
    lines: queue.Queue[str] = queue.Queue()
    threading.Thread(target=lambda: [lines.put(line) for line in proc.stderr], daemon=True).start()  # type: ignore[union-attr]

    try:
        wait_for(lines, "serving on")
        base = f"http://127.0.0.1:{port}/"
        status, page = get(base + "no-such-page/")
        assert status == 404
        assert "md-content" in page and "livereload" in page  # the site's 404 page, live
        status, page = get(base + LOOP_URL)
        assert status == 200 and "Notes survive" in page

        path = root / LOOP
        text = path.read_text(encoding="utf-8")
        path.write_text(text.replace("title: Notes survive", "title: Notes: survive"), encoding="utf-8")
        wait_for(lines, "cannot be read; still serving the last good version")
        assert "KB103" in wait_for(lines, "KB103")
        status, page = get(base + LOOP_URL)
        assert status == 200 and "Notes survive" in page and "livereload" in page

        path.write_text(text.replace("title: Notes survive", 'title: "Notes: fixed"'), encoding="utf-8")
        wait_for(lines, "rebuild in")
        status, page = get(base + LOOP_URL)
        assert status == 200 and "Notes: fixed" in page
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def test_a_commit_while_serving_updates_the_served_pages(tmp_path: Path) -> None:
    """A commit of edits already served changes no watched file but moves HEAD: the server
    notices (it watches git's HEAD log), reads history again and serves the new author."""
    root = write_tree(tmp_path / "hb", SMALL)
    repo = GitRepo(root, author="Ana Lima <ana@example.com>")
    repo.commit("2026-01-05T12:00:00Z")
    port = free_port()
    proc = kb(root, "serve", "--port", str(port))
    lines: queue.Queue[str] = queue.Queue()
    threading.Thread(target=lambda: [lines.put(line) for line in proc.stderr], daemon=True).start()  # type: ignore[union-attr]
    try:
        wait_for(lines, "serving on")
        page_url = f"http://127.0.0.1:{port}/principles/ownership/"
        status, page = get(page_url)
        assert status == 200 and "by Ana Lima" in page
        path = root / "content/principles/ownership.md"
        path.write_text(path.read_text(encoding="utf-8") + "\nOwners close the loop.\n", encoding="utf-8")
        wait_for(lines, "rebuild in")
        repo.commit("2026-03-10T09:00:00Z", "Ben Okafor <ben@example.com>")
        wait_for(lines, "rebuild in")
        status, page = get(page_url)
        assert status == 200 and "Last updated 2026-03-10 by Ben Okafor · 2 contributors" in page
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def wait_for(lines: queue.Queue[str], text: str, timeout: float = 60) -> str:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        try:
            line = lines.get(timeout=0.5)
        except queue.Empty:
            continue
        if text in line:
            return line
    raise AssertionError(f"kb serve never said {text!r}")
