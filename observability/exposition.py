"""What a scrape returns: the processes' series (multiprocess files) plus the database gauges."""

from __future__ import annotations

import os

from prometheus_client import REGISTRY, CollectorRegistry, multiprocess
from prometheus_client.exposition import choose_encoder

from observability.collector import DatabaseCollector


class _ThisProcess:
    """Single-process mode (no PROMETHEUS_MULTIPROC_DIR): this process's own series."""

    def collect(self):
        return REGISTRY.collect()


def metrics_render(*, accept: str) -> tuple[bytes, str]:
    """The exposition in the format ``accept`` asks for (Prometheus text, or OpenMetrics)."""
    registry = CollectorRegistry()
    registry.register(DatabaseCollector())
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        multiprocess.MultiProcessCollector(registry)
    else:
        registry.register(_ThisProcess())
    encode, content_type = choose_encoder(accept)
    return encode(registry), content_type
