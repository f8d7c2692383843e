"""Human-readable lines for `fleet routes show` and `fleet routes stats`."""

from __future__ import annotations

from collections.abc import Callable


def _split(route: dict) -> list[str]:
    total = sum(v["weight"] for v in route["variants"]) or 1
    lines = [f"{route['name']} (split, salt {route.get('salt') or route['name']})"]
    for variant in route["variants"]:
        share = 100 * variant["weight"] / total
        lines.append(f"  {variant['name']:<16} -> {variant['model']:<24} {share:5.1f}%")
    return lines


def _match_text(match: dict) -> str:
    parts = []
    if match.get("tenants"):
        parts.append(f"tenant in {', '.join(match['tenants'])}")
    for key, value in (match.get("labels") or {}).items():
        parts.append(f"label {key}={value}")
    if match.get("min_prompt_tokens") is not None:
        parts.append(f">= {match['min_prompt_tokens']} prompt tokens")
    if match.get("max_prompt_tokens") is not None:
        parts.append(f"<= {match['max_prompt_tokens']} prompt tokens")
    if match.get("features"):
        parts.append(f"features {', '.join(match['features'])}")
    return "; ".join(parts)


def _rules(route: dict) -> list[str]:
    lines = [f"{route['name']} (rules, first match wins)"]
    for rule in route["rules"]:
        lines.append(f"  {rule['name']:<16} -> {rule['model']:<24} if {_match_text(rule['match'])}")
    lines.append(f"  {'default':<16} -> {route['default']}")
    return lines


def _semantic(route: dict) -> list[str]:
    lines = [f"{route['name']} (semantic, threshold {route['threshold']:g})"]
    for variant in route["variants"]:
        examples = len(variant["utterances"])
        lines.append(f"  {variant['name']:<16} -> {variant['model']:<24} {examples} examples")
    lines.append(f"  {'default':<16} -> {route['default']}")
    return lines


_BY_KIND: dict[str, Callable[[dict], list[str]]] = {
    "split": _split,
    "rules": _rules,
    "semantic": _semantic,
}


def route_lines(route: dict) -> list[str]:
    lines = _BY_KIND[route["kind"]](route)
    if route.get("fallbacks"):
        lines.append(f"  fallbacks: {', '.join(route['fallbacks'])}")
    if route.get("shadow"):
        shadow = route["shadow"]
        lines.append(f"  shadow: {shadow['model']} ({100 * shadow['fraction']:g}% of requests)")
    return lines


def stats_lines(stats: dict) -> list[str]:
    header = ("route", "variant", "model", "requests", "fallbacks", "failures")
    lines = ["{:<16} {:<16} {:<24} {:>9} {:>9} {:>9}".format(*header)]
    for row in stats["routes"]:
        lines.append(
            f"{row['route'] or '(by name)':<16} {row['variant'] or '-':<16} {row['model']:<24} "
            f"{row['requests']:>9} {row['fallbacks']:>9} {row['failures']:>9}"
        )
    for row in stats["shadows"]:
        lines.append(
            f"shadow of {row['route']} -> {row['model']}: {row['requests']} sent, "
            f"{row['errors']} failed, {row['dropped']} dropped, "
            f"mean {row['mean_latency_ms']:.0f} ms, {row['completion_tokens']} tokens out"
        )
    for model, retry_in_s in stats.get("open_circuits", {}).items():
        lines.append(f"circuit open: {model} (next probe in {retry_in_s:.0f} s)")
    return lines
