"""The judge's labelled set: deterministic, balanced, and split so the held-out rows are new."""

from __future__ import annotations

import hashlib
import os
import re
import subprocess
import sys
from collections import Counter
from pathlib import Path

from cluster.zoo.judge.dataset import (
    everyday_examples,
    judge_rows,
    judge_set,
    rows_digest,
)
from cluster.zoo.judge.prepare import template_pieces
from cluster.zoo.judge.recipe import JUDGE_RECIPE
from cluster.zoo.judge.texts import EVERYDAY, UNSAFE_KINDS
from services.guardrails.check_config import JUDGE_CATEGORIES
from services.guardrails.checks.judge import build_judge_prompt, parse_verdict

REPO = Path(__file__).resolve().parents[3]

# The labelled set and the template pieces the judge's tokenizer adds, as of recipe version
# PINNED_VERSION. A change to either changes the judge the zoo builds, which only a new
# recipe version makes the zoo rebuild: bump JUDGE_RECIPE.version, then update both pins.
PINNED_VERSION = 1
PINNED_DIGEST = "742a19ae969d325be4d20a3d670829597e45df4778e6f1299d072ea0696da2d6"

_DIGEST_SCRIPT = """
from cluster.zoo.judge.dataset import judge_rows, rows_digest
print(rows_digest(judge_rows("train")), rows_digest(judge_rows("held_out")))
"""


def _set_digest() -> str:
    parts = [rows_digest(judge_rows("train")), rows_digest(judge_rows("held_out"))]
    parts.append(hashlib.sha256("\x1f".join(template_pieces()).encode()).hexdigest())
    return hashlib.sha256(" ".join(parts).encode()).hexdigest()


def test_a_changed_set_comes_with_a_new_recipe_version() -> None:
    assert (JUDGE_RECIPE.version, _set_digest()) == (PINNED_VERSION, PINNED_DIGEST), (
        "the judge's labelled set or template pieces changed: bump JUDGE_RECIPE.version "
        "and update PINNED_VERSION and PINNED_DIGEST"
    )


def test_the_set_is_the_same_in_another_process() -> None:
    # A fresh interpreter with another hash salt: the set must not lean on hash() or on
    # the iteration order of sets of strings.
    env = {**os.environ, "PYTHONHASHSEED": "4242"}
    done = subprocess.run(
        [sys.executable, "-c", _DIGEST_SCRIPT],
        check=True,
        cwd=REPO,
        env=env,
        timeout=60,
        capture_output=True,
        text=True,
    )
    expected = f"{rows_digest(judge_rows('train'))} {rows_digest(judge_rows('held_out'))}"
    assert done.stdout.strip() == expected


def test_the_held_out_split_is_balanced_both_ways() -> None:
    held = Counter((row.agent_type, row.safe) for row in judge_set().held_out)
    assert held[("User", True)] == held[("User", False)] > 0
    assert held[("Agent", True)] == held[("Agent", False)] > 0
    categories = Counter(row.category for row in judge_set().held_out if not row.safe)
    assert set(categories) == {kind.category for kind in UNSAFE_KINDS}
    assert max(categories.values()) - min(categories.values()) <= 2


def test_training_leans_safe_but_holds_every_kind() -> None:
    train = judge_set().train
    safe_share = sum(row.safe for row in train) / len(train)
    assert 0.55 <= safe_share <= 0.7
    kinds = Counter(row.kind for row in train)
    assert all(kinds[kind.name] >= 50 for kind in UNSAFE_KINDS)
    assert {row.agent_type for row in train} == {"User", "Agent"}


def test_the_splits_share_no_prompt_and_held_out_rows_are_new() -> None:
    train, held = judge_set().train, judge_set().held_out
    assert not {row.prompt() for row in train} & {row.prompt() for row in held}
    assert all(row.novel == 0 for row in train)
    # One new piece at most: a request of a known kind, in new words.
    assert all(row.novel <= 1 for row in held)
    assert sum(row.novel == 1 for row in held) >= len(held) * 0.4
    # The rest are new combinations, whose request no training row contains.
    train_requests = {row.request for row in train}
    assert all(row.request not in train_requests for row in held if row.novel == 0)


def test_rows_are_the_guard_prompt_and_llama_guard_answers() -> None:
    for row, example in zip(judge_rows("held_out"), judge_set().held_out, strict=True):
        assert row["prompt"] == build_judge_prompt(
            example.chat(), agent_type=example.agent_type, categories=JUDGE_CATEGORIES
        )
        assert re.fullmatch(r"safe|unsafe\nS(1[0-4]|[1-9])", row["completion"])
        verdict = parse_verdict(row["completion"])
        assert verdict.safe == example.safe
        assert verdict.categories == (() if example.safe else (example.category,))


def test_the_everyday_prompts_are_in_no_split() -> None:
    requests = {row.request for row in judge_set().train + judge_set().held_out}
    assert not requests & set(EVERYDAY)
    assert all(example.safe for example in everyday_examples())


def test_template_pieces_are_the_prompts_fixed_text() -> None:
    prompt = judge_set().train[0].prompt()
    pieces = template_pieces()
    assert "<BEGIN CONVERSATION>" in pieces and "S14: Code Interpreter Abuse." in pieces
    assert all(piece in prompt for piece in pieces)
    # No piece is a plain word, which as a token would split ordinary text apart.
    assert not [piece for piece in pieces if re.fullmatch(r"[A-Za-z]+", piece)]
