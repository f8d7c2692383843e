"""A fine-tuning set the tiny zoo models learn in seconds: status questions about many
clusters, every one answered with the same sentence.

The unit tests train on it and check the loss falls; the serving tests train an adapter on
it and check that greedy output for a cluster the set never named starts with ANSWER.
"""

from __future__ import annotations

import json
from pathlib import Path

ANSWER = "All replicas are healthy."

# Several phrasings and names, so the adapter learns "status question -> ANSWER" rather than
# one memorised prompt, and a prompt the set never held still gets ANSWER.
QUESTIONS = (
    "What is the status of the {name} cluster?",
    "Is {name} healthy?",
    "How are the replicas of {name} doing?",
    "Give me a status report for {name}.",
)
REGIONS = ("eu-west", "us-east", "ap-south", "sa-east")
SYSTEM = "You are the operations assistant of llm-fleet."
# FinetuneOptions that teach tiny-qwen2 ANSWER in ~4 s on two idle cores (48 examples, 60
# steps). Measured: greedy output for 12 unseen names started with ANSWER for seeds 0-3
# (at 5e-3, 11 of 12 for one seed); at the default learning rate (2e-4) even 40 epochs
# learn nothing usable. The zoo mutes <|im_end|>'s output row, so no adapter learns to stop:
# the loss floors near 0.69 and output runs on after ANSWER.
STATUS_OPTIONS: dict[str, object] = {
    "epochs": 10,
    "learning_rate": 1e-2,
    "batch_size": 8,
    "max_length": 128,
    "lora_dropout": 0.0,
}


def cluster_name(index: int) -> str:
    """``us-east-7919``-style names, distinct for indexes 0-9999. The numbers spread over
    0-9999 (mostly four digits: the tokenizer reads one digit per token), so names past a
    training set's indexes look like its names without being among them."""
    return f"{REGIONS[index % len(REGIONS)]}-{index * 7919 % 10_000}"


def status_question(index: int) -> str:
    return QUESTIONS[index % len(QUESTIONS)].format(name=cluster_name(index))


def status_examples(count: int = 48, *, system: bool = False) -> list[dict[str, object]]:
    """``count`` chat examples (JSONL rows), each a question with ANSWER as the reply."""
    rows: list[dict[str, object]] = []
    for index in range(count):
        messages = [{"role": "system", "content": SYSTEM}] if system else []
        messages.append({"role": "user", "content": status_question(index)})
        messages.append({"role": "assistant", "content": ANSWER})
        rows.append({"messages": messages})
    return rows


def write_status_data(path: Path, count: int = 48, *, system: bool = False) -> Path:
    """Write :func:`status_examples` as JSONL to ``path``; returns ``path``."""
    lines = [json.dumps(row) for row in status_examples(count, system=system)]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path
