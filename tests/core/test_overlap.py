"""Overlapped chains: the serial loop's results in its order, failures and early stops that end
every worker, Ctrl-C in the consumer."""

import signal
import threading
import time

import numpy as np
import pytest

from h2h.core.overlap import StepTimes, overlapped


def steps_with_jitter(seed: int) -> list:
    """Three steps that take uneven, random times, so that a chain without ordering would
    deliver out of order."""
    rng = np.random.default_rng(seed)
    delays = rng.uniform(0, 0.004, (3, 50))

    def step(k):
        def run(item):
            time.sleep(delays[k][item[0] % 50])
            return (item[0], item[1] * 3 + k)
        return run

    return [step(k) for k in range(3)]


def test_results_equal_the_serial_loops_in_order():
    items = [(i, i) for i in range(50)]
    serial = list(overlapped(items, steps_with_jitter(0), workers=False))
    assert [i for i, _ in serial] == list(range(50))
    assert list(overlapped(items, steps_with_jitter(0), depth=1)) == serial
    assert list(overlapped(items, steps_with_jitter(1), depth=4)) == serial


def test_a_step_works_on_the_next_frame_while_the_following_step_works_on_this_one():
    first_took_item_1 = threading.Event()
    seen_while_busy = []

    def first(item):
        if item == 1:
            first_took_item_1.set()
        return item

    def second(item):
        if item == 0:  # waits until the first step has moved on to frame 1
            seen_while_busy.append(first_took_item_1.wait(timeout=10))
        return item

    assert list(overlapped(range(3), [first, second])) == [0, 1, 2]
    assert seen_while_busy == [True]


def test_a_failing_step_stops_the_chain_and_raises_in_the_consumer():
    before = threading.active_count()
    delivered = []

    def fail_at_7(item):
        if item == 7:
            raise ValueError("bad frame 7")
        return item

    with pytest.raises(ValueError, match="bad frame 7"):
        for item in overlapped(range(100), [lambda x: x, fail_at_7, lambda x: x]):
            delivered.append(item)
    assert delivered == list(range(7))  # nothing after the failed frame
    assert threading.active_count() == before


def test_a_failing_source_raises_in_the_consumer():
    def frames():
        yield from range(3)
        raise OSError("stream broke")

    got = []
    with pytest.raises(OSError, match="stream broke"):
        for item in overlapped(frames(), [lambda x: x]):
            got.append(item)
    assert got == [0, 1, 2]


def test_stopping_early_joins_the_workers_and_closes_the_source():
    before = threading.active_count()
    closed = threading.Event()

    def frames():
        try:
            yield from range(1000)
        finally:
            closed.set()

    for item in overlapped(frames(), [lambda x: x * 2]):
        if item == 10:
            break
    assert closed.is_set() and threading.active_count() == before


def test_ctrl_c_while_waiting_for_a_slow_step_stops_everything():
    before = threading.active_count()

    def slow(item):
        time.sleep(0.3)
        return item

    timer = threading.Timer(0.5, signal.raise_signal, (signal.SIGINT,))
    timer.start()
    got = []
    with pytest.raises(KeyboardInterrupt):
        for item in overlapped(range(100), [slow]):
            got.append(item)
    timer.join()
    assert 0 < len(got) < 5 and threading.active_count() == before


def test_step_times_add_up_per_step_across_threads():
    times = StepTimes()

    def timed(item):
        with times("work"):
            time.sleep(0.01)
        return item

    list(overlapped(range(10), [timed, timed]))
    assert set(times.seconds) == {"work"} and times.seconds["work"] >= 0.2  # 20 calls of 10 ms
