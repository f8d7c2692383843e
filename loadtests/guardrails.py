"""Latency of the rules-only guard pipeline on a 4,000-character prompt (target: p50 <= 1 ms,
p99 <= 5 ms).

    .venv/bin/python loadtests/guardrails.py [--iterations 2000]

Times ``GuardPipeline.scan`` in-process with regex and keyword checks, plus the PII and
secrets checks when their modules exist (they are skipped otherwise), each alone and all
together, and the streaming guard over the same text in 20-character deltas.
"""

from __future__ import annotations

import argparse
import importlib

from timing import report, time_calls

from services.guardrails.checks.patterns import KeywordCheck, RegexCheck
from services.guardrails.findings import TextCheck
from services.guardrails.pipeline import GuardedCheck, GuardPipeline
from services.guardrails.stream import StreamGuard

PARAGRAPH = (
    "Quarterly report: revenue rose 12.5% to $4,210,000 on 2024-03-31, while costs fell. "
    "Contact jane.doe@example.com or call +1 415-555-2671 about invoice 88231. "
    "The build on host ci-7 ran `for i in range(10): total += i` in 0.42 s. "
    "Card on file 4111 1111 1111 1111 expires 09/27; ticket TCK-204511 tracks it. "
)
PROMPT = (PARAGRAPH * (4000 // len(PARAGRAPH) + 1))[:4000]

REGEXES = {
    "ticket": r"TCK-\d{6}",
    "internal_host": r"\b[a-z]+-\d+\.corp\.example\b",
    "employee_id": r"\bEMP\d{7}\b",
}
KEYWORDS = ["project falcon", "confidential", "internal only", "do not distribute", "bomb"]


def optional_check(module: str, cls: str) -> TextCheck | None:
    try:
        return getattr(importlib.import_module(module), cls)()
    except (ImportError, AttributeError) as error:
        print(f"skipping {module}.{cls}: {error}")
        return None


def stream_once(pipeline: GuardPipeline) -> None:
    guard = StreamGuard(pipeline)
    for start in range(0, len(PROMPT), 20):
        guard.feed(PROMPT[start : start + 20])
    guard.finish()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--iterations", type=int, default=2000)
    args = parser.parse_args()
    checks: dict[str, TextCheck] = {
        "regex": RegexCheck("regex", REGEXES),
        "keywords": KeywordCheck("keywords", KEYWORDS),
    }
    for name, module, cls in [
        ("pii", "services.guardrails.checks.pii", "PiiCheck"),
        ("secrets", "services.guardrails.checks.secrets", "SecretsCheck"),
    ]:
        check = optional_check(module, cls)
        if check is not None:
            checks[name] = check
    print(f"prompt: {len(PROMPT)} chars, {args.iterations} scans each")
    for name, check in checks.items():
        pipeline = GuardPipeline([GuardedCheck(check, "redact")], "input")
        pipeline.scan(PROMPT)  # warm up
        report(
            f"{name} alone",
            time_calls(lambda p=pipeline: p.scan(PROMPT), args.iterations),
            digits=3,
        )
    combos = {"all": list(checks), "all but pii": [name for name in checks if name != "pii"]}
    for label, names in combos.items():
        combined = GuardPipeline([GuardedCheck(checks[n], "redact") for n in names], "input")
        combined.scan(PROMPT)
        timings = time_calls(lambda p=combined: p.scan(PROMPT), args.iterations)
        report(f"{label} ({', '.join(names)})", timings, digits=3)
    output = GuardPipeline([GuardedCheck(c, "redact") for c in checks.values()], "output")
    streams = max(args.iterations // 20, 20)
    timings = time_calls(lambda: stream_once(output), streams)
    deltas = len(range(0, len(PROMPT), 20)) + 1
    report(
        f"stream, per 20-char delta (window {output.max_match_chars})",
        [t / deltas for t in timings],
        digits=3,
    )


if __name__ == "__main__":
    main()
