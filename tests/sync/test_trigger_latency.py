"""What makes a small trigger answer soon after its run ends (issue 9, point 2), asserted on
behaviour rather than on timings: the embedded worker's broker looks for messages often, and a
``wait: true`` trigger answers within a tenth of the run's time after it ends, with few reads.
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from sync import apis
from tests.support.make_run import ROOT, terminal_env


def test_embedded_worker_polls_its_filesystem_broker_often(tmp_path):
    """The transport the worker really builds (not only the settings dict) has the short poll."""
    code = ("import json; from workers.celery import app; c = app.connection_for_read(); "
            "t = c.transport; print(json.dumps([f'{type(t).__module__}.{type(t).__name__}', "
            "t.polling_interval]))")
    env = terminal_env(tmp_path, COREGIT_DATA_DIR=str(tmp_path / "data"), DEBUG="true")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, check=True,
                         capture_output=True, text=True, timeout=300).stdout
    transport, interval = json.loads(out.strip().splitlines()[-1])
    assert transport == "workers.broker_files.Transport"  # messages written whole
    assert interval <= 0.1  # kombu's default is 1 s: a trigger waited up to that for pickup


class _FakeClock:
    def __init__(self) -> None:
        self.now = 0.0

    def monotonic(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        assert seconds >= 0
        self.now += seconds


class _Run:
    """A run row that finishes at ``ends_at`` on the fake clock, counting its reads."""

    def __init__(self, clock: _FakeClock, ends_at: float) -> None:
        self.clock, self.ends_at, self.finished, self.reads = clock, ends_at, False, 0

    def refresh_from_db(self) -> None:
        self.reads += 1
        self.finished = self.clock.now >= self.ends_at


@pytest.fixture
def clock(monkeypatch):
    fake = _FakeClock()
    monkeypatch.setattr(apis.time, "monotonic", fake.monotonic)
    monkeypatch.setattr(apis.time, "sleep", fake.sleep)
    return fake


@pytest.mark.parametrize("ends_at", [0.004, 0.09, 0.3, 0.68, 1.1, 3.3, 17.0])
def test_wait_answers_within_a_tenth_of_the_run_time_after_it_ends(clock, ends_at):
    run = _Run(clock, ends_at)
    assert apis._wait_for(run, 25) is run
    assert run.finished
    assert clock.now <= ends_at * 1.1 + 0.01
    assert run.reads <= 100  # a few dozen primary-key reads even for a long run


def test_wait_gives_up_at_the_deadline_with_bounded_reads(clock):
    run = _Run(clock, float("inf"))
    apis._wait_for(run, 25)
    assert not run.finished
    assert clock.now == pytest.approx(25)  # the last pause is cut to the deadline
    assert run.reads <= 100
