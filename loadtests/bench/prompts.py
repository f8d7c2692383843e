"""A deterministic, realistic prompt-length mix, built offline from in-code templates.

Serving benchmarks are dominated by the prompt-length distribution (prefill cost, KV-cache
pressure), so a fixed-length prompt would hide the effects that matter. The mix here is
50% short chat questions, 35% medium requests with context and 15% long documents to
summarise (sized for the tiny zoo's context, see ``MIX``); a seeded ``random.Random``
makes the file reproducible without any download.
"""

from __future__ import annotations

import json
import random
from dataclasses import dataclass
from pathlib import Path

# (kind, share, min words, max words). Sized for the tiny zoo, whose tokenizers spend about
# 3.5 tokens per word of this vocabulary: a long prompt stays under ~700 tokens, inside the
# models' 1024-token context and the embedded config's 768-token guard (longer ones would
# measure refusals, not serving). The shares keep the mix's shape.
MIX: tuple[tuple[str, float, int, int], ...] = (
    ("short", 0.50, 10, 40),
    ("medium", 0.35, 50, 110),
    ("long", 0.15, 130, 190),
)

_TOPICS = (
    "distributed databases",
    "solar panels",
    "the French revolution",
    "sourdough bread",
    "Kubernetes autoscaling",
    "migratory birds",
    "compound interest",
    "electric cars",
    "the immune system",
    "jazz improvisation",
    "volcanoes",
    "password managers",
    "coral reefs",
    "remote work",
    "quantum computing",
    "marathon training",
)

_QUESTION_OPENERS = (
    "Can you explain",
    "What is the simplest way to understand",
    "Why do people care about",
    "Give me three tips about",
    "What are common mistakes with",
    "How would you teach a child about",
)

_WORDS = [
    "system",
    "data",
    "model",
    "time",
    "people",
    "process",
    "change",
    "energy",
    "market",
    "water",
    "design",
    "network",
    "history",
    "cost",
    "risk",
    "growth",
    "team",
    "city",
    "plan",
    "result",
    "power",
    "value",
    "problem",
    "research",
    "policy",
    "method",
    "signal",
    "storage",
    "memory",
    "user",
    "service",
    "request",
    "error",
    "report",
    "budget",
    "season",
    "field",
    "engine",
    "pattern",
    "layer",
    "cluster",
    "region",
    "schedule",
    "quality",
    "supply",
    "demand",
    "trade",
    "rule",
    "evidence",
    "theory",
    "measure",
    "sample",
    "test",
    "review",
    "decision",
    "strategy",
    "customer",
    "product",
    "feature",
]

_VERBS = (
    "improves",
    "reduces",
    "affects",
    "explains",
    "depends on",
    "supports",
    "limits",
    "shapes",
    "drives",
    "follows",
    "measures",
    "replaces",
    "predicts",
    "balances",
    "connects",
)

_ADJECTIVES = [
    "large",
    "small",
    "recent",
    "common",
    "important",
    "complex",
    "simple",
    "slow",
    "fast",
    "reliable",
    "costly",
    "local",
    "global",
    "early",
    "careful",
]


@dataclass(frozen=True)
class Prompt:
    """One benchmark prompt and the length class it was drawn from."""

    prompt: str
    kind: str


def _sentence(rng: random.Random, topic: str) -> str:
    """A plausible, varied English-like sentence (about 8-14 words)."""
    words = [
        "The",
        rng.choice(_ADJECTIVES),
        rng.choice(_WORDS),
        "of",
        topic,
        rng.choice(_VERBS),
        "the",
        rng.choice(_WORDS),
    ]
    for _ in range(rng.randint(0, 6)):
        words += [rng.choice(("and", "with", "for", "in")), rng.choice(_WORDS)]
    return " ".join(words) + "."


def _text(rng: random.Random, topic: str, n_words: int) -> str:
    """Sentences about ``topic`` cut to exactly ``n_words`` words, ending with a full stop."""
    words: list[str] = []
    while len(words) < n_words:
        words += _sentence(rng, topic).split()
    return " ".join(words[:n_words]).rstrip(".") + "."


def _short(rng: random.Random, n_words: int) -> str:
    topic = rng.choice(_TOPICS)
    head = f"{rng.choice(_QUESTION_OPENERS)} {topic}?"
    extra = n_words - len(head.split())
    return head if extra <= 0 else f"{head} {_text(rng, topic, extra)}"


def _medium(rng: random.Random, n_words: int) -> str:
    topic = rng.choice(_TOPICS)
    head = f"Here is some context about {topic}:"
    tail = "Based on this context, answer the question: what matters most and why?"
    body = _text(rng, topic, max(1, n_words - len(head.split()) - len(tail.split())))
    return f"{head} {body} {tail}"


def _long(rng: random.Random, n_words: int) -> str:
    topic = rng.choice(_TOPICS)
    head = f"Summarise the following document about {topic} in five bullet points."
    body_words = max(1, n_words - len(head.split()))
    return f"{head}\n\n{_text(rng, topic, body_words)}"


_BUILDERS = {"short": _short, "medium": _medium, "long": _long}


def generate_prompts(n: int, seed: int = 0) -> list[Prompt]:
    """``n`` prompts drawn from ``MIX``; the same ``(n, seed)`` always gives the same list."""
    rng = random.Random(seed)
    kinds = [kind for kind, _, _, _ in MIX]
    weights = [share for _, share, _, _ in MIX]
    bounds = {kind: (low, high) for kind, _, low, high in MIX}
    prompts = []
    for _ in range(n):
        kind = rng.choices(kinds, weights)[0]
        low, high = bounds[kind]
        prompts.append(Prompt(_BUILDERS[kind](rng, rng.randint(low, high)), kind))
    return prompts


def dumps_prompts(prompts: list[Prompt]) -> str:
    """The JSONL text of ``prompts`` (one ``{"prompt", "kind"}`` object per line)."""
    return "".join(
        json.dumps({"prompt": p.prompt, "kind": p.kind}, ensure_ascii=False) + "\n" for p in prompts
    )


def write_prompts(path: str | Path, n: int, seed: int = 0) -> list[Prompt]:
    """Write ``generate_prompts(n, seed)`` as JSONL to ``path`` and return them."""
    prompts = generate_prompts(n, seed)
    Path(path).write_text(dumps_prompts(prompts), encoding="utf-8")
    return prompts


def load_prompts(path: str | Path) -> list[Prompt]:
    """Read a JSONL prompts file (blank lines ignored; ``kind`` defaults to "unknown")."""
    prompts = []
    for line in Path(path).read_text(encoding="utf-8").splitlines():
        if line.strip():
            row = json.loads(line)
            prompts.append(Prompt(row["prompt"], row.get("kind", "unknown")))
    return prompts


if __name__ == "__main__":
    # Regenerate the checked-in file: python -m loadtests.bench.prompts
    write_prompts(Path(__file__).resolve().parents[1] / "data" / "prompts.jsonl", 200, 0)
