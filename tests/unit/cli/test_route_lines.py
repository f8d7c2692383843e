"""`fleet routes show` and `stats` text for every route kind of the shipped config."""

from __future__ import annotations

from cluster.cli.route_lines import route_lines, stats_lines
from cluster.config import load_config


def shipped_routes() -> dict[str, list[str]]:
    routes = load_config().routing().model_dump(mode="json")["routes"]
    return {route["name"]: route_lines(route) for route in routes}


def test_each_kind_is_described() -> None:
    lines = shipped_routes()
    assert lines["chat"][0] == "chat (split, salt chat)"
    assert any("90.0%" in line for line in lines["chat"])
    assert "  shadow: tiny-mixtral (10% of requests)" in lines["chat"]
    assert lines["by-request"][0] == "by-request (rules, first match wins)"
    assert any("if >= 300 prompt tokens" in line for line in lines["by-request"])
    assert any("if label region=eu" in line for line in lines["by-request"])
    assert lines["support"][0] == "support (semantic, threshold 0.3)"
    assert lines["support"][-1].split() == ["default", "->", "tiny-mistral"]


def test_stats_show_counters_shadows_and_open_circuits() -> None:
    text = "\n".join(
        stats_lines(
            {
                "routes": [
                    {
                        "route": "",
                        "variant": "",
                        "model": "m",
                        "requests": 2,
                        "fallbacks": 0,
                        "failures": 1,
                    }
                ],
                "shadows": [
                    {
                        "route": "chat",
                        "model": "c",
                        "requests": 3,
                        "errors": 1,
                        "dropped": 0,
                        "mean_latency_ms": 41.6,
                        "completion_tokens": 24,
                    }
                ],
                "open_circuits": {"dead": 7.2},
            }
        )
    )
    assert "(by name)" in text
    assert "shadow of chat -> c: 3 sent, 1 failed, 0 dropped, mean 42 ms, 24 tokens out" in text
    assert "circuit open: dead (next probe in 7 s)" in text
