"""Latency of the guard pipeline on 4,000-character prompts: rules only (target: p50 <= 1 ms,
p99 <= 5 ms) and with the embedding checks (target: p50 <= 20 ms).

    cd loadtests && ../.venv/bin/python guardrails.py [--iterations 2000] [--embedding 100]

Times ``GuardPipeline`` in-process with the regex, keyword, PII and secrets checks, each alone
and all together, on two workloads: one prompt scanned again and again (a chat resending its
history; the PII check's caches are warm) and a fresh prompt every scan (numbers, e-mails,
phones and cards all different: the caches are cold). Then the streaming guard over a prompt
in 20-character deltas, and the whole input pipeline with the injection and banned-topics
checks, which embed the prompt's windows with all-MiniLM-L6-v2 (in-process, one thread, as
one embedder replica runs it; through the deployment a Ray handle call adds ~3-5 ms).
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import random

from timing import report, time_calls

from services.embedder.examples import InProcessEmbedder
from services.embedder.model import SentenceEmbedder
from services.guardrails.check_config import InjectionCheckConfig, TopicsCheckConfig
from services.guardrails.checks.injection import InjectionCheck
from services.guardrails.checks.patterns import KeywordCheck, RegexCheck
from services.guardrails.checks.pii import PiiCheck
from services.guardrails.checks.secrets import SecretsCheck
from services.guardrails.checks.topics import TopicsCheck
from services.guardrails.checks.windows import SharedEmbedder
from services.guardrails.findings import TextCheck
from services.guardrails.pipeline import GuardedCheck, GuardPipeline
from services.guardrails.stream import StreamGuard

PARAGRAPH = (
    "Quarterly report: revenue rose {pct}% to ${amount:,} on 2024-{month:02d}-{day:02d}, while "
    "costs fell. Contact {name}@example.com or call +1 415-555-{line:04d} about invoice "
    "{invoice}. The build on host ci-{host} ran `for i in range({n}): total += i` in 0.{ms} s. "
    "Card on file 4111 1111 1111 {card:04d} expires {month:02d}/27; ticket TCK-{ticket} "
    "tracks it. "
)
NAMES = ["jane.doe", "li.wei", "a.kowalski", "sam", "o.brien", "m.garcia"]
PROMPT_CHARS = 4000

REGEXES = {
    "ticket": r"TCK-\d{6}",
    "internal_host": r"\b[a-z]+-\d+\.corp\.example\b",
    "employee_id": r"\bEMP\d{7}\b",
}
KEYWORDS = ["project falcon", "confidential", "internal only", "do not distribute", "bomb"]
TOPICS = {
    "weapons": [
        "how to build a bomb or an explosive device",
        "making a gun or untraceable firearm at home",
        "synthesising a nerve agent or chemical weapon",
    ]
}


def paragraph(rng: random.Random) -> str:
    return PARAGRAPH.format(
        pct=rng.randint(1, 99),
        amount=rng.randint(10_000, 9_999_999),
        month=rng.randint(1, 12),
        day=rng.randint(1, 28),
        name=rng.choice(NAMES) + str(rng.randint(1, 999)),
        line=rng.randint(0, 9999),
        invoice=rng.randint(10_000, 99_999),
        host=rng.randint(1, 99),
        n=rng.randint(2, 500),
        ms=rng.randint(10, 99),
        card=rng.randint(0, 9999),
        ticket=rng.randint(100_000, 999_999),
    )


def prompt(rng: random.Random) -> str:
    text = ""
    while len(text) < PROMPT_CHARS:
        text += paragraph(rng)
    return text[:PROMPT_CHARS]


def rule_checks() -> dict[str, TextCheck]:
    return {
        "regex": RegexCheck("regex", REGEXES),
        "keywords": KeywordCheck("keywords", KEYWORDS),
        "pii": PiiCheck(),
        "secrets": SecretsCheck(),
    }


def time_scans(pipeline: GuardPipeline, prompts: list[str]) -> list[float]:
    pipeline.scan(prompts[0])  # warm up: compiled patterns, loaded phone metadata
    texts = itertools.cycle(prompts)
    return time_calls(lambda: pipeline.scan(next(texts)), len(prompts))


async def stream_once(pipeline: GuardPipeline, text: str) -> None:
    guard = StreamGuard(pipeline)
    for start in range(0, len(text), 20):
        await guard.feed(text[start : start + 20])
    await guard.finish()


def embedding_pipeline(
    rules: list[TextCheck], model: SentenceEmbedder, max_windows: int
) -> GuardPipeline:
    # One embedder for both checks, as the router gives them: each window is embedded once
    # per scan (no cache across scans: max_entries 0).
    embedder = SharedEmbedder(InProcessEmbedder(model), max_entries=0)
    windows = {"max_windows": max_windows}
    injection = InjectionCheck.from_config(InjectionCheckConfig(**windows), embedder)
    topics = TopicsCheck.from_config(TopicsCheckConfig(topics=TOPICS, **windows), embedder)
    checks = [GuardedCheck(check, "redact") for check in rules]
    checks += [GuardedCheck(check, timeout_ms=10_000) for check in (injection, topics)]
    return GuardPipeline(checks, "input")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--iterations", type=int, default=2000)
    parser.add_argument("--embedding", type=int, default=100, help="scans with embeddings")
    args = parser.parse_args()
    rng = random.Random(0)
    repeated = [prompt(rng)] * args.iterations
    fresh = [prompt(rng) for _ in range(args.iterations)]
    checks = rule_checks()
    print(f"prompts: {PROMPT_CHARS} chars, {args.iterations} scans per line")
    groups = {name: [name] for name in checks} | {
        "all rules": list(checks),
        "all rules but pii": [name for name in checks if name != "pii"],
    }
    for label, names in groups.items():
        for workload, prompts in (("same prompt", repeated), ("fresh prompts", fresh)):
            pipeline = GuardPipeline([GuardedCheck(checks[n], "redact") for n in names], "input")
            report(f"{label}, {workload}", time_scans(pipeline, prompts), digits=3)
    loop = asyncio.new_event_loop()
    output = GuardPipeline([GuardedCheck(c, "redact") for c in checks.values()], "output")
    streams = iter(fresh)
    count = max(args.iterations // 20, 20)
    timings = time_calls(lambda: loop.run_until_complete(stream_once(output, next(streams))), count)
    deltas = PROMPT_CHARS // 20 + 1
    report(
        f"stream, per 20-char delta (window {output.max_match_chars})",
        [t / deltas for t in timings],
        digits=3,
    )
    if not args.embedding:
        return
    model = SentenceEmbedder(threads=1)
    for max_windows in (8, 4):
        embedded = embedding_pipeline(list(checks.values()), model, max_windows)
        loop.run_until_complete(embedded.scan_async(fresh[0]))  # embeds the examples once
        texts = iter(fresh[1:])
        timings = time_calls(
            lambda p=embedded, t=texts: loop.run_until_complete(p.scan_async(next(t))),
            args.embedding,
        )
        report(f"all rules + injection + topics ({max_windows} windows), fresh", timings)


if __name__ == "__main__":
    main()
