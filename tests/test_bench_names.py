"""Benchmarks share the PostgreSQL and Redis servers with other sessions: the databases they
drop (WITH FORCE) and the queues they purge or count carry the session's COREGIT_TEST_ID."""

import importlib

import pytest


def _names(monkeypatch, test_id: str) -> set[str]:
    import bench.fleet
    import bench.service

    monkeypatch.setenv("COREGIT_TEST_ID", test_id)
    service = importlib.reload(bench.service)
    fleet = importlib.reload(bench.fleet)
    return {service.PG_DB, service.QUEUE, fleet.QUEUE}


@pytest.fixture
def restore_modules():
    yield
    import bench.fleet
    import bench.service

    importlib.reload(bench.service)  # monkeypatch has put COREGIT_TEST_ID back by now
    importlib.reload(bench.fleet)


def test_two_sessions_never_share_a_benchmark_database_or_queue(monkeypatch, restore_modules):
    first, second = _names(monkeypatch, "alpha"), _names(monkeypatch, "Beta-2")
    assert len(first) == len(second) == 3 and not first & second
    assert all("alpha" in name for name in first)
    # Used unquoted in SQL and in Redis keys: plain lowercase words.
    assert all(name.replace("_", "").replace("-", "").isalnum() and name == name.lower()
               for name in first | second)
