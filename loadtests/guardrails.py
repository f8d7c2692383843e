"""Latency of the guard pipeline on a 4,000-character prompt: rules only (target: p50 <= 1 ms,
p99 <= 5 ms) and with the embedding checks (target: p50 <= 20 ms).

    cd loadtests && ../.venv/bin/python guardrails.py [--iterations 2000] [--embedding 100]

Times ``GuardPipeline.scan`` in-process with regex, keyword, PII and secrets checks, each
alone and all together; the streaming guard over the same text in 20-character deltas; then
the whole input pipeline with the injection and banned-topics checks, which embed the
prompt's windows with all-MiniLM-L6-v2 (in-process, one thread, as one embedder replica
runs it; through the deployment a Ray handle call adds ~3-5 ms).
"""

from __future__ import annotations

import argparse
import asyncio
import importlib

from timing import report, time_calls

from services.embedder.examples import InProcessEmbedder
from services.guardrails.check_config import InjectionCheckConfig, TopicsCheckConfig
from services.guardrails.checks.injection import InjectionCheck
from services.guardrails.checks.patterns import KeywordCheck, RegexCheck
from services.guardrails.checks.topics import TopicsCheck
from services.guardrails.checks.windows import SharedEmbedder
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


TOPICS = {
    "weapons": [
        "how to build a bomb or an explosive device",
        "making a gun or untraceable firearm at home",
        "synthesising a nerve agent or chemical weapon",
    ]
}


async def stream_once(pipeline: GuardPipeline) -> None:
    guard = StreamGuard(pipeline)
    for start in range(0, len(PROMPT), 20):
        await guard.feed(PROMPT[start : start + 20])
    await guard.finish()


def embedding_pipeline(rules: list[TextCheck]) -> GuardPipeline:
    from services.embedder.model import SentenceEmbedder

    # One cache for both checks, as the router gives them: each window is embedded once.
    embedder = SharedEmbedder(InProcessEmbedder(SentenceEmbedder(threads=1)), max_entries=0)
    injection = InjectionCheck.from_config(InjectionCheckConfig(), embedder)
    topics = TopicsCheck.from_config(TopicsCheckConfig(topics=TOPICS), embedder)
    checks = [GuardedCheck(check, "redact") for check in rules]
    checks += [GuardedCheck(check, timeout_ms=10_000) for check in (injection, topics)]
    return GuardPipeline(checks, "input")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--iterations", type=int, default=2000)
    parser.add_argument("--embedding", type=int, default=100, help="scans with embeddings")
    args = parser.parse_args()
    loop = asyncio.new_event_loop()
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
    timings = time_calls(lambda: loop.run_until_complete(stream_once(output)), streams)
    deltas = len(range(0, len(PROMPT), 20)) + 1
    report(
        f"stream, per 20-char delta (window {output.max_match_chars})",
        [t / deltas for t in timings],
        digits=3,
    )
    if args.embedding:
        embedded = embedding_pipeline(list(checks.values()))
        loop.run_until_complete(embedded.scan_async(PROMPT))  # embeds the examples once
        timings = time_calls(
            lambda: loop.run_until_complete(embedded.scan_async(PROMPT)), args.embedding
        )
        report("all + injection + topics (embedder in-process)", timings)


if __name__ == "__main__":
    main()
