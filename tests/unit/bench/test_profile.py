"""The stack-sample breakdown of ``loadtests.bench.profile``: categories, collapsed-stack
parsing, and the split of a hop's CPU time."""

from collections import Counter

from loadtests.bench.profile import (
    breakdown,
    category_of,
    self_samples,
    to_markdown,
)

RAW = [
    "MainThread;run (asyncio/base_events.py:608);_run_once (asyncio/base_events.py:1922);"
    "as_sse (/repo/services/router/sse.py:40) 30",
    "MainThread;run (asyncio/base_events.py:608);dumps (json/__init__.py:231) 10",
    "MainThread;run (asyncio/base_events.py:608);select (selectors.py:468) 60",
    "garbage line without a count",
]


def test_the_innermost_frame_decides_the_category() -> None:
    assert category_of("as_sse (/repo/services/router/sse.py:40)") == "llm-fleet router core"
    assert category_of("check (/repo/services/guardrails/pipeline.py:10)") == (
        "llm-fleet guardrails"
    )
    assert category_of("dumps (json/__init__.py:231)") == "JSON"
    assert category_of("get_objects (ray/_private/worker.py:900)") == (
        "Ray core (actor calls, objects)"
    )
    assert category_of("something (unknown.py:1)") == "other"


def test_collapsed_lines_become_samples_per_category() -> None:
    assert self_samples(RAW) == Counter(
        {"asyncio event loop": 60, "llm-fleet router core": 30, "JSON": 10}
    )


def test_a_hops_cpu_is_split_by_its_samples() -> None:
    profiles = breakdown({"llm-fleet router": 4.0}, {"llm-fleet router": self_samples(RAW)})
    router = next(p for p in profiles if p.hop == "llm-fleet router")
    assert router.shares == {"asyncio event loop": 0.6, "llm-fleet router core": 0.3, "JSON": 0.1}

    table = to_markdown(profiles, chunks_per_request=64)
    assert "| **llm-fleet router** | all | 100% | 4.00 | 62 |" in table
    assert "| | llm-fleet router core | 30% | 1.20 | 19 |" in table
