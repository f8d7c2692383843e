"""deploy/grafana/llm-fleet.json: importable, and its PromQL only names metrics the cluster exports.

Ray's metrics agent prefixes every ``ray.util.metrics`` name with ``ray_``, appends ``_total`` to
counters and exports histograms as ``_bucket``/``_sum``/``_count``; the allow-list below holds
those final names, with the labels each carries (``None``: labels not pinned down here).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

import pytest

from tests.unit.deploy.conftest import ROOT

DASHBOARD = ROOT / "deploy" / "grafana" / "llm-fleet.json"
DATASOURCE = {"type": "prometheus", "uid": "${DS_PROMETHEUS}"}
TEMPLATE_VARIABLES = ("model", "route", "variant")

# Labels Ray's metrics agent adds to every metric.
RAY_LABELS = frozenset({"Component", "NodeAddress", "SessionName", "Version", "WorkerId"})

COUNTERS: dict[str, frozenset[str] | None] = {
    "ray_llm_fleet_requests_total": frozenset(
        {"transport", "endpoint", "model", "route", "variant", "status"}
    ),
    "ray_llm_fleet_input_tokens_total": frozenset({"transport", "model", "route", "variant"}),
    "ray_llm_fleet_output_tokens_total": frozenset({"transport", "model", "route", "variant"}),
    "ray_llm_fleet_guardrail_decisions_total": frozenset(
        {"route", "direction", "check", "category", "action"}
    ),
    "ray_llm_fleet_fallbacks_total": frozenset({"route", "from_model", "to_model"}),
    "ray_llm_fleet_shadow_requests_total": frozenset({"route", "model", "status"}),
}
HISTOGRAMS: dict[str, frozenset[str] | None] = {
    "ray_llm_fleet_request_duration_seconds": frozenset(
        {"transport", "model", "route", "variant", "status"}
    ),
    "ray_llm_fleet_time_to_first_token_seconds": frozenset(
        {"transport", "model", "route", "variant"}
    ),
    "ray_llm_fleet_time_per_output_token_seconds": frozenset(
        {"transport", "model", "route", "variant"}
    ),
}
# Ray Serve and Ray Serve LLM (vLLM engine) metrics.
PLATFORM: dict[str, frozenset[str] | None] = {
    "ray_serve_num_http_requests_total": None,
    "ray_serve_deployment_replica_healthy": frozenset({"deployment", "application"}),
    "ray_serve_replica_processing_queries": frozenset({"deployment"}),
    "ray_vllm_num_requests_running": frozenset({"model_name"}),
    "ray_vllm_num_requests_waiting": frozenset({"model_name"}),
    "ray_vllm_kv_cache_usage_perc": frozenset({"model_name"}),
}


def _with_series(histograms: dict[str, frozenset[str] | None]) -> dict[str, frozenset[str] | None]:
    series: dict[str, frozenset[str] | None] = {}
    for name, labels in histograms.items():
        series[name] = labels
        series[f"{name}_sum"] = labels
        series[f"{name}_count"] = labels
        series[f"{name}_bucket"] = None if labels is None else labels | {"le"}
    return series


ALLOWED: dict[str, frozenset[str] | None] = {**COUNTERS, **_with_series(HISTOGRAMS), **PLATFORM}
FLEET_METRICS = (*COUNTERS, *HISTOGRAMS)

# PromQL words that are not metric names: functions are recognised by the "(" that follows them.
KEYWORDS = frozenset(
    {"by", "without", "on", "ignoring", "group_left", "group_right", "bool", "offset"}
    | {"and", "or", "unless", "atan2", "inf", "nan"}
)
STRING = re.compile(r'"(?:[^"\\]|\\.)*"|\'(?:[^\'\\]|\\.)*\'|`[^`]*`')
GROUPING = re.compile(r"\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^()]*\)")
IDENTIFIER = re.compile(r"(?<![\w.$])([A-Za-z_:][\w:]*)(\s*\()?")
SELECTOR = re.compile(r"([A-Za-z_:][\w:]*)\s*\{([^{}]*)\}")
MATCHER = re.compile(r"\s*([A-Za-z_]\w*)\s*(=~|!~|!=|=)\s*$")


def _load() -> dict[str, Any]:
    return json.loads(DASHBOARD.read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def dashboard() -> dict[str, Any]:
    return _load()


def _panels(dashboard: dict[str, Any]) -> Iterator[dict[str, Any]]:
    for panel in dashboard["panels"]:
        yield panel
        yield from panel.get("panels", [])  # collapsed rows hold their panels


def _exprs() -> list[tuple[str, str]]:
    return [
        (f"{panel['title']} [{target.get('refId')}]", target["expr"])
        for panel in _panels(_load())
        for target in panel.get("targets", [])
    ]


def metric_names(expr: str) -> set[str]:
    """The metric names an expression selects: identifiers outside strings, label matchers,
    range/offset brackets and grouping clauses, that are neither functions nor keywords."""
    text = STRING.sub('""', expr)
    text = re.sub(r"\{[^{}]*\}", " ", text)
    text = re.sub(r"\[[^\[\]]*\]", " ", text)
    text = GROUPING.sub(" ", text)
    names = set()
    for match in IDENTIFIER.finditer(text):
        name, call = match.groups()
        if call or name.lower() in KEYWORDS:
            continue
        names.add(name)
    return names


def selector_labels(expr: str) -> list[tuple[str, set[str]]]:
    """(metric, label names) for each ``metric{...}`` selector in the expression."""
    masked = STRING.sub(lambda m: '"' + "x" * (len(m.group()) - 2) + '"', expr)
    found = []
    for match in SELECTOR.finditer(masked):
        labels = set()
        for matcher in re.split(r'"x*"\s*,?', match.group(2)):
            if matcher.strip():
                label = MATCHER.match(matcher)
                assert label, f"unparsed matcher {matcher!r} in {expr!r}"
                labels.add(label.group(1))
        found.append((match.group(1), labels))
    return found


def balanced(expr: str) -> bool:
    pairs = {")": "(", "]": "[", "}": "{"}
    stack: list[str] = []
    text = STRING.sub("", expr)
    if any(quote in text for quote in "\"'`"):
        return False
    for char in text:
        if char in "([{":
            stack.append(char)
        elif char in pairs and (not stack or stack.pop() != pairs[char]):
            return False
    return not stack


def test_is_an_importable_dashboard(dashboard: dict[str, Any]) -> None:
    assert dashboard["schemaVersion"] == 39
    assert dashboard["title"] and dashboard["uid"]
    inputs = {entry["name"]: entry for entry in dashboard["__inputs"]}
    assert inputs["DS_PROMETHEUS"]["type"] == "datasource"
    assert inputs["DS_PROMETHEUS"]["pluginId"] == "prometheus"
    assert dashboard["panels"], "no panels"


def test_panel_ids_are_unique(dashboard: dict[str, Any]) -> None:
    ids = [panel["id"] for panel in _panels(dashboard)]
    assert all(isinstance(panel_id, int) for panel_id in ids)
    assert len(ids) == len(set(ids)), sorted(ids)


def test_every_panel_and_target_uses_the_prometheus_input(dashboard: dict[str, Any]) -> None:
    for panel in _panels(dashboard):
        assert panel.get("datasource") == DATASOURCE, panel["title"]
        for target in panel.get("targets", []):
            assert target.get("datasource", DATASOURCE) == DATASOURCE, panel["title"]
            assert target.get("expr"), f"{panel['title']}: target without expr"


def test_panels_are_timeseries_with_units(dashboard: dict[str, Any]) -> None:
    for panel in _panels(dashboard):
        if panel["type"] == "row":
            continue
        assert panel["type"] == "timeseries", panel["title"]
        assert panel["fieldConfig"]["defaults"]["unit"], panel["title"]
        assert panel["targets"], panel["title"]


def test_grid_positions_do_not_overlap(dashboard: dict[str, Any]) -> None:
    taken: dict[tuple[int, int], str] = {}
    for panel in dashboard["panels"]:
        grid = panel["gridPos"]
        assert grid["x"] >= 0 and grid["w"] > 0 and grid["h"] > 0, panel["title"]
        assert grid["x"] + grid["w"] <= 24, panel["title"]
        for x in range(grid["x"], grid["x"] + grid["w"]):
            for y in range(grid["y"], grid["y"] + grid["h"]):
                assert (x, y) not in taken, f"{panel['title']} overlaps {taken[(x, y)]}"
                taken[(x, y)] = panel["title"]


def test_template_variables(dashboard: dict[str, Any]) -> None:
    variables = {var["name"]: var for var in dashboard["templating"]["list"]}
    assert set(TEMPLATE_VARIABLES) <= set(variables)
    for name in TEMPLATE_VARIABLES:
        var = variables[name]
        query = var["query"] if isinstance(var["query"], str) else var["query"]["query"]
        assert query == f"label_values(ray_llm_fleet_requests_total, {name})"
        assert var["datasource"] == DATASOURCE
        assert var["multi"] and var["includeAll"] and var["allValue"] == ".*", name


@pytest.mark.parametrize(("where", "expr"), _exprs())
def test_expr_is_well_formed(where: str, expr: str) -> None:
    assert balanced(expr), f"{where}: unbalanced brackets or quotes in {expr!r}"
    names = metric_names(expr)
    assert names, f"{where}: no metric in {expr!r}"
    unknown = names - set(ALLOWED)
    assert not unknown, f"{where}: metrics not in the allow-list: {sorted(unknown)}"


@pytest.mark.parametrize(("where", "expr"), _exprs())
def test_expr_matches_only_labels_the_metric_has(where: str, expr: str) -> None:
    for metric, labels in selector_labels(expr):
        known = ALLOWED.get(metric)
        if known is not None:
            unknown = labels - known - RAY_LABELS
            assert not unknown, f"{where}: {metric} has no label(s) {sorted(unknown)}"


@pytest.mark.parametrize(("where", "expr"), _exprs())
def test_expr_filters_by_the_template_variables(where: str, expr: str) -> None:
    """Every selector on a metric carrying model/route/variant is filtered by that variable."""
    for metric, _ in selector_labels(expr):
        labels = ALLOWED.get(metric) or frozenset()
        for name in TEMPLATE_VARIABLES:
            if name in labels:
                assert f'{name}=~"${name}"' in expr, f"{where}: {metric} not filtered by ${name}"


def test_every_fleet_metric_is_charted() -> None:
    used = set().union(*(metric_names(expr) for _, expr in _exprs()))
    for metric in FLEET_METRICS:
        series = {metric} if metric in COUNTERS else set(_with_series({metric: None}))
        assert used & series, f"no panel uses {metric}"


@pytest.mark.parametrize(
    ("expr", "expected"),
    [
        (
            'histogram_quantile(0.9, sum by (le, model) (rate(a_bucket{model=~"x"}[5m])))',
            {"a_bucket"},
        ),
        (
            "sum by (m, s) (rate(a[5m])) / ignoring (s) group_left sum by (m) (rate(b[5m]))",
            {"a", "b"},
        ),
        ('max(c{name="sum(d)"}) > bool 1 and on (x) e offset 5m', {"c", "e"}),
    ],
)
def test_metric_name_extraction(expr: str, expected: set[str]) -> None:
    assert metric_names(expr) == expected


@pytest.mark.parametrize(
    ("expr", "ok"),
    [('sum(rate(a{b="("}[5m]))', True), ("sum(rate(a[5m])", False), ('a{b=~"x"]', False)],
)
def test_balance_check(expr: str, ok: bool) -> None:
    assert balanced(expr) is ok
