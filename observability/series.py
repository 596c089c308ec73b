"""The series observed inside processes (API and Celery workers), and the calls that observe them.

prometheus_client runs in multiprocess mode: ``PROMETHEUS_MULTIPROC_DIR`` is set by the settings
(default ``$COREGIT_DATA_DIR/metrics``) before this module is imported, so every process writes
its values to files there and ``/metrics`` sums them; a sync observed in a worker's pool process
shows on a scrape served by any API process of the same machine. Database-derived gauges are not
here: observability/collector.py computes them at scrape time.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Mapping

from prometheus_client import Counter, Gauge, Histogram, values


def _process_id() -> str:
    # Files are named after the writing process. The host name keeps containers that share the
    # directory (docker-compose: web and worker) apart, since their pids start from 1 in each.
    return f"{socket.gethostname().replace('_', '-')}-{os.getpid()}"


if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
    values.ValueClass = values.MultiProcessValue(process_identifier=_process_id)

# Syncs take from well under a second to many minutes (a first import of a big repository).
DURATION_BUCKETS = (0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800, 3600)

RUNS_FINISHED = Counter(
    "coregit_sync_runs_finished", "Sync runs that ended, by final status.",
    ["status", "provider", "direction"])
RUN_DURATION = Histogram(
    "coregit_sync_run_duration_seconds",
    "Seconds a finished run spent per phase: queued (created to started), running (started to "
    "completed) and total (created to completed).",
    ["phase", "provider", "direction"], buckets=DURATION_BUCKETS)
PHASE_DURATION = Histogram(
    "coregit_sync_phase_duration_seconds",
    "Seconds a run spent in one stretch of an execution phase (resolving, fetching, indexing, "
    "writing, uploading, updating refs), observed when the phase ends.",
    ["phase", "provider", "direction"], buckets=(0.01, 0.05, *DURATION_BUCKETS))
WEBHOOK_DELIVERIES = Counter(
    "coregit_webhook_deliveries", "Provider webhook deliveries received, by result.",
    ["provider", "result"])
EVENT_DELIVERY_ATTEMPTS = Counter(
    "coregit_event_delivery_attempts", "Outbound event-hook delivery attempts, by result: "
    "succeeded, retrying (failed, another attempt is due) or failed (no attempt left, or the "
    "hook was disabled).", ["event", "result"])
RATE_LIMIT_REMAINING = Gauge(
    "coregit_provider_rate_limit_remaining",
    "Requests left in the provider's rate-limit window, from its last response per connection.",
    ["provider", "connection"], multiprocess_mode="mostrecent")


def run_finished(*, status: str, provider: str, direction: str,
                 phases: Mapping[str, float]) -> None:
    RUNS_FINISHED.labels(status, provider, direction).inc()
    for phase, seconds in phases.items():
        RUN_DURATION.labels(phase, provider, direction).observe(max(seconds, 0.0))


def run_phase_ended(*, phase: str, provider: str, direction: str, seconds: float) -> None:
    PHASE_DURATION.labels(phase, provider, direction).observe(max(seconds, 0.0))


def webhook_delivery(*, provider: str, status: int, body: Mapping) -> None:
    WEBHOOK_DELIVERIES.labels(provider, delivery_result(status, body)).inc()


def event_delivery_attempted(*, event: str, result: str) -> None:
    EVENT_DELIVERY_ATTEMPTS.labels(event, result).inc()


def delivery_result(status: int, body: Mapping) -> str:
    """queued, duplicate, ignored, bad_signature, rejected (other 4xx) or received (a ping)."""
    word = str(body.get("status", ""))
    if status == 401:
        return "bad_signature"
    if status >= 400:
        return "rejected"
    if word in ("queued", "duplicate"):
        return word
    return "ignored" if word.startswith("ignored") else "received"


def rate_limit_seen(*, provider: str, connection: str, headers: Mapping[str, str]) -> None:
    """GitHub's ``x-ratelimit-remaining`` / GitLab's ``RateLimit-Remaining``, when present."""
    raw = headers.get("x-ratelimit-remaining") or headers.get("ratelimit-remaining")
    if not connection or raw is None:
        return
    try:
        RATE_LIMIT_REMAINING.labels(provider.lower(), connection).set(float(raw))
    except ValueError:
        return  # a malformed header says nothing
