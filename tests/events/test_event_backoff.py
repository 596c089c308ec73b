"""Retries of a failed event delivery back off exponentially, with jitter, capped at an hour."""

from django.test import override_settings

from events.services import backoff


@override_settings(COREGIT_EVENT_RETRY_BASE_SECONDS=10)
def test_backoff_doubles_per_attempt_with_jitter_and_a_cap():
    for attempt, ceiling in ((1, 10), (2, 20), (3, 40), (6, 320)):
        waits = [backoff(attempt) for _ in range(200)]
        assert all(ceiling / 2 <= w <= ceiling for w in waits), (attempt, min(waits), max(waits))
        assert len(set(waits)) > 1  # jittered: retries of many deliveries do not line up
    assert all(1800 <= backoff(30) <= 3600 for _ in range(50))
