"""Prometheus metrics of the HTTP layer and of the background workers."""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

REQUESTS = Counter(
    "rapport_http_requests_total", "HTTP requests answered", ["method", "route", "status"]
)
LATENCY = Histogram(
    "rapport_http_request_duration_seconds",
    "HTTP request latency",
    ["method", "route"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
)
IN_FLIGHT = Gauge("rapport_http_requests_in_flight", "HTTP requests being served")
WEBHOOK_ATTEMPTS = Counter(
    "rapport_webhook_attempts_total", "Webhook delivery attempts", ["outcome"]
)
SCHEDULER_TICKS = Counter("rapport_scheduler_ticks_total", "Scheduler job runs", ["job", "result"])
TOUCHES_EMITTED = Counter("rapport_touches_emitted_total", "Touches marked due by the scheduler")
