"""Observability of the request path: OpenTelemetry traces, Prometheus metrics (through
Ray's metrics agent) and structured JSON logs.

``config`` is what the cluster config says and the environment it becomes in every Ray
process; ``tracing`` plugs our exporters into Ray Serve's own tracing; ``metrics`` defines
the instruments; ``request`` follows one request from arrival to its last byte; ``logs``
formats every log line with its request and trace ids.
"""
