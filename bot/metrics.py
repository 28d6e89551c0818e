"""Prometheus metrics (optional): what the poller, matcher and delivery did, for dashboards and alerts.

The collectors always count (cheaply); the HTTP endpoint starts only when `metrics_port` is configured.
"""

from __future__ import annotations

from prometheus_client import Counter, Histogram, start_http_server

POLLS = Counter("newsbot_polls_total", "Feed polls by outcome", ["status"])
FEED_ERRORS = Counter("newsbot_feed_errors_total", "Feed polls that failed")
NEW_ENTRIES = Counter("newsbot_entries_total", "New entries stored")
MATCH_SECONDS = Histogram(
    "newsbot_match_seconds", "Time to match one poll's new entries", buckets=(0.001, 0.01, 0.05, 0.1, 0.5, 1, 5)
)
ALERTS = Counter("newsbot_alerts_total", "Alerts raised by topic", ["rule"])
STAGE_SECONDS = Counter(
    "newsbot_stage_seconds_total",
    "Seconds spent per stage: read (match, story features, credits; CPU), meaning (embedding entries that "
    "may alert and open a story by their words, part of file; wall), file (story index; CPU), "
    "alerts (deciding and queueing a batch's alerts; wall), ingest (a batch's whole transaction; wall)",
    ["stage"],
)
DELIVERY_LATENCY = Histogram(
    "newsbot_delivery_latency_seconds",
    "From a story's publication to its alert being delivered",
    ["sink"],
    buckets=(30, 60, 120, 300, 600, 1800, 3600, 4 * 3600, 24 * 3600),
)


def serve_metrics(port: int) -> None:
    """Expose /metrics on 127.0.0.1:`port` (a daemon thread; it ends with the process)."""
    start_http_server(port, addr="127.0.0.1")
