"""`kb.cores`: how many processes, and `fork_map`, which must give what a serial map gives,
even when a forked process fails or dies."""

from __future__ import annotations

import os

import pytest

from kb import cores


def test_fork_map_keeps_the_order() -> None:
    items = list(range(101))
    assert cores.fork_map(lambda x: (x, os.getpid()), items, 3)[5][0] == 5
    results = cores.fork_map(lambda x: (x * x, os.getpid()), items, 3)
    assert [r[0] for r in results] == [x * x for x in items]
    assert len({pid for _, pid in results}) == 3  # three processes really shared the work


def test_a_process_that_dies_has_its_share_computed_again() -> None:
    main = os.getpid()

    def fn(x: int) -> int:
        if os.getpid() != main:
            os._exit(3)  # killed mid-share, without a word
        return x + 1

    assert cores.fork_map(fn, list(range(20)), 2) == list(range(1, 21))


def test_an_error_surfaces_as_in_a_serial_map() -> None:
    def fn(x: int) -> int:
        if x == 7:  # in the second process's share (odd items)
            raise ValueError("bad item 7")
        return x

    with pytest.raises(ValueError, match="bad item 7"):
        cores.fork_map(fn, list(range(20)), 2)


def test_kb_jobs_sets_the_number_of_processes(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KB_JOBS", "3")
    assert cores.processes(1, 1000, 2) == 3
    monkeypatch.setenv("KB_JOBS", "1")
    assert cores.processes(10_000, 1000, 4) == 1
    monkeypatch.delenv("KB_JOBS")
    assert cores.processes(10, 1000, 4) == 1
    assert cores.processes(5000, 1000, 4) == min(cores.available(), 4)
