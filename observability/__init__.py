"""Operational visibility: Prometheus series, the scrape-time collector and ``/metrics``."""
