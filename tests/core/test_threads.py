"""Choosing a step's thread count by measured time: the faster count wins, and a change in
which count is faster is noticed."""

from h2h.core.threads import FasterThreads, thread_candidates


class FakeMachine:
    """A step whose time depends on the thread count set before it, by a table that a test
    can change (the other core becoming busy)."""

    def __init__(self, seconds: dict[int, float]) -> None:
        self.seconds = seconds
        self.threads = 0
        self.clock = 0.0
        self.used: list[int] = []

    def set_threads(self, count: int) -> None:
        self.threads = count

    def step(self) -> int:
        self.clock += self.seconds[self.threads]
        self.used.append(self.threads)
        return self.threads


def test_candidates_are_powers_of_two_up_to_the_cores():
    assert thread_candidates(1) == (1,)
    assert thread_candidates(2) == (1, 2)
    assert thread_candidates(6) == (1, 2, 4, 6)


def test_the_faster_count_is_kept_and_the_others_are_tried_again(monkeypatch):
    machine = FakeMachine({1: 0.10, 2: 0.06})
    monkeypatch.setattr("h2h.core.threads.time.perf_counter", lambda: machine.clock)
    choose = FasterThreads(machine.set_threads, candidates=(1, 2), trials=3, recheck=20)
    for _ in range(20):
        choose(machine.step)
    # One warm-up call, three trials each, then the faster count.
    assert machine.used[:7] == [1, 1, 1, 1, 2, 2, 2] and set(machine.used[7:20]) == {2}
    machine.seconds = {1: 0.10, 2: 0.30}  # the other core got busy: two threads collapse
    for _ in range(40):
        choose(machine.step)
    assert machine.used[20:23] == [1, 1, 1]  # the recheck tries one thread again
    assert set(machine.used[-10:]) == {1}
    assert choose.best == 1
