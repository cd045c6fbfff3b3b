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


def run(choose, machine, calls):
    for _ in range(calls):
        choose(machine.step)


def test_one_thread_first_then_two_when_they_prove_faster(monkeypatch):
    machine = FakeMachine({1: 0.10, 2: 0.06})  # an idle machine
    monkeypatch.setattr("h2h.core.threads.time.perf_counter", lambda: machine.clock)
    choose = FasterThreads(machine.set_threads, candidates=(1, 2), trials=3, first_check=10)
    run(choose, machine, 30)
    # Ten calls with one thread (the first warms up), one trial of two that wins, two more to
    # confirm, then two, with one call of one thread now and then (it loses at once).
    assert machine.used[:12] == [1] * 9 + [2, 2, 2]
    assert machine.used[12:30] == [2] * 9 + [1] + [2] * 8 and choose.best == 2
    machine.seconds = {1: 0.10, 2: 0.40}  # the other core got busy: two threads collapse
    run(choose, machine, 30)
    collapse = machine.used[30:]
    # The slowdown shows in the median of the last three calls, one thread is tried at once,
    # wins and takes over; two threads get a single losing call now and then.
    assert collapse[:5] == [2, 2, 1, 1, 1] and choose.best == 1
    assert collapse.count(2) <= 3


def test_on_a_busy_machine_a_losing_trial_costs_one_call_at_growing_intervals(monkeypatch):
    machine = FakeMachine({1: 0.10, 2: 1.00})
    monkeypatch.setattr("h2h.core.threads.time.perf_counter", lambda: machine.clock)
    choose = FasterThreads(machine.set_threads, candidates=(1, 2), trials=3, first_check=10,
                           max_interval=80)
    run(choose, machine, 400)
    trials = [index + 1 for index, count in enumerate(machine.used) if count == 2]
    assert trials == [10, 30, 70, 150, 230, 310, 390]  # intervals 20, 40, 80, then at most 80
    assert choose.best == 1
