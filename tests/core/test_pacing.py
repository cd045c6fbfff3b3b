"""Just-in-time start of the first of two overlapped steps."""

import threading
import time

import pytest

from h2h.core.pacing import JustInTime


def test_the_first_step_starts_so_that_it_ends_when_the_second_is_free(monkeypatch):
    clock = [100.0]
    monkeypatch.setattr("h2h.core.pacing.time.perf_counter", lambda: clock[0])
    pacer = JustInTime(smoothing=0.5)
    assert pacer.delay() == 0  # nothing measured yet: start at once
    pacer.first_done(0.02)
    pacer.second_started()
    clock[0] += 0.05
    pacer.second_done(0.05)
    assert pacer.delay() == 0  # the second step is free
    pacer.second_started()  # it takes the next frame: busy for about 0.05 s
    assert pacer.delay() == pytest.approx(0.05 - 0.02)
    clock[0] += 0.01
    assert pacer.delay() == pytest.approx(0.02)
    pacer.first_done(0.04)  # moving averages: 0.03 for the first step
    assert pacer.first == pytest.approx(0.03) and pacer.delay() == pytest.approx(0.01)


def test_the_first_step_waits_while_its_last_result_waits_for_the_second():
    pacer = JustInTime()
    pacer.first_done(0.01)  # a result is ready; the second step has not taken it
    taken = threading.Timer(0.2, pacer.second_started)
    taken.start()
    started = time.perf_counter()
    pacer.wait()
    assert time.perf_counter() - started >= 0.2  # not before the second step took it
    taken.join()
