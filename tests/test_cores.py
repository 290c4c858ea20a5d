"""`kb.cores`: how many processes each stage uses (one table), and `fork_map`, which must give
what a serial map gives, even when a forked process fails, dies or sends a lot."""

from __future__ import annotations

import os
import time

import pytest

from kb import cores


def slow(x: int) -> tuple[int, int]:
    """Long enough an item that every process gets some before the work runs out."""
    time.sleep(0.002)
    return x * x, os.getpid()


def test_fork_map_keeps_the_order() -> None:
    items = list(range(301))
    results = cores.fork_map(slow, items, 3)
    assert [r[0] for r in results] == [x * x for x in items]
    assert len({pid for _, pid in results}) == 3  # three processes really shared the work


def test_the_workers_take_the_front_and_this_process_the_back() -> None:
    main = os.getpid()
    pids = [pid for _, pid in cores.fork_map(slow, list(range(200)), 2)]
    assert pids[0] != main and pids[-1] == main
    mine = [i for i, pid in enumerate(pids) if pid == main]
    assert mine == list(range(mine[0], 200))  # one run from the meeting point to the end


def test_a_process_that_dies_has_its_share_computed_again() -> None:
    main = os.getpid()

    def fn(x: int) -> int:
        if os.getpid() != main:
            os._exit(3)  # killed mid-share, without a word
        time.sleep(0.001)
        return x + 1

    assert cores.fork_map(fn, list(range(200)), 2) == list(range(1, 201))


def test_an_error_surfaces_as_in_a_serial_map() -> None:
    def fn(x: int) -> int:
        if x == 3:  # in the first batch, which a worker takes
            raise ValueError("bad item 3")
        time.sleep(0.001)
        return x

    with pytest.raises(ValueError, match="bad item 3"):
        cores.fork_map(fn, list(range(200)), 2)


class _OnlyHere:
    """A result that cannot be pickled in a worker: the batch is computed again here."""

    main = os.getpid()

    def __init__(self, x: int) -> None:
        self.x = x

    def __eq__(self, other: object) -> bool:
        return isinstance(other, _OnlyHere) and other.x == self.x

    def __reduce__(self) -> tuple:
        raise TypeError("not picklable")


def test_a_result_that_cannot_be_sent_is_computed_again() -> None:
    def fn(x: int) -> _OnlyHere:
        time.sleep(0.001)
        return _OnlyHere(x)

    assert cores.fork_map(fn, list(range(100)), 2) == [_OnlyHere(x) for x in range(100)]


MB = 1 << 20


def test_results_larger_than_a_pipe_holds_arrive_whole() -> None:
    def fn(x: int) -> str:
        time.sleep(0.01)
        return chr(65 + x % 26) * (3 * MB + x)

    out = cores.fork_map(fn, list(range(40)), 2)
    assert [len(s) for s in out] == [3 * MB + x for x in range(40)]
    assert all(s == chr(65 + x % 26) * len(s) for x, s in enumerate(out))


def test_a_worker_never_waits_for_this_process_to_read() -> None:
    """While this process is busy with its first batch, a worker finishes all of its own, each
    sending megabytes: none of it waits for a read here."""
    main = os.getpid()

    def fn(x: int) -> tuple[float, int, bytes]:
        if os.getpid() == main and x == 63:  # the last item: this process's first batch
            time.sleep(1.5)
        else:
            time.sleep(0.002)
        return time.monotonic(), os.getpid(), bytes(2 * MB)

    out = cores.fork_map(fn, list(range(64)), 2)
    worker = [done for done, pid, _ in out if pid != main]
    assert len(worker) > 32 and max(worker) < out[63][0]


def test_setup_runs_in_each_worker_before_its_work() -> None:
    main = os.getpid()
    seen: list[int] = []

    def setup() -> None:
        seen.append(os.getpid())

    def fn(x: int) -> bool:
        time.sleep(0.002)
        return os.getpid() == main or seen == [os.getpid()]

    assert all(cores.fork_map(fn, list(range(200)), 3, setup=setup))
    assert seen == []  # never here


def test_kb_jobs_sets_the_number_of_processes(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KB_JOBS", "3")
    assert cores.processes(1, 1000, 2) == 3
    monkeypatch.setenv("KB_JOBS", "1")
    assert cores.processes(10_000, 1000, 4) == 1
    monkeypatch.delenv("KB_JOBS")
    assert cores.processes(10, 1000, 4) == 1
    assert cores.processes(5000, 1000, 4) == min(cores.available(), 4)


def test_one_table_decides_for_every_stage(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("KB_JOBS", raising=False)
    assert set(cores.PLANS) == {"load", "emit", "render"}
    for stage, plan in cores.PLANS.items():
        assert cores.jobs(stage, plan.threshold - 1) == 1
        most = plan.most or cores.available()
        assert cores.jobs(stage, plan.threshold) == min(cores.available(), most)
    monkeypatch.setenv("KB_JOBS", "2")
    assert {cores.jobs(stage, 1) for stage in cores.PLANS} == {2}
