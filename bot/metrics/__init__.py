"""Prometheus metrics (prometheus-client) and the small HTTP server with /healthz and /metrics."""
