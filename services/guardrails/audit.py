"""Every guard decision as a structured log event and a counter; never the text itself.

Events and counters are built from findings (check, category, offsets) and failures only,
so no code path here can see the scanned text.
"""

from __future__ import annotations

import json
import logging
from collections import Counter
from dataclasses import dataclass

from services.guardrails.outcome import CHECK_FAILED, GuardOutcome
from services.telemetry.metrics import Metrics, NoMetrics

logger = logging.getLogger("llm_fleet.guardrails.audit")

Key = tuple[str, str, str, str]
"""(route, check, category, action)."""


@dataclass(frozen=True)
class AuditContext:
    """Who and what a decision was about."""

    request_id: str
    route: str
    """The route or model the caller named."""
    tenant: str | None = None
    policies: tuple[str, ...] = ()
    """The guard policies the request ran."""
    requested: tuple[str, ...] = ()
    """Those of ``policies`` the request asked for itself (``x-fleet-guard-policy``)."""


class GuardStats:
    """In-process decision counters of one replica; an exporter reads ``snapshot()``."""

    def __init__(self) -> None:
        self._counts: Counter[Key] = Counter()

    def add(self, key: Key, count: int = 1) -> None:
        self._counts[key] += count

    def snapshot(self) -> dict[str, list[dict[str, object]]]:
        return {
            "decisions": [
                {
                    "route": route,
                    "check": check,
                    "category": category,
                    "action": action,
                    "count": count,
                }
                for (route, check, category, action), count in sorted(self._counts.items())
            ]
        }


def decision_events(outcome: GuardOutcome, context: AuditContext) -> list[dict[str, object]]:
    """One event per (check, category, action) of ``outcome``, with how often it hit."""
    groups: Counter[tuple[str, str, str]] = Counter()
    if outcome.blocked_by is not None:
        groups[(outcome.blocked_by.check, outcome.blocked_by.category, "block")] += 1
    for finding in outcome.redactions:
        groups[(finding.check, finding.category, "redact")] += 1
    for finding in outcome.flags:
        groups[(finding.check, finding.category, "flag")] += 1
    for failure in outcome.failures:
        groups[(failure.check, CHECK_FAILED, f"fail_{failure.fail}")] += 1
    return [
        {
            "event": "guardrail_decision",
            "request_id": context.request_id,
            "route": context.route,
            "tenant": context.tenant,
            "policies": list(context.policies),
            "requested_policies": list(context.requested),
            "direction": outcome.direction,
            "check": check,
            "category": category,
            "action": action,
            "count": count,
        }
        for (check, category, action), count in sorted(groups.items())
    ]


class GuardAudit:
    """Logs and counts the decisions of each guarded text."""

    def __init__(self, stats: GuardStats | None = None, metrics: Metrics | None = None) -> None:
        self.stats = stats or GuardStats()
        self.metrics = metrics or NoMetrics()

    def record(self, outcome: GuardOutcome, context: AuditContext) -> list[dict[str, object]]:
        events = decision_events(outcome, context)
        for event in events:
            action = str(event["action"])
            key = (context.route, str(event["check"]), str(event["category"]), action)
            count = int(event["count"])  # type: ignore[call-overload]
            self.stats.add(key, count)
            self.metrics.guardrail_decision(
                route=context.route,
                direction=outcome.direction,
                check=key[1],
                category=key[2],
                action=action,
                count=count,
            )
            level = logging.INFO if action in ("redact", "flag") else logging.WARNING
            # The message is the JSON line for plain handlers; `guardrail` the dict for
            # structured ones.
            logger.log(level, "%s", json.dumps(event, sort_keys=True), extra={"guardrail": event})
        return events
