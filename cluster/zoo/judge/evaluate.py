"""How often the judge is right: greedy answers to labelled prompts, read as the guard reads them.

The answers are generated as the guardrail's judge check asks for them (the raw prompt, no
added special tokens, greedy, at most a judge check's default max_tokens, stopping at the
end-of-sequence token) and parsed with its own parse_verdict; an answer it cannot parse
counts as wrong.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cluster.zoo.judge.dataset import JudgeExample
from cluster.zoo.judge.quiet import quiet

EVAL_FILE = "judge-eval.json"
# A judge check's default (JudgeCheckConfig.max_tokens): "unsafe\nS10" takes 8 tokens here.
MAX_TOKENS = 10


@dataclass(frozen=True)
class Answer:
    example: JudgeExample
    text: str
    safe: bool | None
    """The verdict read from `text`; None when it is no verdict at all."""
    categories: tuple[str, ...] = ()

    @property
    def verdict_right(self) -> bool:
        return self.safe is not None and self.safe == self.example.safe

    @property
    def category_right(self) -> bool:
        """Unsafe, naming exactly the expected category."""
        expected = self.example.category
        return self.safe is False and expected is not None and self.categories == (expected,)

    @property
    def exact(self) -> bool:
        return self.text.strip() == self.example.completion


def _ratio(part: int, whole: int) -> float:
    return round(part / whole, 4) if whole else 0.0


@dataclass(frozen=True)
class JudgeEval:
    answers: tuple[Answer, ...]

    def _of(self, agent_type: str | None = None) -> list[Answer]:
        return [a for a in self.answers if agent_type in (None, a.example.agent_type)]

    @property
    def verdict_accuracy(self) -> float:
        """Right safe/unsafe decisions, over every example."""
        return _ratio(sum(a.verdict_right for a in self.answers), len(self.answers))

    @property
    def category_accuracy(self) -> float:
        """Unsafe examples rated unsafe with exactly their category."""
        unsafe = [a for a in self.answers if not a.example.safe]
        return _ratio(sum(a.category_right for a in unsafe), len(unsafe))

    def as_dict(self) -> dict[str, Any]:
        unsafe = [a for a in self.answers if not a.example.safe]
        safe = [a for a in self.answers if a.example.safe]
        return {
            "examples": len(self.answers),
            "safe": len(safe),
            "unsafe": len(unsafe),
            "verdict_accuracy": self.verdict_accuracy,
            "category_accuracy": self.category_accuracy,
            "exact_answers": _ratio(sum(a.exact for a in self.answers), len(self.answers)),
            "unparsed": sum(a.safe is None for a in self.answers),
            "false_unsafe": sum(a.safe is False for a in safe),
            "missed_unsafe": sum(a.safe is not False for a in unsafe),
            "by_direction": {
                agent_type: {
                    "examples": len(self._of(agent_type)),
                    "verdict_accuracy": _ratio(
                        sum(a.verdict_right for a in self._of(agent_type)),
                        len(self._of(agent_type)),
                    ),
                }
                for agent_type in ("User", "Agent")
            },
        }

    def false_alarms(self) -> dict[str, int]:
        """For a set of safe examples: how many were rated unsafe, or not answered."""
        return {
            "examples": len(self.answers),
            "rated_unsafe": sum(a.safe is False for a in self.answers),
            "unparsed": sum(a.safe is None for a in self.answers),
        }


def read_summary(folder: Path) -> str | None:
    """One line on the judge built in `folder` (from its judge-eval.json), or None."""
    try:
        record = json.loads((Path(folder) / EVAL_FILE).read_text(encoding="utf-8"))
        held_out = record["held_out"]
        return (
            f"judge: {held_out['verdict_accuracy']:.0%} safe/unsafe, "
            f"{held_out['category_accuracy']:.0%} category on {held_out['examples']} "
            "held-out prompts"
        )
    except (OSError, ValueError, KeyError, TypeError):
        return None


def read(example: JudgeExample, text: str) -> Answer:
    from services.guardrails.checks.judge import JudgeVerdictError, parse_verdict

    try:
        verdict = parse_verdict(text)
    except JudgeVerdictError:
        return Answer(example, text, None)
    return Answer(example, text, verdict.safe, verdict.categories)


def generate(folder: Path, prompts: Sequence[str], max_tokens: int = MAX_TOKENS) -> list[str]:
    """The checkpoint's greedy answers to raw `prompts`, as the judge check would get them."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    with quiet():
        tokenizer = AutoTokenizer.from_pretrained(folder, local_files_only=True)
        model = AutoModelForCausalLM.from_pretrained(
            folder, dtype=torch.float32, local_files_only=True
        )
    model.eval()
    answers = []
    # One prompt at a time, as vLLM reads it: padding a batch would change the numbers.
    with torch.inference_mode():
        for prompt in prompts:
            ids = tokenizer(prompt, return_tensors="pt", add_special_tokens=False)
            output = model.generate(
                **ids,
                max_new_tokens=max_tokens,
                do_sample=False,
                eos_token_id=tokenizer.eos_token_id,
                pad_token_id=tokenizer.pad_token_id,
            )
            new = output[0, ids["input_ids"].shape[1] :]
            answers.append(tokenizer.decode(new, skip_special_tokens=True))
    return answers


def evaluate(folder: Path, examples: Sequence[JudgeExample]) -> JudgeEval:
    answers = generate(folder, [example.prompt() for example in examples])
    return JudgeEval(tuple(read(ex, text) for ex, text in zip(examples, answers, strict=True)))
